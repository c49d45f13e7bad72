"""Lakes for the report tests: the synthetic IBOV history of tests/analysis_lake.py plus official levels.

:func:`store_levels` writes chained fake years (tests/fake_levels.py; each year starts where the one
before ended) through the same parser and raw writer as ``ibov scrape levels``, then refines them.
``python -m tests.report_lake LAKE`` builds a ten-year IBOV lake (:func:`ten_years`) for timing the report.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
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


def ten_years(root: Path, days: int = 2520, members: int = 86, end: date = date(2025, 5, 5)) -> Path:
    """IBOV over ``days`` trading days up to ``end`` (a made-up market of 116 securities: the ``members``
    largest by value after each January/May/September rebalance, weights drifting with prices), plus
    its official levels over the same years: the size of the ten-year benchmark lake."""
    from ibovcli import tradingdays
    from ibovcli.b3 import Holding, Portfolio

    rng = random.Random(20250505)
    sectors = list({v[2] for v in analysis_lake.COMPANY.values()})
    names = ["".join(chr(65 + (i // 26**k) % 26) for k in (3, 2, 1, 0)) + "3" for i in range(116)]
    cap = {t: rng.lognormvariate(0, 1.2) for t in names}
    all_days = tradingdays.trading_days(end - timedelta(days=int(days * 1.5) + 30), end)[-days:]
    chosen: list[str] = []
    qty: dict[str, int] = {}
    writes = []
    for n, day in enumerate(all_days):
        for t in names:
            cap[t] *= 1 + rng.gauss(0.0002, 0.02)
        if n == 0 or (day.month in (1, 5, 9) and all_days[n - 1].month != day.month):
            chosen = sorted(names, key=lambda t: -cap[t])[:members]
            qty = {t: 1_000_000 + 37 * i for i, t in enumerate(chosen)}
        total = sum(cap[t] for t in chosen)
        parts = {t: Decimal(str(round(100 * cap[t] / total, 3))) for t in chosen}
        heaviest = max(parts, key=lambda t: parts[t])
        parts[heaviest] += Decimal(100) - sum(parts.values())
        holdings = tuple(
            Holding(t, f"CO {t}", "ON      NM", sectors[names.index(t) % len(sectors)], parts[t], qty[t])
            for t in sorted(chosen)
        )
        p = Portfolio(
            index="IBOV",
            session_date=day,
            holdings=holdings,
            total_qty=sum(h.qty for h in holdings),
            reductor=Decimal("15873402.61937058"),
            source_format="json/pt-br/segment-2",
            total_records=len(holdings),
            source="test:report_lake",
            original=f"IBOV {day}".encode(),
            collected_at=datetime.combine(day - timedelta(days=1), datetime.min.time(), UTC),
        )
        writes.append(rawfiles.portfolio(p))
    eng = engine(root)
    try:
        with eng.lock():
            for i in range(0, len(writes), 250):
                eng.process(eng.write_raw(writes[i : i + 250]), lambda _m: None)
    finally:
        eng.close()
    store_levels(root, "IBOV", range(all_days[0].year, end.year + 1), until=end)
    return root


if __name__ == "__main__":  # pragma: no cover - a maintenance entry point
    started = time.perf_counter()
    ten_years(Path(sys.argv[1]))
    print(f"ten-year lake built in {time.perf_counter() - started:.0f} s: {sys.argv[1]}")
