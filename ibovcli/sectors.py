"""B3's sector classification: the eleven official sectors, and the table ibov ships so that a portfolio
read from a source without sectors (the site's Download CSV) still gets each ticker's sector.

Where a row's sector comes from, in order (all in ``sql/refine.sql``, the same on DuckDB and Spark):

1. the row's own ``segment`` (a segment-2 ``GetPortfolioDay`` answer);
2. the same ticker's ``segment`` in another index's segment-2 answer of the same day, in the lake;
3. the shipped table ``ibovcli/sql/b3_sectors.csv``: the ``segment`` text of each ticker as B3 last
   published it in a segment-2 answer (columns ``ticker``, ``segment``, ``seen_on``, ``source``);
   ``python tools/sectors_table.py`` refreshes it from saved answers or from a lake's raw files.

The text is then mapped to one of :data:`OFFICIAL` (B3 abbreviates and sometimes sends only the
subsector, e.g. ``Comput e Equips`` is Tecnologia da Informação, ``Diversos`` is Consumo Cíclico).
A ticker found nowhere has no sector (null), and the refine says so.

Standard library only: the Glue job reads this module and the table from its zip.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

#: B3's official economic sectors (setores econômicos), as the refined ``sector`` column spells them.
OFFICIAL = (
    "Bens Industriais",
    "Comunicações",
    "Consumo Cíclico",
    "Consumo não Cíclico",
    "Financeiro",
    "Materiais Básicos",
    "Outros",
    "Petróleo, Gás e Biocombustíveis",
    "Saúde",
    "Tecnologia da Informação",
    "Utilidade Pública",
)

TABLE = "b3_sectors.csv"
#: The token of ``sql/refine.sql`` that becomes the table, as an inline ``VALUES`` list.
TOKEN = "${sector_table}"


@dataclass(frozen=True)
class Known:
    ticker: str
    segment: str
    seen_on: str
    source: str


def table() -> list[Known]:
    """The shipped classification table (``ibovcli/sql/b3_sectors.csv``), sorted by ticker."""
    from importlib import resources

    text = (resources.files("ibovcli") / "sql" / TABLE).read_text(encoding="utf-8")
    return parse(text)


def parse(text: str) -> list[Known]:
    rows = [
        Known(r["ticker"], r["segment"], r["seen_on"], r["source"]) for r in csv.DictReader(io.StringIO(text))
    ]
    return sorted(rows, key=lambda k: k.ticker)


def render(rows: list[Known]) -> str:
    """The table's CSV text (sorted by ticker, one row per ticker)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["ticker", "segment", "seen_on", "source"])
    for k in sorted(rows, key=lambda k: k.ticker):
        writer.writerow([k.ticker, k.segment, k.seen_on, k.source])
    return buf.getvalue()


def merge(old: list[Known], new: list[Known]) -> list[Known]:
    """One row per ticker: the most recently seen segment text wins."""
    out: dict[str, Known] = {}
    for k in [*old, *new]:
        if k.ticker not in out or k.seen_on >= out[k.ticker].seen_on:
            out[k.ticker] = k
    return sorted(out.values(), key=lambda k: k.ticker)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def values_sql(rows: list[Known] | None = None) -> str:
    """The table as a query both DuckDB and Spark SQL accept: ``SELECT ticker, segment FROM VALUES``."""
    rows = table() if rows is None else rows
    if not rows:
        return "SELECT CAST(NULL AS STRING) AS ticker, CAST(NULL AS STRING) AS segment WHERE 1 = 0"
    values = ",\n        ".join(f"({_literal(k.ticker)}, {_literal(k.segment)})" for k in rows)
    # every value is a quoted literal of the shipped table (quotes doubled)
    return f"SELECT ticker, segment FROM (VALUES\n        {values}\n    ) AS shipped(ticker, segment)"  # nosec B608
