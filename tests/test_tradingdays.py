"""B3 trading days, and the trading days `ibov status` reports missing between snapshots."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from ibovcli import pipeline, tradingdays
from ibovcli.settings import Settings
from tests.conftest import run_ibov

D = date.fromisoformat


@pytest.mark.parametrize(
    ("day", "holiday"),
    [
        ("2025-01-01", "Universal Fraternization Day"),
        ("2025-03-03", "Carnival"),  # Monday
        ("2025-03-04", "Carnival"),  # Tuesday
        ("2025-04-18", "Good Friday"),
        ("2025-04-21", "Tiradentes' Day"),
        ("2025-05-01", "Worker's Day"),
        ("2025-06-19", "Corpus Christi"),
        ("2025-11-20", "National Day of Zumbi and Black Awareness"),
        ("2025-12-24", "Christmas Eve"),
        ("2025-12-25", "Christmas Day"),
        ("2025-12-31", "Last Business Day of the Year"),
        ("2026-02-16", "Carnival"),
        ("2026-04-03", "Good Friday"),
    ],
)
def test_b3_holidays_are_not_trading_days(day: str, holiday: str) -> None:
    assert D(day).weekday() < 5  # each is a weekday, so only the holiday calendar excludes it
    assert not tradingdays.is_trading_day(D(day))
    assert tradingdays.holiday_name(D(day)) == holiday


@pytest.mark.parametrize(
    "day", ["2025-03-05", "2025-04-17", "2025-04-22", "2025-05-02", "2025-06-20", "2025-12-30"]
)
def test_ordinary_weekdays_are_trading_days(day: str) -> None:
    # Ash Wednesday (2025-03-05) is a trading day: B3 opens at 13:00.
    assert tradingdays.is_trading_day(D(day))
    assert tradingdays.holiday_name(D(day)) is None


def test_weekends_are_not_trading_days() -> None:
    assert not tradingdays.is_trading_day(D("2025-05-03"))
    assert not tradingdays.is_trading_day(D("2025-05-04"))


def test_trading_days_in_a_range() -> None:
    # 2025-04-14 Mon .. 2025-04-25 Fri: Good Friday 18th and Tiradentes Monday 21st are holidays
    assert tradingdays.trading_days(D("2025-04-14"), D("2025-04-25")) == [
        D(x)
        for x in (
            "2025-04-14",
            "2025-04-15",
            "2025-04-16",
            "2025-04-17",
            "2025-04-22",
            "2025-04-23",
            "2025-04-24",
            "2025-04-25",
        )
    ]
    assert tradingdays.trading_days(D("2025-05-03"), D("2025-05-04")) == []
    assert tradingdays.trading_days(D("2025-05-05"), D("2025-05-02")) == []
    # 2025 has 261 weekdays; 11 of them are B3 holidays (Jan 1, Carnival x2, Good Friday, Tiradentes,
    # May 1, Corpus Christi, Nov 20, Dec 24, 25, 31); Sep 7, Oct 12, Nov 2 and Nov 15 fall on weekends
    assert len(tradingdays.trading_days(D("2025-01-01"), D("2025-12-31"))) == 261 - 11


def test_missing_days() -> None:
    present = [D("2025-04-28"), D("2025-05-05"), D("2025-04-30")]
    assert tradingdays.missing_days(present) == [D("2025-04-29"), D("2025-05-02")]
    assert tradingdays.missing_days([]) == []
    assert tradingdays.missing_days([D("2025-04-30")]) == []
    # across Carnival: Fri 2025-02-28 -> Wed 2025-03-05 misses nothing
    assert tradingdays.missing_days([D("2025-02-28"), D("2025-03-05")]) == []


@pytest.fixture
def status_lake(analysis_lake_dir: Path) -> Path:
    """IBOV on 2025-04-28, 2025-04-30, 2025-05-05; SMLL on 2025-04-30, 2025-05-05."""
    return analysis_lake_dir


def test_status_json_names_exactly_the_missing_trading_days(status_lake: Path) -> None:
    r = run_ibov("status", "--json", "--lake", str(status_lake))
    assert r.code == 0, r.stderr
    coverage = json.loads(r.stdout)["coverage"]
    by_index = {i["index"]: i for i in coverage if i["dataset"] == "portfolio"}
    assert by_index["IBOV"]["missing_days"] == ["2025-04-29", "2025-05-02"]  # 05-01 holiday, 05-03/04 weekend
    assert by_index["IBOV"]["missing"] == 2
    assert by_index["IBOV"]["stored"] == 3 and by_index["IBOV"]["refined"] == 3
    assert by_index["SMLL"]["missing_days"] == ["2025-05-02"]
    assert by_index["SMLL"]["missing"] == 1


def test_status_table_shows_the_missing_days(status_lake: Path) -> None:
    r = run_ibov("status", "--lake", str(status_lake))
    assert r.code == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert rows[0][-2:] == ["missing", "missing_days"]
    assert rows[1][0] == "IBOV" and rows[1][-2:] == ["2", "2025-04-29, 2025-05-02"]
    assert rows[2][0] == "SMLL" and rows[2][-2:] == ["1", "2025-05-02"]


def test_status_library_call(status_lake: Path) -> None:
    report = pipeline.status(Settings.load(lake_dir=status_lake))
    assert [(c.index, len(c.missing)) for c in report.of("portfolio")] == [("IBOV", 2), ("SMLL", 1)]


def test_the_shipped_holiday_table_is_what_the_holidays_package_says() -> None:
    """ibovcli/b3_holidays.py is generated (tools/b3_calendar.py): stale means run the tool."""
    import runpy
    from pathlib import Path

    tool = runpy.run_path(str(Path(__file__).resolve().parent.parent / "tools" / "b3_calendar.py"))
    assert tool["main"](["--check"]) == 0, "run: python tools/b3_calendar.py"


def test_years_outside_the_table_come_from_the_package() -> None:
    from datetime import date

    from ibovcli import b3_holidays, tradingdays

    year = b3_holidays.LAST_YEAR + 1
    assert tradingdays.holiday_name(date(year, 12, 25)) is not None
    assert not tradingdays.is_trading_day(date(year, 12, 25))
