"""Lakes for the report tests: the synthetic IBOV history of tests/analysis_lake.py plus official levels.

:func:`store_levels` writes chained fake years (tests/fake_levels.py; each year starts where the one
before ended) through the same parser and raw writer as ``ibov scrape levels``, then refines them.
``python -m tests.report_lake LAKE`` adds ten years of IBOV levels to an existing lake (the benchmark
lake of benchmarks/history.py has portfolios only).
"""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

from ibovcli import levels, rawfiles
from tests import analysis_lake, fake_levels
from tests.lakes import engine


def store_levels(lake: Path, index: str, years: range, until: date | None = None) -> int:
    """Store ``years`` of chained fake levels of ``index``; returns the number of sessions."""
    start = Decimal("60000.00")
    writes = []
    sessions = 0
    for year in years:
        y = fake_levels.make_year(index, year, start=start, until=until)
        start = y.sessions[-1][1]
        parsed = levels.parse_levels(fake_levels.render(y), index=index, year=year, source="test:report_lake")
        writes.append(rawfiles.levels(parsed))
        sessions += len(y.sessions)
    eng = engine(lake)
    try:
        with eng.lock():
            keys = eng.write_raw(writes)
            eng.process(keys, lambda _m: None)
    finally:
        eng.close()
    return sessions


def build(root: Path, days: int = 80) -> Path:
    """The analysis lake's synthetic IBOV history (MGLU3 -> RDOR3 on 2025-05-05) and IBOV levels
    for 2023 up to its last day."""
    history = analysis_lake.synthetic_history(days)
    analysis_lake.build(root, history)
    last = max(day for _index, day in history)
    store_levels(root, "IBOV", range(2023, last.year + 1), until=last)
    return root


if __name__ == "__main__":  # pragma: no cover - a maintenance entry point
    lake = Path(sys.argv[1])
    n = store_levels(lake, "IBOV", range(2015, 2026), until=date(2025, 5, 5))
    print(f"{n} IBOV sessions stored in {lake}")
