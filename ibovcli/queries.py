"""Saved queries: SQL files in ``ibovcli/sql/queries/``, run by name on DuckDB (local) or Athena (aws).

A saved query file starts with comment lines that describe it::

    -- description: The largest weights of an index on a day.
    -- param index: index = IBOV | B3 index code
    -- param date: date = latest | session date (YYYY-MM-DD); latest = the index's last day
    -- param limit: int = 10 | number of rows

and refers to its parameters as ``:name`` and to the catalog table of each dataset it reads as
``${<dataset>}`` (``${portfolio}``, ``${levels}``, see :mod:`ibovcli.datasets`). Each engine renders that
text its own way (:func:`duckdb_statement`, :func:`athena_statement`); the CloudFormation named queries
are the Athena rendering, with the ``${...}`` tokens left for ``Fn::Sub``. A ``-- dataset: NAME`` line
names the dataset whose stored days the query's dates are resolved against (default: portfolio).

Dates are resolved here, in Python, never in SQL: :func:`resolve` turns ``latest``, ``first`` and
``YYYY-MM-DD`` into the stored days the SQL compares ``dt`` with, so the SQL filters the ``dt``
partition with plain parameters and both engines prune by it (Athena prunes partitions statically only
for such predicates). How a date parameter is read is the ``-- day NAME: RULE`` header line of its
query, one of :data:`DAY_RULES` (``as-given`` when there is none).
Stdlib only.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

from ibovcli import datasets, layout
from ibovcli.errors import NoData, UsageError

_PARAM_RE = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)\b")
_HEADER_PARAM_RE = re.compile(
    r"^--\s*param\s+(?P<name>[a-z_][a-z0-9_]*)\s*:\s*(?P<type>\w+(?:\([a-z0-9_,]+\))?)\s*"
    r"(?:=\s*(?P<default>[^|]*?))?\s*"
    r"(?:\|\s*(?P<help>.*))?$"
)
_HEADER_DAY_RE = re.compile(r"^--\s*day\s+(?P<name>[a-z_][a-z0-9_]*)\s*:\s*(?P<rule>[a-z-]+)\s*$")
_HEADER_DATASET_RE = re.compile(r"^--\s*dataset\s*:\s*(?P<name>[a-z_]+)\s*$")
_TABLE_TOKEN_RE = re.compile(r"\$\{([a-z_]+)\}")
#: ``choice(a,b)`` takes one of the listed words.
PARAM_TYPES = ("string", "index", "ticker", "date", "int", "choice")

#: What :func:`bind` makes of ``latest`` and ``first`` (before :func:`resolve` looks the days up).
LATEST = ""
FIRST = "0000-00-00"
#: A date parameter whose default is ``none`` and that was not given: the SQL gets ``''`` (e.g.
#: reconcile's ``--date``, which, when left out, leaves ``--from``/``--to`` in charge).
NONE = "none"
#: How :func:`resolve` reads a date parameter (the ``-- day NAME: RULE`` header line):
#:
#: * ``as-given``: ``latest`` / ``first`` become the index's last / first stored day, a date stays as
#:   given (a day without data matches no row);
#: * ``on-or-before``: the last stored day on or before the date (the portfolio in force on it), or
#:   ``''`` when nothing was stored by then.
DAY_RULES = ("as-given", "on-or-before")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: str | None
    help: str
    day: str = "as-given"  # for date parameters: one of DAY_RULES


@dataclass(frozen=True)
class SavedQuery:
    name: str
    description: str
    params: tuple[Param, ...]
    sql: str  # with :name placeholders and ${dataset} table tokens
    #: the dataset whose stored days the date parameters are resolved against
    dataset: str = datasets.PORTFOLIO.name
    #: the header's other comment lines (what the columns mean), and ``-- example:`` argument lines
    notes: str = ""
    examples: tuple[str, ...] = ()

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


def _parse(name: str, text: str) -> SavedQuery:
    description = ""
    params: list[Param] = []
    day_rules: dict[str, str] = {}
    dataset = datasets.PORTFOLIO.name
    notes: list[str] = []
    examples: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("--"):
            if stripped:
                break
            continue
        if stripped.lower().startswith("-- description:"):
            description = stripped.split(":", 1)[1].strip()
            continue
        if stripped.lower().startswith("-- example:"):
            examples.append(stripped.split(":", 1)[1].strip())
            continue
        if not any(r.match(stripped) for r in (_HEADER_PARAM_RE, _HEADER_DAY_RE, _HEADER_DATASET_RE)):
            notes.append(stripped[2:].strip())
        m = _HEADER_PARAM_RE.match(stripped)
        if m:
            ptype = m.group("type")
            if ptype.split("(")[0] not in PARAM_TYPES or (ptype.startswith("choice") and "(" not in ptype):
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
        ds = _HEADER_DATASET_RE.match(stripped)
        if ds:
            dataset = datasets.get(ds.group("name")).name
        d = _HEADER_DAY_RE.match(stripped)
        if d:
            if d.group("rule") not in DAY_RULES:
                raise ValueError(f"{name}: day rule {d.group('rule')} is not one of {', '.join(DAY_RULES)}")
            day_rules[d.group("name")] = d.group("rule")
    dates = {p.name for p in params if p.type == "date"}
    if set(day_rules) - dates:
        raise ValueError(f"{name}: '-- day' lines for {sorted(set(day_rules) - dates)}, not date parameters")
    params = [Param(p.name, p.type, p.default, p.help, day_rules.get(p.name, "as-given")) for p in params]
    if dates and [p.type for p in params].count("index") != 1:
        raise ValueError(f"{name}: date parameters need one index parameter (whose days they are)")
    used = set(_PARAM_RE.findall(_strip_comments(text)))
    declared = {p.name for p in params}
    if used != declared:
        raise ValueError(f"{name}: parameters used {sorted(used)} != declared {sorted(declared)}")
    if not description:
        raise ValueError(f"{name}: missing '-- description:' line")
    unknown_tables = set(_TABLE_TOKEN_RE.findall(_strip_comments(text))) - set(datasets.ALL)
    if unknown_tables:
        raise ValueError(f"{name}: no dataset named {sorted(unknown_tables)} (tables are ${{<dataset>}})")
    if dataset != datasets.PORTFOLIO.name and any(p.day != "as-given" for p in params):
        raise ValueError(f"{name}: '-- day' rules need the portfolio's stored days")
    return SavedQuery(
        name=name,
        description=description,
        params=tuple(params),
        sql=text,
        dataset=dataset,
        notes=" ".join(notes),
        examples=tuple(examples),
    )


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def names() -> list[str]:
    """The saved queries' names (their file names), sorted, without reading the files."""
    folder = resources.files("ibovcli") / "sql" / "queries"
    return sorted(e.name[: -len(".sql")] for e in folder.iterdir() if e.name.endswith(".sql"))


@functools.cache
def _load(name: str) -> SavedQuery:
    """One saved query's file, read and parsed once per process (``name`` is one of :func:`names`)."""
    entry = resources.files("ibovcli") / "sql" / "queries" / f"{name}.sql"
    return _parse(name, entry.read_text(encoding="utf-8"))


def load_all() -> dict[str, SavedQuery]:
    """Every saved query, by name (the file name without ``.sql``), sorted by name."""
    return {name: _load(name) for name in names()}


def get(name: str) -> SavedQuery:
    """The saved query ``name`` (only its file is read); a name that is not one is a usage error with
    the nearest name."""
    known = names()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"Did you mean {close[0]}? " if close else ""
        raise UsageError(
            f"no saved query named {name!r}",
            hint=f"{hint}`ibov query --list` shows them: {', '.join(known)}.",
        )
    return _load(name)


def bind(query: SavedQuery, given: dict[str, Any]) -> dict[str, Any]:
    """Validate and convert parameter values (strings from the CLI), applying defaults.

    ``date`` parameters accept ``YYYY-MM-DD``, ``latest`` (or empty), which becomes :data:`LATEST`, and
    ``first``, which becomes :data:`FIRST`; :func:`resolve` then turns them into stored days. Unknown
    parameters are refused.
    """
    unknown = set(given) - {p.name for p in query.params}
    if unknown:
        raise UsageError(f"query {query.name} takes no parameter {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    for p in query.params:
        raw = given.get(p.name)
        if raw is None:
            raw = p.default
        if raw is None:
            raise UsageError(f"query {query.name} needs --{p.name.replace('_', '-')} ({p.help or p.type})")
        out[p.name] = _convert(query.name, p, raw)
    return out


def _convert(qname: str, p: Param, raw: Any) -> Any:
    text = str(raw).strip()
    if p.type.startswith("choice("):
        words = p.type[len("choice(") : -1].split(",")
        if text.lower() not in words:
            raise UsageError(f"{qname}: --{p.name} must be {' or '.join(words)}, got {text!r}")
        return text.lower()
    if p.type == "int":
        try:
            value = int(text)
        except ValueError:
            raise UsageError(f"{qname}: --{p.name} must be a whole number, got {text!r}") from None
        if not 0 < value <= 100_000:
            raise UsageError(f"{qname}: --{p.name} must be between 1 and 100000, got {value}")
        return value
    if p.type == "date":
        if text.lower() == NONE and (p.default or "").lower() == NONE:
            return NONE
        if text.lower() in ("", "latest"):
            return LATEST
        if text.lower() in ("first", "earliest"):
            return FIRST
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise UsageError(f"{qname}: --{p.name} must be a date YYYY-MM-DD, got {text!r}") from None
    if p.type == "index":
        value_up = text.upper()
        if not layout.is_index(value_up):
            raise UsageError(f"{qname}: --{p.name} is not a B3 index code: {text!r}")
        return value_up
    if p.type == "ticker":
        value_up = text.upper()
        if not layout.is_ticker(value_up):
            raise UsageError(f"{qname}: --{p.name} is not a B3 ticker: {text!r}")
        return value_up
    return text


@dataclass(frozen=True)
class Resolved:
    """What the SQL gets: the bound parameters with every date parameter read by its day rule."""

    params: dict[str, Any]
    #: why a date matched no stored day, for the user (the query then returns no rows)
    notes: tuple[str, ...] = ()


#: What ``first`` and ``latest`` mean for a query whose dataset is not the portfolio: no bound.
OPEN_FIRST, OPEN_LATEST = "0001-01-01", "9999-12-31"


def resolve(
    query: SavedQuery, bound: dict[str, Any], stored_days: Callable[[str], Sequence[str]]
) -> Resolved:
    """Turn the date parameters of ``bound`` (from :func:`bind`) into the days the SQL filters by.

    For portfolio queries, ``stored_days(index)`` lists the index's stored days (ISO, sorted;
    ``Engine.stored_days``). It is called at most once, and only when a date needs it (``latest``,
    ``first``, or a date read ``on-or-before``): a query whose dates are all given and read ``as-given``
    runs without it. :class:`NoData` when the index has no stored day at all. For other datasets'
    queries ``first`` and ``latest`` leave the range open (:data:`OPEN_FIRST`, :data:`OPEN_LATEST`).
    """
    out = dict(bound)
    notes: list[str] = []
    index_param = next((p.name for p in query.params if p.type == "index"), None)
    index = str(bound.get(index_param, "")) if index_param else ""
    cache: list[list[str]] = []
    portfolio = query.dataset == datasets.PORTFOLIO.name

    def days() -> list[str]:
        if not cache:
            found = sorted(str(d) for d in stored_days(index))
            if not found:
                raise NoData(
                    f"no {index} portfolio is stored",
                    hint=f"`ibov status` shows what the lake holds; `ibov scrape -i {index}` stores today's.",
                )
            cache.append(found)
        return cache[0]

    for p in query.params:
        if p.type != "date":
            continue
        value = str(bound[p.name])
        if value == NONE:
            out[p.name] = ""
        elif value == LATEST:
            out[p.name] = days()[-1] if portfolio else OPEN_LATEST
        elif value == FIRST:
            out[p.name] = days()[0] if portfolio else OPEN_FIRST
        elif p.day == "on-or-before":
            i = bisect.bisect_right(days(), value)
            out[p.name] = days()[i - 1] if i else ""
            if not i:
                notes.append(f"no {index} data on or before {value} (the first stored day is {days()[0]})")
    return Resolved(out, tuple(notes))


def _tables(sql: str, tables: dict[str, str] | None) -> str:
    if tables is None:
        return sql
    return _TABLE_TOKEN_RE.sub(lambda m: tables[m.group(1)], sql)


def duckdb_statement(sql: str, tables: dict[str, str]) -> str:
    """SQL for DuckDB: ``$name`` placeholders (bind with a dict), ``${dataset}`` tokens replaced by
    ``tables[dataset]`` (quoted identifiers)."""
    return _PARAM_RE.sub(lambda m: "$" + m.group(1), _tables(sql, tables))


def with_tables(sql: str, tables: dict[str, str]) -> str:
    """``sql`` with its ``${dataset}`` tokens replaced by table names, and nothing else changed."""
    unknown = sorted(set(_TABLE_TOKEN_RE.findall(sql)) - set(tables))
    if unknown:
        raise UsageError(f"no dataset named {unknown[0]!r}", hint=f"Datasets: {', '.join(tables)}.")
    return _tables(sql, tables)


def athena_statement(sql: str, tables: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """SQL for Athena: positional ``?`` placeholders and the parameter name of each, in order.

    With ``tables=None`` the ``${dataset}`` tokens are kept (for CloudFormation ``Fn::Sub``).
    """
    order: list[str] = []

    def repl(m: re.Match[str]) -> str:
        order.append(m.group(1))
        return "?"

    lines = []
    for line in sql.splitlines():
        code, sep, comment = line.partition("--")
        lines.append(_PARAM_RE.sub(repl, code) + sep + comment)
    return _tables("\n".join(lines), tables), order


def table_tokens(sql: str) -> set[str]:
    """The datasets whose tables ``sql`` names (``${portfolio}`` ...)."""
    return set(_TABLE_TOKEN_RE.findall(_strip_comments(sql)))


def athena_literal(value: Any) -> str:
    """An Athena ``ExecutionParameters`` value: SQL literal text."""
    if isinstance(value, bool):
        raise TypeError("booleans are not query parameters")
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


# -- ad-hoc SQL (`ibov sql`) ------------------------------------------------------------------------

#: How a read-only statement may start (DuckDB and Athena/Trino alike; DuckDB also checks its own parse).
READ_ONLY_STARTS = ("SELECT", "WITH", "VALUES", "FROM", "SHOW", "DESCRIBE", "TABLE")


def adhoc(text: str) -> str:
    """``text`` as one read-only statement (a trailing ``;`` dropped), or :class:`UsageError`.

    Strings, quoted identifiers and comments are skipped, so a ``;`` inside them is not a second
    statement; anything that is not one statement starting with a read-only keyword is refused. The
    engines add their own guard (DuckDB parses it and reads through a read-only connection; Athena runs
    in the stack's workgroup)."""
    code = list(text)  # the statement with strings and comments blanked, position for position
    i, n = 0, len(text)

    def blank(a: int, b: int, fill: str = " ") -> None:  # strings stay visible as "_", comments go
        code[a:b] = fill * (b - a)

    while i < n:
        c = text[i]
        if c in "'\"":
            end = i + 1
            while end < n:
                if text[end] == c:
                    if end + 1 < n and text[end + 1] == c:  # '' or "" inside
                        end += 2
                        continue
                    break
                end += 1
            if end >= n:
                raise UsageError("the statement has an unterminated quote", hint="Close every ' and \".")
            blank(i, end + 1, "_")
            i = end + 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            blank(i, end)
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise UsageError("the statement has an unterminated /* comment")
            blank(i, end + 2)
            i = end + 2
        else:
            i += 1
    blanked = "".join(code)
    last = len(blanked.rstrip())
    while last and blanked[last - 1] == ";":  # trailing semicolons go, with anything after them
        last = len(blanked[: last - 1].rstrip())
    statement, blanked = text[:last].strip(), blanked[:last].strip()
    if not blanked:
        raise UsageError("no SQL statement given", hint='e.g. ibov sql "SELECT count(*) FROM ibov_refined"')
    if ";" in blanked:
        raise UsageError("only one statement at a time", hint="Remove the ';' between statements.")
    first = blanked.split(None, 1)[0].upper().lstrip("(")
    if first not in READ_ONLY_STARTS:
        raise UsageError(
            f"only read-only statements are run, not {first[:20]}",
            hint=f"Start with {', '.join(READ_ONLY_STARTS[:-1])} or {READ_ONLY_STARTS[-1]}.",
        )
    return statement
