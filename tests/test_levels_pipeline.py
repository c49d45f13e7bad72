"""The levels dataset end to end through the CLI: a loopback B3 serving levels -> raw -> refine ->
catalog -> saved queries, status and chart; every value checked against what the fake served."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ibovcli import tradingdays
from tests import b3fake, fake_levels
from tests.conftest import run_ibov
from tests.lakes import rows

TODAY = datetime.now(UTC).date()
YEARS = range(2018, TODAY.year + 1)


def served(index: str) -> dict[tuple[str, int], fake_levels.FakeYear]:
    # the current year holds sessions up to the last closed one (yesterday's, at the latest)
    last_closed = tradingdays.trading_days(date(TODAY.year, 1, 1), TODAY)[-2]
    return {
        (index, y): fake_levels.make_year(index, y, until=last_closed if y == TODAY.year else None)
        for y in YEARS
    }


@pytest.fixture
def b3() -> b3fake.FakeB3Server:
    server = b3fake.FakeB3Server()
    server.years = {**served("IBOV"), **served("SMLL")}  # type: ignore[attr-defined]
    fake_levels.mount(server, server.years)  # type: ignore[attr-defined]
    with server:
        yield server


def sessions(server: b3fake.FakeB3Server, index: str) -> list[tuple[date, Decimal]]:
    return [s for (i, _), y in sorted(server.years.items()) if i == index for s in y.sessions]  # type: ignore[attr-defined]


def test_since_stores_every_session_with_the_exact_level(b3: b3fake.FakeB3Server, lake: Path) -> None:
    r = run_ibov(
        "scrape", "levels", "--index", "IBOV", "--since", "2018", "--json", "--lake", str(lake),
        env={"IBOV_B3_URL": b3.url},
    )  # fmt: skip
    assert r.code == 0, r.stderr
    stored = json.loads(r.stdout)
    assert [(s["dataset"], s["index"], s["year"]) for s in stored] == [("levels", "IBOV", y) for y in YEARS]
    expected = sessions(b3, "IBOV")
    assert sum(s["sessions"] for s in stored) == len(expected)
    assert all(s["key"] == f"raw/levels/index_code=IBOV/{s['year']}.parquet" for s in stored)
    got = rows(lake, "SELECT session_date, level FROM ibov_levels WHERE index_code = 'IBOV' ORDER BY 1")
    assert got == expected  # every session, the exact level (Decimal, two places)
    # the refined partitions: one folder per year, under the index
    years = sorted(p.name for p in (lake / "refined_levels" / "index_code=IBOV").iterdir())
    assert years == [f"year={y}" for y in YEARS]
    # the changes are computed against the previous stored session, across year ends
    (_, prev), (day, level) = expected[0], expected[1]
    [(change_points, change_pct)] = rows(
        lake, "SELECT change_points, change_pct FROM ibov_levels WHERE session_date = ?", [day]
    )
    assert change_points == level - prev
    assert change_pct == pytest.approx((float(level) / float(prev) - 1) * 100, rel=1e-12)
    first_2019 = next(d for d, _ in expected if d.year == 2019)
    last_2018 = [v for d, v in expected if d.year == 2018][-1]
    [(base,)] = rows(lake, "SELECT year_base_level FROM ibov_levels WHERE session_date = ?", [first_2019])
    assert base == last_2018


def test_rescraping_a_year_replaces_it_and_the_current_year_only_adds_days(
    b3: b3fake.FakeB3Server, lake: Path
) -> None:
    env = {"IBOV_B3_URL": b3.url}
    args = ("scrape", "levels", "--index", "IBOV", "--year", str(TODAY.year), "--lake", str(lake))
    partial = fake_levels.make_year("IBOV", TODAY.year, until=date(TODAY.year, 3, 31))
    b3.years[("IBOV", TODAY.year)] = partial  # type: ignore[attr-defined]
    assert run_ibov(*args, env=env).code == 0
    assert rows(lake, "SELECT count(*) FROM ibov_levels") == [(len(partial.sessions),)]
    full = served("IBOV")[("IBOV", TODAY.year)]
    b3.years[("IBOV", TODAY.year)] = full  # type: ignore[attr-defined]
    assert run_ibov(*args, env=env).code == 0
    assert rows(lake, "SELECT count(*), max(session_date) FROM ibov_levels") == [
        (len(full.sessions), full.sessions[-1][0])
    ]
    again = run_ibov(*args, "--json", env=env)  # the same answer: nothing stored again
    assert again.code == 0 and [s["state"] for s in json.loads(again.stdout)] == ["unchanged"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--index", "IBOV"], 2, "needs --year YYYY"),
        (["--index", "IBOV", "--year", "2022", "--since", "2020"], 2, "give --year or --since, not both"),
        (["--index", "IBOV", "--year", "1967"], 2, "outside 1968"),
        (["--index", "IBOVV", "--year", "2022"], 2, "did you mean IBOV?"),
        (
            ["--index", "IBOV", "--year", "2022", "--from", "x.json", "--year", "2023"],
            2,
            "one --index and one --year",
        ),
    ],
)
def test_bad_options_are_usage_errors(lake: Path, args: list[str], code: int, message: str) -> None:
    r = run_ibov("scrape", "levels", *args, "--lake", str(lake))
    assert r.code == code, r.stderr
    assert r.stderr.count("\n") == 1 and message.lower() in r.stderr.lower(), r.stderr
    assert not lake.exists() or not any(lake.iterdir())


def test_a_saved_answer_needs_its_index_and_year(lake: Path, tmp_path: Path) -> None:
    saved = tmp_path / "answer.json"
    saved.write_bytes(fake_levels.render(fake_levels.make_year("IDIV", 2023)))
    r = run_ibov("scrape", "levels", "--from", str(saved), "--lake", str(lake))
    assert r.code == 2 and "names neither its index nor its year" in r.stderr
    r = run_ibov(
        "scrape", "levels", "--from", str(saved), "-i", "IDIV", "--year", "2023", "--lake", str(lake)
    )
    assert r.code == 0, r.stderr
    r = run_ibov(
        "scrape", "levels", "--from", str(saved), "-i", "IDIV", "--year", "2024", "--lake", str(lake)
    )
    assert r.code == 5 and "is this the answer for 2024?" in r.stderr  # another year's grid: refused


def test_no_such_index_or_year_is_bad_data(b3: b3fake.FakeB3Server, lake: Path) -> None:
    r = run_ibov(
        "scrape",
        "levels",
        "--index",
        "IDIV",
        "--year",
        "2020",
        "--lake",
        str(lake),
        env={"IBOV_B3_URL": b3.url},
    )
    assert r.code == 5 and "no such index or year" in r.stderr, r.stderr


def test_status_queries_and_chart_read_the_levels(
    b3: b3fake.FakeB3Server, lake: Path, tmp_path: Path
) -> None:
    env = {"IBOV_B3_URL": b3.url}
    assert (
        run_ibov(
            "scrape", "levels", "-i", "IBOV", "-i", "SMLL", "--since", "2022", "--lake", str(lake), env=env
        ).code
        == 0
    )
    status = json.loads(run_ibov("status", "--json", "--lake", str(lake)).stdout)
    levels = {c["index"]: c for c in status["coverage"] if c["dataset"] == "levels"}
    expected = [s for s in sessions(b3, "IBOV") if s[0].year >= 2022]
    assert levels["IBOV"]["first"] == expected[0][0].isoformat()
    assert levels["IBOV"]["last"] == expected[-1][0].isoformat()
    assert levels["IBOV"]["stored"] == levels["IBOV"]["refined"] == len(expected)
    assert levels["IBOV"]["missing_days"] == []  # the fake follows the B3 calendar

    r = run_ibov(
        "query", "index-levels", "--from", "2023-01-01", "--to", "2023-12-31", "--json", "--lake", str(lake)
    )
    got = json.loads(r.stdout)
    in_2023 = [(d, v) for d, v in expected if d.year == 2023]
    assert [(g["session_date"], g["level"]) for g in got] == [(d.isoformat(), float(v)) for d, v in in_2023]

    r = run_ibov("query", "index-returns", "--by", "year", "--json", "--lake", str(lake))
    by_year = {g["period"]: g for g in json.loads(r.stdout)}
    last_2022 = [v for d, v in expected if d.year == 2022][-1]
    assert by_year["2023"]["start_level"] == float(last_2022)
    assert by_year["2023"]["end_level"] == float(in_2023[-1][1])
    assert by_year["2023"]["return_pct"] == pytest.approx(
        (float(in_2023[-1][1]) / float(last_2022) - 1) * 100, abs=1e-4
    )

    r = run_ibov("query", "drawdown", "--limit", "1", "--json", "--lake", str(lake))
    [deepest] = json.loads(r.stdout)
    worst, peak = 0.0, None
    for _day, value in expected:
        peak = value if peak is None or value > peak else peak
        worst = min(worst, (float(value) / float(peak) - 1) * 100)
    assert deepest["drawdown_pct"] == pytest.approx(worst, abs=1e-4)

    out = tmp_path / "ibov.svg"
    r = run_ibov("chart", "levels", "--log", "--out", str(out), "--lake", str(lake), "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["points"] == len(expected)
    assert out.read_text().startswith("<?xml")


def test_the_daily_run_refreshes_the_current_year(b3: b3fake.FakeB3Server, lake: Path) -> None:
    r = run_ibov("run", "-i", "IBOV", "--json", "--lake", str(lake), env={"IBOV_B3_URL": b3.url})
    assert r.code == 0, r.stderr
    steps = {(s["dataset"], s["index"]): s for s in json.loads(r.stdout)}
    assert steps[("portfolio", "IBOV")]["state"] == "stored"
    assert steps[("levels", "IBOV")]["state"] == "stored"
    assert steps[("levels", "IBOV")]["year"] == TODAY.year
    # a failing levels step never fails the run
    del b3.years[("IBOV", TODAY.year)]  # type: ignore[attr-defined]
    (lake / "raw").rename(lake / "raw-old")  # the portfolio is stored again, the levels fail
    r = run_ibov("run", "-i", "IBOV", "--json", "--lake", str(lake), env={"IBOV_B3_URL": b3.url})
    assert r.code == 0, r.stderr
    steps = {(s["dataset"], s["index"]): s for s in json.loads(r.stdout)}
    assert (
        steps[("levels", "IBOV")]["state"] == "failed"
        and "no such index or year" in steps[("levels", "IBOV")]["error"]
    )
    assert "warning: levels of IBOV not refreshed" not in r.stderr  # --json: the warning is in the JSON


@pytest.mark.slow
def test_loading_25_years_of_5_indices_from_a_mirror(lake: Path) -> None:
    """Saved answers served by a local mirror (IBOV_B3_URL): one command, 125 requests."""
    indices = ("IBOV", "IBXX", "SMLL", "IDIV", "IBXL")
    server = b3fake.FakeB3Server()
    years = {(i, y): fake_levels.make_year(i, y) for i in indices for y in range(2000, 2025)}
    fake_levels.mount(server, years)
    with server:
        args = ["scrape", "levels", "--since", "2000", "--lake", str(lake)]
        for i in indices:
            args += ["-i", i]
        r = run_ibov(*args, env={"IBOV_B3_URL": server.url}, timeout=300)
    assert r.code == 5, r.stderr  # 2025 and later: no such year on the mirror, reported; the rest stored
    assert rows(lake, "SELECT count(DISTINCT index_code), count(*) FROM ibov_levels") == [
        (5, sum(len(y.sessions) for y in years.values()))
    ]
