"""Saved queries: SQL files in ``ibovcli/sql/queries/``, run by name on DuckDB (local) or Athena (aws).

A saved query file starts with comment lines that describe it::

    -- description: The largest weights of an index on a day.
    -- param index: index = IBOV | B3 index code
    -- param date: date = latest | session date (YYYY-MM-DD); latest = the index's last day
    -- param limit: int = 10 | number of rows

and refers to its parameters as ``:name`` and to the refined table as ``${table}``. Each engine
renders that text its own way (:func:`duckdb_statement`, :func:`athena_statement`); the CloudFormation
named queries are the Athena rendering, with ``${table}`` left for ``Fn::Sub``.
Stdlib only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

from ibovcli.errors import QueryError

_PARAM_RE = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)\b")
_HEADER_PARAM_RE = re.compile(
    r"^--\s*param\s+(?P<name>[a-z_][a-z0-9_]*)\s*:\s*(?P<type>\w+)\s*(?:=\s*(?P<default>[^|]*?))?\s*"
    r"(?:\|\s*(?P<help>.*))?$"
)
PARAM_TYPES = ("string", "index", "ticker", "date", "int")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: str | None
    help: str

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class SavedQuery:
    name: str
    description: str
    params: tuple[Param, ...]
    sql: str  # with :name placeholders and ${table}

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


def _parse(name: str, text: str) -> SavedQuery:
    description = ""
    params: list[Param] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("--"):
            if stripped:
                break
            continue
        if stripped.lower().startswith("-- description:"):
            description = stripped.split(":", 1)[1].strip()
        m = _HEADER_PARAM_RE.match(stripped)
        if m:
            ptype = m.group("type")
            if ptype not in PARAM_TYPES:
                raise ValueError(f"{name}: unknown parameter type {ptype}")
            default = m.group("default")
            params.append(
                Param(
                    m.group("name"),
                    ptype,
                    default.strip() if default is not None else None,
                    (m.group("help") or "").strip(),
                )
            )
    used = set(_PARAM_RE.findall(_strip_comments(text)))
    declared = {p.name for p in params}
    if used != declared:
        raise ValueError(f"{name}: parameters used {sorted(used)} != declared {sorted(declared)}")
    if not description:
        raise ValueError(f"{name}: missing '-- description:' line")
    return SavedQuery(name=name, description=description, params=tuple(params), sql=text)


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def load_all() -> dict[str, SavedQuery]:
    """Every saved query, by name (the file name without ``.sql``), sorted by name."""
    folder = resources.files("ibovcli") / "sql" / "queries"
    out: dict[str, SavedQuery] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            name = entry.name[: -len(".sql")]
            out[name] = _parse(name, entry.read_text(encoding="utf-8"))
    return out


def get(name: str) -> SavedQuery:
    queries = load_all()
    if name not in queries:
        raise QueryError(f"no saved query named {name!r}; known: {', '.join(queries)}")
    return queries[name]


def bind(query: SavedQuery, given: dict[str, Any]) -> dict[str, Any]:
    """Validate and convert parameter values (strings from the CLI), applying defaults.

    ``date`` parameters accept ``YYYY-MM-DD``; ``latest`` / empty become ``''``, which the SQL reads as
    "the most recent day". Unknown parameters are refused.
    """
    unknown = set(given) - {p.name for p in query.params}
    if unknown:
        raise QueryError(f"query {query.name} takes no parameter {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    for p in query.params:
        raw = given.get(p.name)
        if raw is None:
            raw = p.default
        if raw is None:
            raise QueryError(f"query {query.name} needs --{p.name.replace('_', '-')} ({p.help or p.type})")
        out[p.name] = _convert(query.name, p, raw)
    return out


def _convert(qname: str, p: Param, raw: Any) -> Any:
    text = str(raw).strip()
    if p.type == "int":
        try:
            value = int(text)
        except ValueError:
            raise QueryError(f"{qname}: --{p.name} must be a whole number, got {text!r}") from None
        if not 0 < value <= 100_000:
            raise QueryError(f"{qname}: --{p.name} must be between 1 and 100000, got {value}")
        return value
    if p.type == "date":
        if text.lower() in ("", "latest"):
            return ""
        if text.lower() in ("first", "earliest"):
            return "0000-00-00"
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise QueryError(f"{qname}: --{p.name} must be a date YYYY-MM-DD, got {text!r}") from None
    if p.type == "index":
        value_up = text.upper()
        if not re.fullmatch(r"[A-Z0-9]{2,12}", value_up):
            raise QueryError(f"{qname}: --{p.name} is not a B3 index code: {text!r}")
        return value_up
    if p.type == "ticker":
        value_up = text.upper()
        if not re.fullmatch(r"[A-Z0-9]{4,12}", value_up):
            raise QueryError(f"{qname}: --{p.name} is not a B3 ticker: {text!r}")
        return value_up
    return text


def duckdb_statement(query: SavedQuery, table: str) -> str:
    """SQL for DuckDB: ``$name`` placeholders (bind with a dict), ``${table}`` replaced."""
    sql = query.sql.replace("${table}", table)
    return _PARAM_RE.sub(lambda m: "$" + m.group(1), sql)


def athena_statement(query: SavedQuery, table: str | None = None) -> tuple[str, list[str]]:
    """SQL for Athena: positional ``?`` placeholders and the parameter name of each, in order.

    With ``table=None`` the ``${table}`` token is kept (for CloudFormation ``Fn::Sub``).
    """
    order: list[str] = []

    def repl(m: re.Match[str]) -> str:
        order.append(m.group(1))
        return "?"

    lines = []
    for line in query.sql.splitlines():
        code, sep, comment = line.partition("--")
        lines.append(_PARAM_RE.sub(repl, code) + sep + comment)
    sql = "\n".join(lines)
    if table is not None:
        sql = sql.replace("${table}", table)
    return sql, order


def athena_literal(value: Any) -> str:
    """An Athena ``ExecutionParameters`` value: SQL literal text."""
    if isinstance(value, bool):
        raise TypeError("booleans are not query parameters")
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"
