"""A JSON answer does not name its index: the index given with --index must look like that index as the
lake holds it (the constituents overlap), or the snapshot is refused and nothing is written."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from tests import b3fake
from tests.conftest import run_ibov
from tests.lakes import lake_bytes


def small_caps(day: dt.date) -> b3fake.Portfolio:
    """An SMLL-like portfolio: none of IBOV's fixture tickers."""
    rows = tuple(
        b3fake.Row(f"SM{i:02d}3", f"SMALL {i:02d}", "ON      NM", "", Decimal("10.000"), 1000 + i)
        for i in range(10)
    )
    return b3fake.Portfolio("SMLL", day, Decimal("1.0"), sum(r.qty for r in rows), rows)


def as_json(p: b3fake.Portfolio, path: Path) -> Path:
    path.write_text(json.dumps(b3fake.portfolio_day_json(p, segment=2)), encoding="utf-8")
    return path


def test_a_portfolio_given_the_wrong_index_is_refused(lake: Path, tmp_path: Path) -> None:
    smll = as_json(small_caps(dt.date(2025, 4, 30)), tmp_path / "smll.json")
    assert run_ibov("scrape", "--from", str(smll), "--index", "SMLL", "--lake", str(lake)).code == 0
    ibov = as_json(dataclasses.replace(b3fake.IBOV_2025_05_05), tmp_path / "ibov.json")
    before = lake_bytes(lake)
    r = run_ibov("scrape", "--from", str(ibov), "--index", "SMLL", "--lake", str(lake))
    assert r.code == 5, r.stderr
    assert "do not look like SMLL's: only 0 of them are in SMLL on 2025-04-30 (0%)" in r.stderr
    assert lake_bytes(lake) == before
    # the right index, and an index the lake does not hold yet, are stored
    assert run_ibov("scrape", "--from", str(ibov), "--index", "IBOV", "--lake", str(lake)).code == 0
    later = as_json(small_caps(dt.date(2025, 5, 5)), tmp_path / "smll-later.json")
    assert run_ibov("scrape", "--from", str(later), "--index", "SMLL", "--lake", str(lake)).code == 0


def test_drift_between_rebalances_is_not_a_contradiction(lake: Path, tmp_path: Path) -> None:
    first = small_caps(dt.date(2025, 4, 30))
    rows = list(first.rows)
    rows[:4] = [dataclasses.replace(r, cod=f"NW{i:02d}3") for i, r in enumerate(rows[:4])]  # 4 of 10 replaced
    moved = dataclasses.replace(first, date=dt.date(2025, 9, 1), rows=tuple(rows))
    assert (
        run_ibov(
            "scrape", "--from", str(as_json(first, tmp_path / "a.json")), "-i", "SMLL", "--lake", str(lake)
        ).code
        == 0
    )
    r = run_ibov(
        "scrape", "--from", str(as_json(moved, tmp_path / "b.json")), "-i", "SMLL", "--lake", str(lake)
    )
    assert r.code == 0, r.stderr
