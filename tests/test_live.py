"""Opt-in checks against the real B3 site: `pytest -m live` (they need internet access to B3).

Deselected by default (pyproject's addopts `-m "not live"`); CI never runs them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ibovcli import quality
from ibovcli.fetch import fetch_portfolio
from tests.conftest import run_ibov

pytestmark = pytest.mark.live


@pytest.mark.parametrize("index", ["IBOV", "IBRA"])  # IBRA has more than one page of 120 rows
def test_b3_portfolio_of_the_day_is_valid(index: str) -> None:
    p = quality.validate(fetch_portfolio(index))
    assert p.index == index
    assert p.total_records == len(p.holdings) > 0
    assert p.source_format == "json/pt-br/segment-2"
    assert any(h.segment for h in p.holdings)


def test_ibov_run_end_to_end_against_b3(tmp_path: Path) -> None:
    res = run_ibov("run", "--lake", str(tmp_path / "lake"), "--json")
    assert res.code == 0, res.stderr
