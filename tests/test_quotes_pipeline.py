"""The quotes dataset end to end through the CLI: COTAHIST files (B3's real samples, and files made in
B3's layout served by the loopback B3) -> raw/quotes/session_date=/ -> refine -> ibov_quotes."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ibovcli import cotahist
from tests import fake_cotahist as fake
from tests.b3fake import FakeB3Server
from tests.conftest import run_ibov
from tests.lakes import rows

REAL = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "b3" / "history" / "cotahist"
if not REAL.is_dir():
    REAL = Path("/work/shared/fixtures/b3/history/cotahist")
DAILY_2024 = REAL / "COTAHIST_D08112024.ZIP"
DAILY_2021 = REAL / "COTAHIST_D25062021.TXT"
real = pytest.mark.skipif(not DAILY_2024.is_file(), reason="shared B3 COTAHIST samples not present")


def scrape(lake: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return run_ibov("scrape", "quotes", *args, "--json", "--lake", str(lake), env=env)


@pytest.fixture
def b3() -> Any:
    with FakeB3Server() as server:
        yield server


@real
def test_real_daily_files_store_one_session_each_with_every_kept_quote(lake: Path) -> None:
    r = scrape(lake, "--from", str(DAILY_2024), "--from", str(DAILY_2021))
    assert r.code == 0, r.stderr
    out = json.loads(r.stdout)
    expected = {}
    for path in (DAILY_2024, DAILY_2021):
        summary = cotahist.read_quotes(path).check()
        (day,) = summary.kept_sessions
        expected[day.isoformat()] = summary.kept
    assert {o["date"]: o["rows"] for o in out} == expected
    assert all(o["dataset"] == "quotes" and o["state"] == "stored" for o in out)
    assert {o["key"] for o in out} == {f"raw/quotes/session_date={d}/COTAHIST.parquet" for d in expected}
    # the snapshot is the file as given: B3's zip, the TXT copy
    assert (
        lake / "snapshots/quotes/session_date=2024-11-08/COTAHIST.zip"
    ).read_bytes() == DAILY_2024.read_bytes()
    assert (
        lake / "snapshots/quotes/session_date=2021-06-25/COTAHIST.txt"
    ).read_bytes() == DAILY_2021.read_bytes()
    got = dict(rows(lake, "SELECT CAST(session_date AS VARCHAR), count(*) FROM ibov_quotes GROUP BY 1"))
    assert got == expected
    # refined = raw, column for column (lineage dropped); one row per ticker and session
    raw = rows(
        lake,
        "SELECT ticker, close, volume, quote_factor FROM read_parquet(?) ORDER BY ticker",
        [str(lake / "raw/quotes/session_date=2024-11-08/COTAHIST.parquet")],
    )
    refined = rows(
        lake,
        "SELECT ticker, close, volume, quote_factor FROM ibov_quotes "
        "WHERE session_date = DATE '2024-11-08' ORDER BY ticker",
    )
    assert refined == raw
    assert len({t for t, *_ in refined}) == len(refined)
    assert (lake / "refined_quotes/session_date=2024-11-08").is_dir()
    # the same files again: unchanged, nothing refined
    again = scrape(lake, "--from", str(DAILY_2024))
    assert again.code == 0 and [o["state"] for o in json.loads(again.stdout)] == ["unchanged"]


@real
def test_real_prices_are_exact_decimals(lake: Path) -> None:
    assert scrape(lake, "--from", str(DAILY_2024)).code == 0
    # a standard-lot share: the close is PREULT / 100, exactly as B3's record says
    record = next(
        line
        for line in _member_lines(DAILY_2024)
        if line[12:24].strip() == b"PETR4" and line[24:27] == b"010" and line[10:12] == b"02"
    )
    close = Decimal(int(record[108:121])) / 100 / int(record[210:217])
    (got,) = rows(lake, "SELECT close FROM ibov_quotes WHERE ticker = 'PETR4'")
    assert got[0] == close


def _member_lines(path: Path) -> list[bytes]:
    import zipfile

    with zipfile.ZipFile(path) as zf:
        return zf.read(zf.namelist()[0]).splitlines()


@real
def test_a_truncated_real_file_is_refused_and_nothing_is_stored(lake: Path, tmp_path: Path) -> None:
    # rb3's extract of the 2016-01-04 file: 504 of 1,743 records under the original trailer (1,745)
    copy = tmp_path / "COTAHIST_D04012016.TXT"
    copy.write_bytes((REAL / "COTAHIST_D04012016_rb3_extract.TXT").read_bytes())
    r = scrape(lake, "--from", str(copy))
    assert r.code == 5, r.stderr
    assert "trailer" in r.stderr
    assert not list(lake.rglob("*.parquet"))


def test_date_downloads_the_daily_file_and_a_missing_day_is_not_published(lake: Path, b3: Any) -> None:
    day = date(2024, 11, 8)
    text = fake.render(fake.market_day(day, seed=3))
    base = fake.mount(b3, {f"COTAHIST_D{day:%d%m%Y}.ZIP": fake.zipped(text, f"COTAHIST_D{day:%d%m%Y}.TXT")})
    env = {"IBOV_QUOTES_URL": base, "IBOV_HTTP_DEADLINE": "20"}
    r = scrape(lake, "--date", "2024-11-08", "--date", "2024-11-07", "--date", "2024-11-09", env=env)
    assert r.code == 4, r.stderr  # some failed: exit with the source error's code
    (stored,) = json.loads(r.stdout)
    kept = cotahist.read_quotes(text, name="COTAHIST_D08112024.TXT").check().kept
    assert (stored["date"], stored["rows"], stored["dataset"]) == ("2024-11-08", kept, "quotes")
    assert "B3 has not published COTAHIST_D07112024.ZIP (yet)" in r.stderr
    assert "2024-11-09 is a Saturday, not a session" in r.stderr
    # 11-07 asked once (a 404 is not retried); the Saturday never asked
    asked = [p for p, _ in b3.requests]
    assert sorted(a.rsplit("/", 1)[1] for a in asked) == ["COTAHIST_D07112024.ZIP", "COTAHIST_D08112024.ZIP"]
    assert rows(lake, "SELECT count(*) FROM ibov_quotes")[0][0] == kept


def test_year_reads_the_annual_file_into_one_raw_file_per_session(lake: Path, b3: Any) -> None:
    days = fake.sessions(date(2023, 1, 2), 3)
    quotes = [q for d in days for q in fake.market_day(d, seed=d.day, mix=fake.small_mix(0.05))]
    text = fake.render(quotes, year=2023)
    base = fake.mount(b3, {"COTAHIST_A2023.ZIP": fake.zipped(text, "COTAHIST_A2023.TXT")})
    r = scrape(lake, "--year", "2023", env={"IBOV_QUOTES_URL": base})
    assert r.code == 0, r.stderr
    out = json.loads(r.stdout)
    assert [o["date"] for o in out] == [d.isoformat() for d in days]
    assert all(o["format"] == "cotahist/annual" and o["file"] == "COTAHIST_A2023" for o in out)
    # each session's snapshot is its kept rows as CSV (not 250 copies of the annual file)
    csv = (lake / f"snapshots/quotes/session_date={days[0]}/COTAHIST.csv").read_text()
    assert csv.splitlines()[0].startswith('"session_date","ticker"')
    assert len(csv.splitlines()) == out[0]["rows"] + 1
    got = rows(lake, "SELECT CAST(session_date AS VARCHAR), count(*) FROM ibov_quotes GROUP BY 1 ORDER BY 1")
    assert got == [(o["date"], o["rows"]) for o in out]
    # stored again from the same annual file: every session unchanged
    again = scrape(lake, "--year", "2023", env={"IBOV_QUOTES_URL": base})
    assert [o["state"] for o in json.loads(again.stdout)] == ["unchanged"] * 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "needs --date YYYY-MM-DD"),
        (("--date", "2024-11-08", "--year", "2024"), "give --year, or --date/--since, not both"),
        (("--date", "08/11/2024"), "--date takes a day YYYY-MM-DD"),
        (("--date", "2013-12-30"), "daily files start on 2014-01-02"),
        (("--year", "1985"), "--year 1985 is outside 1986"),
        (("--index", "IBOV", "--date", "2024-11-08"), "quotes are not per index"),
    ],
)
def test_bad_options_are_usage_errors(lake: Path, args: tuple[str, ...], message: str) -> None:
    r = scrape(lake, *args)
    assert r.code == 2 and message in r.stderr, r.stderr


def test_status_lists_the_sessions_and_the_trading_days_without_quotes(lake: Path, tmp_path: Path) -> None:
    paths = []
    for day in (date(2024, 11, 6), date(2024, 11, 8)):
        name = f"COTAHIST_D{day:%d%m%Y}"
        path = tmp_path / f"{name}.ZIP"
        path.write_bytes(
            fake.zipped(fake.render(fake.market_day(day, mix=fake.small_mix(0.02))), f"{name}.TXT")
        )
        paths += ["--from", str(path)]
    assert scrape(lake, *paths).code == 0
    r = run_ibov("status", "--json", "--lake", str(lake))
    assert r.code == 0, r.stderr
    (cov,) = [c for c in json.loads(r.stdout)["coverage"] if c["dataset"] == "quotes"]
    assert (cov["first"], cov["last"], cov["stored"], cov["refined"]) == ("2024-11-06", "2024-11-08", 2, 2)
    assert cov["missing_days"] == ["2024-11-07"] and cov["counts"] == "sessions"
    text = run_ibov("status", "--lake", str(lake))
    assert (
        "quotes (B3 COTAHIST" in text.stderr and "2024-11-06\t2024-11-08\t2\t2\t1\t2024-11-07" in text.stdout
    )


def test_refine_quotes_of_one_day_again(lake: Path, tmp_path: Path) -> None:
    day = date(2024, 11, 8)
    path = tmp_path / "COTAHIST_D08112024.ZIP"
    path.write_bytes(fake.zipped(fake.render(fake.market_day(day, mix=fake.small_mix(0.02))), "X.TXT"))
    assert scrape(lake, "--from", str(path)).code == 0
    r = run_ibov("refine", "quotes", "--date", "2024-11-08", "--json", "--lake", str(lake))
    assert r.code == 0, r.stderr
    (done,) = json.loads(r.stdout)
    assert (done["dataset"], done["unit"], done["indices"]) == ("quotes", "session_date=2024-11-08", [])
    assert done["rows"] == rows(lake, "SELECT count(*) FROM ibov_quotes")[0][0]
    r = run_ibov("refine", "levels", "--date", "2024-11-08", "--lake", str(lake))
    assert r.code == 2 and "levels are refined per --index" in r.stderr
