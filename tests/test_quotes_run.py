"""`ibov run`'s quotes step: the last closed session's COTAHIST file after the portfolio, then the
reconciliation; a failure of either never fails or blocks the portfolio."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ibovcli import quotes
from tests import b3fake
from tests import fake_cotahist as fake
from tests.conftest import run_ibov


@pytest.fixture
def b3() -> Any:
    with b3fake.FakeB3Server() as server:
        yield server


def run(lake: Path, env: dict[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    r = run_ibov("run", "-i", "IBOV", "--json", "--lake", str(lake), env=env)
    assert r.code == 0, r.stderr
    return {(s["dataset"], s["index"]): s for s in json.loads(r.stdout)}


def test_run_stores_the_last_closed_sessions_quotes_and_reconciles(b3: Any, lake: Path) -> None:
    day = quotes.last_closed_session()
    name = f"COTAHIST_D{day:%d%m%Y}"
    files = {
        f"{name}.ZIP": fake.zipped(fake.render(fake.market_day(day, mix=fake.small_mix(0.05))), f"{name}.TXT")
    }
    base = fake.mount(b3, files)
    steps = run(lake, {"IBOV_B3_URL": b3.url, "IBOV_QUOTES_URL": base})
    assert steps[("portfolio", "IBOV")]["state"] == "stored"
    q = steps[("quotes", "")]
    assert (q["state"], q["date"], q["key"]) == (
        "stored",
        day.isoformat(),
        f"raw/quotes/session_date={day}/COTAHIST.parquet",
    )
    assert q["refined"]["rows"] == q["rows"]
    # the fake portfolio's day is far from the quotes' session: said, not guessed
    rec = steps[("reconcile", "IBOV")]
    assert rec["state"] == "skipped"
    assert "no quotes stored for" in rec["note"]
    assert rec["date"] == steps[("portfolio", "IBOV")]["date"]


def test_a_failing_quotes_step_never_fails_the_run(b3: Any, lake: Path) -> None:
    base = fake.mount(b3, {})  # B3 has not published the day yet: 404
    steps = run(lake, {"IBOV_B3_URL": b3.url, "IBOV_QUOTES_URL": base})
    assert steps[("portfolio", "IBOV")]["state"] == "stored"
    q = steps[("quotes", "")]
    assert q["state"] == "failed" and "has not published" in q["error"] and q["exit_code"] == 4
    assert ("reconcile", "IBOV") not in steps  # no quotes in the lake: nothing to reconcile
    quotes_requests = [p for p, _ in b3.requests if p.startswith(fake.PATH)]
    assert len(quotes_requests) == 1  # not retried


def test_an_unreachable_quotes_host_never_fails_the_run(b3: Any, lake: Path) -> None:
    steps = run(lake, {"IBOV_B3_URL": b3.url})  # conftest: a closed loopback port
    assert steps[("portfolio", "IBOV")]["state"] == "stored"
    assert steps[("quotes", "")]["state"] == "failed"
