"""The template's Athena named queries, generated from the saved queries (``ibovcli/sql/queries/*.sql``).

The saved query files are the one definition; the ``AWS::Athena::NamedQuery`` resources between the
``BEGIN``/``END`` markers of ``infra/cloudformation.yaml`` are their Athena rendering
(:func:`ibovcli.queries.athena_statement` with the ``${table}`` token kept for ``Fn::Sub``)::

    python -m ibovcli.aws.namedqueries            # print the generated block
    python -m ibovcli.aws.namedqueries --write    # rewrite the block in the template
    python -m ibovcli.aws.namedqueries --check    # exit 1 if the template is out of date

Stdlib only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from ibovcli import datasets, queries, schema
from ibovcli.aws import sources

BEGIN = "  # BEGIN GENERATED NAMED QUERIES (python -m ibovcli.aws.namedqueries --write)"
END = "  # END GENERATED NAMED QUERIES"
#: Logical IDs of the generated resources start with this.
PREFIX = "SavedQuery"
_SUB_TOKEN_RE = re.compile(r"\$\{([^}]*)\}")
_INDENT = " " * 10


def logical_id(name: str) -> str:
    """``top-weights`` -> ``SavedQueryTopWeights`` (CloudFormation logical IDs are alphanumeric)."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", name) if p]
    if not parts:
        raise ValueError(f"saved query name {name!r} has no letters or digits")
    return PREFIX + "".join(p[0].upper() + p[1:] for p in parts)


def query_text(q: queries.SavedQuery) -> str:
    """The named query's text before ``Fn::Sub``: Athena placeholders, ``${<dataset>}`` tokens kept.

    The file's header comments (description, parameters, notes) are replaced by one line naming the
    ``?`` parameters in order: the Description property carries the description, and the template
    must stay under CloudFormation's inline TemplateBody limit (``deploy.MAX_TEMPLATE_BODY``).
    """
    sql, order = queries.athena_statement(q.sql, None)
    tokens = set(_SUB_TOKEN_RE.findall(sql))
    if tokens - set(datasets.ALL):
        raise ValueError(
            f"{q.name}: Fn::Sub would substitute {sorted(tokens - set(datasets.ALL))} (not datasets)"
        )
    return header_line(q.name, order) + "\n" + sql_body(sql)


def header_line(name: str, order: list[str]) -> str:
    """``-- top-weights: parameters in order: index, date, limit`` (what each ``?`` is)."""
    return f"-- {name}: parameters in order: {', '.join(order)}" if order else f"-- {name}: no parameters"


def sql_body(sql: str) -> str:
    """``sql`` without its leading comment and blank lines (a saved query file's header)."""
    lines = sql.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() and not line.strip().startswith("--")), 0)
    return "\n".join(lines[start:])


def table_values(q: queries.SavedQuery) -> list[str]:
    """The ``Fn::Sub`` variables of ``q``: each dataset's serving table (the portfolio's compact copy,
    :func:`ibovcli.datasets.serving_tables`), as the aws engine runs the saved queries."""
    tables = datasets.serving_tables({name: d.table for name, d in datasets.ALL.items()})
    return [f"{name}: {_scalar(tables[name])}" for name in sorted(queries.table_tokens(q.sql))]


def _scalar(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _block(text: str) -> list[str]:
    """``text`` as a YAML literal block under a sequence item, or a quoted scalar when a block cannot
    represent it exactly (leading spaces, blank-but-not-empty lines, tabs or carriage returns)."""
    lines = text.split("\n")
    body = lines[:-1] if text.endswith("\n") else lines
    trailing_newlines = len(text) - len(text.rstrip("\n"))
    risky = (
        not text.strip()
        or text[0] in " \t"
        or "\r" in text
        or "\t" in text
        or any(line != "" and not line.strip() for line in lines)
    )
    if risky:
        return [f"        - {_scalar(text)}"]
    chomp = "-" if trailing_newlines == 0 else ("" if trailing_newlines == 1 else "+")
    out = [f"        - |{chomp}"]
    out += [(_INDENT + line) if line else "" for line in body]
    return out


def render(saved: Iterable[queries.SavedQuery]) -> str:
    """The generated block, markers included, for ``saved`` (any number of queries)."""
    out = [BEGIN]
    seen: dict[str, str] = {}
    for q in saved:
        lid = logical_id(q.name)
        if lid in seen:
            raise ValueError(f"saved queries {seen[lid]!r} and {q.name!r} map to one logical ID {lid}")
        seen[lid] = q.name
        if len(q.name) > 128 or len(q.description) > 1024:
            raise ValueError(f"{q.name}: Athena takes names up to 128 and descriptions up to 1024 characters")
        out += [
            f"  {lid}:",
            "    Type: AWS::Athena::NamedQuery",
            "    Properties:",
            f"      Name: {_scalar(q.name)}",
            f"      Description: {_scalar(q.description)}",
            f"      Database: {_scalar(schema.CATALOG_DATABASE)}",
            "      WorkGroup: !Ref AthenaWorkGroup",
            "      QueryString: !Sub",
            *_block(query_text(q)),
        ]
        variables = table_values(q) or ["{}"]
        out += [f"        - {variables[0]}", *[f"          {v}" for v in variables[1:]]]
    out.append(END)
    return "\n".join(out) + "\n"


def _split(template: str) -> tuple[str, str, str]:
    start = template.find(BEGIN + "\n")
    end = template.find(END + "\n")
    if start < 0 or end < start:
        raise ValueError(f"the template has no block between {BEGIN.strip()!r} and {END.strip()!r}")
    end += len(END) + 1
    return template[:start], template[start:end], template[end:]


def current_block(template: str) -> str:
    """The block, markers included, as it is in ``template``."""
    return _split(template)[1]


def rewrite(template: str, saved: Iterable[queries.SavedQuery]) -> str:
    """``template`` with its generated block replaced."""
    head, _old, tail = _split(template)
    return head + render(saved) + tail


def is_current(template: str, saved: Iterable[queries.SavedQuery]) -> bool:
    return current_block(template) == render(saved)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ibovcli.aws.namedqueries",
        description="Generate the template's Athena named queries from ibovcli/sql/queries/*.sql.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the block in the template")
    mode.add_argument("--check", action="store_true", help="exit 1 if the template is out of date")
    parser.add_argument("--template", type=Path, default=sources.ROOT / sources.TEMPLATE)
    args = parser.parse_args(argv)
    saved = list(queries.load_all().values())
    if not (args.write or args.check):
        sys.stdout.write(render(saved))
        return 0
    template = args.template.read_text(encoding="utf-8")
    if args.check:
        if is_current(template, saved):
            return 0
        sys.stderr.write(
            f"{args.template}: the named queries are out of date; "
            "run python -m ibovcli.aws.namedqueries --write\n"
        )
        return 1
    updated = rewrite(template, saved)
    if updated != template:
        args.template.write_text(updated, encoding="utf-8")
        sys.stderr.write(f"{args.template}: {len(saved)} named queries written\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
