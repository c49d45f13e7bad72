"""Refresh ibov's shipped sector table (ibovcli/sql/b3_sectors.csv) from B3's own classification.

python tools/sectors_table.py --from saved/GetPortfolioDay_segment2.json ...   # saved segment-2 answers
python tools/sectors_table.py --lake ~/.local/share/ibov/lake                   # every raw file with sectors
python tools/sectors_table.py --check                                           # the table parses; counts

Each ticker keeps the segment text of the latest day it was seen with one; the source of each row (the
file or the lake's raw key) and its day are recorded, so the table says where and when it comes from.
Every text must map to one of B3's eleven sectors (the same mapping the refine uses): an unknown text
stops the refresh, so that the table never introduces a twelfth sector.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ibovcli import b3, sectors  # noqa: E402

TARGET = ROOT / "ibovcli" / "sql" / sectors.TABLE


def from_answers(paths: list[Path]) -> list[sectors.Known]:
    out = []
    for path in paths:
        p = b3.parse_snapshot(path.read_bytes(), index="IBOV")
        day = p.session_date.isoformat()
        out += [
            sectors.Known(h.cod, h.segment, day, f"B3 GetPortfolioDay segment 2, {p.index} {day}")
            for h in p.holdings
            if h.segment
        ]
    return out


def from_lake(lake: Path) -> list[sectors.Known]:
    import pyarrow.parquet as pq

    out = []
    for path in sorted((lake / "raw").glob("dt=*/*.parquet")):
        table = pq.read_table(path, columns=["index_code", "session_date", "cod", "segment"])
        for row in table.to_pylist():
            if row["segment"]:
                day = row["session_date"].isoformat()
                source = f"B3 GetPortfolioDay segment 2, {row['index_code']} {day}"
                out.append(sectors.Known(row["cod"], row["segment"], day, source))
    return out


def repaired(rows: list[sectors.Known]) -> list[sectors.Known]:
    """Texts recorded with a broken encoding (U+FFFD for each accented letter, as in some third-party
    recordings) take the clean spelling of the same text when another row has it."""
    import unicodedata

    def broken(text: str) -> str:
        return "".join(
            "\ufffd" if unicodedata.combining(unicodedata.normalize("NFD", ch)[-1]) or ord(ch) > 127 else ch
            for ch in text
        )

    clean = {broken(k.segment): k.segment for k in rows if "\ufffd" not in k.segment}
    return [
        sectors.Known(k.ticker, clean.get(k.segment, k.segment), k.seen_on, k.source)
        if "\ufffd" in k.segment
        else k
        for k in rows
    ]


def check(rows: list[sectors.Known]) -> None:
    """Every text maps to an official sector, through the refine's own SQL (DuckDB)."""
    import duckdb

    from ibovcli import datasets
    from ibovcli.engines.local import DUCKDB_SHIMS

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE raw_rows AS SELECT * FROM (VALUES "
        + ", ".join(
            f"('IBOV', DATE '2025-01-02', {sectors._literal(k.ticker)}, 'X', 'ON', 1.0, 1, 1, 1.0, "
            f"{sectors._literal(k.segment)})"
            for k in rows
        )
        + ") AS t(index_code, session_date, cod, asset, type, part, theoricalQty, total_theoricalQty, "
        "reductor, segment)"
    )
    for shim in DUCKDB_SHIMS:
        con.execute(shim)
    found = con.execute(f"SELECT DISTINCT sector FROM ({datasets.PORTFOLIO.sql()})").fetchall()
    unknown = sorted({str(s) for (s,) in found} - set(sectors.OFFICIAL))
    if unknown:
        raise SystemExit(f"texts that map to no official sector: {unknown}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from", dest="files", type=Path, nargs="*", default=[])
    ap.add_argument("--lake", type=Path)
    ap.add_argument("--check", action="store_true", help="check the table as it is, change nothing")
    args = ap.parse_args(argv)
    current = sectors.parse(TARGET.read_text(encoding="utf-8")) if TARGET.exists() else []
    if args.check:
        check(current)
        days = sorted(k.seen_on for k in current)
        print(f"{len(current)} tickers, seen from {days[0]} to {days[-1]}")
        return 0
    new = from_answers(args.files) + (from_lake(args.lake) if args.lake else [])
    merged = repaired(sectors.merge(current, new))
    check(merged)
    TARGET.write_text(sectors.render(merged), encoding="utf-8")
    print(f"{len(merged)} tickers ({len(merged) - len(current):+d}) in {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
