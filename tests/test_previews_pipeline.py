"""The theoretical and preview datasets end to end through the CLI: saved files and a loopback B3 ->
raw (one file per collection) -> refine (collections, versions) -> catalog -> queries, status, the
daily run's preview step and the rebalance chart. Every expected value is worked out by hand below."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ibovcli import periods
from ibovcli.engines.base import Coverage, StatusReport
from ibovcli.periods import Period
from tests import b3fake
from tests import fake_previews as fp
from tests.conftest import run_ibov
from tests.lakes import rows

D = Decimal

REAL = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "b3"
REAL_PTBR = REAL / "IBOV_GetTheoricalPortfolio_2022-12-10_ptbr_from_rb3_cassette.json"
REAL_ENUS = REAL / "IBOV_GetTheoricalPortfolio_2025-04-07_enus_from_rb3_cassette.json"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def v1_csv(tmp_path: Path) -> Path:
    return write(tmp_path, "preview-v1.csv", fp.period_csv(fp.PREVIEW_IBOV_2025_09))


def v1_json(tmp_path: Path) -> Path:
    return write(tmp_path, "preview-v1.json", b3fake.to_json_bytes(fp.period_json(fp.PREVIEW_IBOV_2025_09)))


def v2_csv(tmp_path: Path) -> Path:
    return write(tmp_path, "preview-v2.csv", fp.period_csv(fp.PREVIEW_IBOV_2025_09_V2))


def scrape(lake: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[dict], str]:
    r = run_ibov("scrape", *args, "--json", "--lake", str(lake), env=env)
    return r.code, (json.loads(r.stdout) if r.stdout.strip() else []), r.stderr


# -- reading files: periods, keys, snapshots, refusals ------------------------------------------------


def test_a_csv_names_its_period_and_is_kept_byte_for_byte(tmp_path: Path, lake: Path) -> None:
    path = v1_csv(tmp_path)
    code, out, err = scrape(lake, "preview", "--from", str(path), "--date", "2025-08-20")
    assert code == 0, err
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    key = f"raw/preview/index_code=IBOV/2025-09..12_2025-08-20_{sha[:8]}.parquet"
    [s] = out
    assert {k: s[k] for k in ("dataset", "index", "period", "collected_on", "rows", "key", "state")} == {
        "dataset": "preview",
        "index": "IBOV",
        "period": "2025-09..12",
        "collected_on": "2025-08-20",
        "rows": 14,
        "key": key,
        "state": "stored",
    }
    assert s["weights_sum"] == "100.001"  # rounding: normal for a period portfolio
    assert (lake / key).is_file()
    snapshot = lake / "snapshots/preview/index_code=IBOV" / f"2025-09..12_2025-08-20_{sha[:8]}.csv"
    assert snapshot.read_bytes() == path.read_bytes()
    assert sorted(p.name for p in (lake / "refined_preview/index_code=IBOV").iterdir()) == [
        "period=2025-09..12"
    ]
    got = rows(lake, "SELECT ticker, weight_pct, theoretical_qty FROM ibov_preview ORDER BY ticker")
    assert got == sorted((r.cod, r.part, r.qty) for r in fp.PREVIEW_IBOV_2025_09.portfolio.rows)
    [(rebalance, members, total)] = rows(
        lake, "SELECT DISTINCT rebalance_date, members, weights_sum_pct FROM ibov_preview"
    )
    assert (rebalance, members, total) == (date(2025, 9, 1), 14, Decimal("100.001"))


def test_the_collection_day_is_the_files_modification_day_without_date(tmp_path: Path, lake: Path) -> None:
    path = v1_csv(tmp_path)
    # 01:30 UTC on the 23rd is still the 22nd in Brasilia (UTC-3)
    noon_utc = datetime(2025, 8, 23, 1, 30, tzinfo=UTC).timestamp()
    os.utime(path, (noon_utc, noon_utc))
    code, [s], err = scrape(lake, "preview", "--from", str(path))
    assert code == 0, err
    assert s["collected_on"] == "2025-08-22"


def test_json_needs_the_period_and_defaults_to_ibov(tmp_path: Path, lake: Path) -> None:
    path = v1_json(tmp_path)
    code, out, err = scrape(lake, "preview", "--from", str(path))
    assert code == 2 and out == []
    assert "does not say which 4-month period" in err and "--period" in err
    assert not (lake / "raw").exists()
    code, [s], err = scrape(
        lake, "preview", "--from", str(path), "--period", "2025-09", "--date", "2025-08-21"
    )
    assert code == 0, err
    assert (s["index"], s["period"], s["format"]) == ("IBOV", "2025-09..12", "json/pt-br")


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (("--period", "2025-05"), "is for the period 2025-09..12 (its title) but --period 2025-05"),
        (("--index", "SMLL"), "is a IBOV preview but --index SMLL was given"),
        (("--period", "2025-03"), "does not start a B3 period"),
    ],
)
def test_contradictions_are_refused(tmp_path: Path, lake: Path, extra: tuple[str, ...], match: str) -> None:
    code, out, err = scrape(lake, "preview", "--from", str(v1_csv(tmp_path)), *extra)
    assert code == 2, err
    assert match in err and out == []
    assert not (lake / "raw").exists()


def test_a_preview_is_not_a_theoretical_portfolio(tmp_path: Path, lake: Path) -> None:
    code, _out, err = scrape(lake, "theoretical", "--from", str(v1_csv(tmp_path)))
    assert code == 5
    assert "is a preview" in err and "not a theoretical portfolio" in err


def test_fetch_options_that_describe_files_are_refused(lake: Path) -> None:
    code, _out, err = scrape(lake, "preview", "--date", "2025-08-20")
    assert code == 2 and "--date and --period describe --from files" in err
    code, _out, err = scrape(lake, "theoretical", "--year", "2025")
    assert code == 2 and "--year: not an option of `ibov scrape theoretical`" in err


@pytest.mark.skipif(not REAL_PTBR.exists(), reason="real B3 recordings not present")
def test_the_real_theoretical_answers(lake: Path) -> None:
    """The two real GetTheoricalPortfolio answers (pt-br Sep-Dec 2022, en-us Jan-Apr 2025)."""
    code, [a], err = scrape(
        lake, "theoretical", "--from", str(REAL_PTBR), "--period", "2022-09", "--date", "2022-12-10"
    )
    assert code == 0, err
    code, [b], err = scrape(
        lake, "theoretical", "--from", str(REAL_ENUS), "--period", "2025-01", "--date", "2025-04-07"
    )
    assert code == 0, err
    assert (a["rows"], a["format"], b["rows"], b["format"]) == (92, "json/pt-br", 87, "json/en-us")
    assert b["weights_sum"] == "99.999"
    for path, period in ((REAL_PTBR, "2022-09..12"), (REAL_ENUS, "2025-01..04")):
        results = json.loads(path.read_text("utf-8"))["results"]
        language = "en-us" if path is REAL_ENUS else "pt-br"
        sep = "," if language == "en-us" else "."
        expected = sorted(
            (
                r["cod"].strip(),
                Decimal(r["part"].replace(sep, "").replace(",", ".")),
                int(r["theoricalQty"].replace(".", "").replace(",", "")),
                r["cont"],
            )
            for r in results
        )
        got = rows(
            lake,
            "SELECT ticker, weight_pct, theoretical_qty, company_rank FROM ibov_theoretical "
            "WHERE period = ? ORDER BY ticker",
            [period],
        )
        assert got == expected  # every row of both real answers
    r = run_ibov("verify", "--lake", str(lake))
    assert r.code == 0, r.stderr


# -- collections and versions --------------------------------------------------------------------------


def test_every_collection_is_kept_and_versions_follow_the_content(tmp_path: Path, lake: Path) -> None:
    """Aug 20 CSV (v1), Aug 21 the JSON of the same preview (same content, other format), Aug 25 a CSV
    with five weights moved (v2), Aug 28 the first CSV again (content back to v1: a new version, 3)."""
    v1, v1j, v2 = v1_csv(tmp_path), v1_json(tmp_path), v2_csv(tmp_path)
    steps = [
        (v1, ("--date", "2025-08-20")),
        (v1j, ("--period", "2025-09", "--date", "2025-08-21")),
        (v2, ("--date", "2025-08-25")),
        (v1, ("--date", "2025-08-28")),
    ]
    contents = []
    for path, extra in steps:
        code, [s], err = scrape(lake, "preview", "--from", str(path), *extra)
        assert code == 0, err
        contents.append(s["content_sha256"])
    assert contents[0] == contents[1] == contents[3] != contents[2]
    # the same bytes on the same day again: already stored
    code, [s], err = scrape(lake, "preview", "--from", str(v1), "--date", "2025-08-28")
    assert code == 0 and s["state"] == "unchanged", err
    got = rows(
        lake,
        "SELECT DISTINCT collected_on, collection, collections, latest, version, first_of_version, "
        "version_first_seen, version_last_seen, source_format FROM ibov_preview ORDER BY collection",
    )
    d = date
    assert got == [
        (d(2025, 8, 20), 1, 4, False, 1, True, d(2025, 8, 20), d(2025, 8, 21), "csv/pt-br"),
        (d(2025, 8, 21), 2, 4, False, 1, False, d(2025, 8, 20), d(2025, 8, 21), "json/pt-br"),
        (d(2025, 8, 25), 3, 4, False, 2, True, d(2025, 8, 25), d(2025, 8, 25), "csv/pt-br"),
        (d(2025, 8, 28), 4, 4, True, 3, True, d(2025, 8, 28), d(2025, 8, 28), "csv/pt-br"),
    ]
    # every raw row is a refined row: ibov verify agrees
    assert rows(lake, "SELECT count(*) FROM ibov_preview") == [(4 * 14,)]
    r = run_ibov("verify", "--json", "--lake", str(lake))
    assert r.code == 0, r.stderr
    [check] = [c for c in json.loads(r.stdout)["checks"] if c["dataset"] == "preview"]
    assert (check["raw_rows"], check["refined_rows"], check["catalog_rows"]) == (56, 56, 56)


# -- queries and chart ---------------------------------------------------------------------------------


@pytest.fixture
def compared(tmp_path: Path, lake: Path) -> Path:
    """IBOV's daily portfolio of 2025-05-05 and two collections of the Sep-Dec 2025 preview (v1, v2)."""
    portfolio = write(tmp_path, "IBOVDia_05-05-25.csv", b3fake.download_csv(b3fake.IBOV_2025_05_05))
    assert run_ibov("scrape", "--from", str(portfolio), "--lake", str(lake)).code == 0
    for path, day in ((v1_csv(tmp_path), "2025-08-20"), (v2_csv(tmp_path), "2025-08-25")):
        code, _out, err = scrape(lake, "preview", "--from", str(path), "--date", day)
        assert code == 0, err
    return lake


def query(lake: Path, *args: str) -> tuple[int, list[dict], str]:
    r = run_ibov("query", *args, "--json", "--lake", str(lake))
    return r.code, (json.loads(r.stdout, parse_float=Decimal) if r.stdout.strip() else []), r.stderr


def test_rebalance_preview_against_the_daily_portfolio(compared: Path) -> None:
    code, got, err = query(compared, "rebalance-preview", "--index", "IBOV")
    assert code == 0, err
    # by hand: the preview drops SUZB3 (2.812 on 2025-05-05) and adds PRIO3 (2.813); v2 (the latest
    # collection) moved VALE3 16.500 -> 15.200, ITUB4 14.750 -> 15.400, PETR4 12.500 -> 13.100,
    # WEGE3 5.625 -> 6.075 and BBDC4 6.500 -> 6.100; the other 8 staying names keep their weight
    head = [
        (r["ticker"], r["change"], r["current_weight_pct"], r["preview_weight_pct"], r["delta_weight_pct"])
        for r in got[:7]
    ]
    assert head == [
        ("PRIO3", "entering", None, D("2.813"), D("2.813")),
        ("SUZB3", "leaving", D("2.812"), None, D("-2.812")),
        ("VALE3", "staying", D("16.500"), D("15.200"), D("-1.300")),
        ("ITUB4", "staying", D("14.750"), D("15.400"), D("0.650")),
        ("PETR4", "staying", D("12.500"), D("13.100"), D("0.600")),
        ("WEGE3", "staying", D("5.625"), D("6.075"), D("0.450")),
        ("BBDC4", "staying", D("6.500"), D("6.100"), D("-0.400")),
    ]
    assert len(got) == 15 and all(Decimal(r["delta_weight_pct"]) == 0 for r in got[7:])
    first = got[0]
    assert (first["n_entering"], first["n_leaving"], first["n_staying"]) == (1, 1, 13)
    assert (first["period"], first["preview_collected_on"], first["portfolio_date"]) == (
        "2025-09..12",
        "2025-08-25",
        "2025-05-05",
    )


def test_rebalance_preview_says_why_it_is_empty(tmp_path: Path, compared: Path, lake: Path) -> None:
    code, _got, err = query(compared, "rebalance-preview", "--index", "IBOV", "--date", "2025-01-02")
    assert code == 8 and "no IBOV daily portfolio is stored on or before 2025-01-02" in err
    other = tmp_path / "other"
    other.mkdir()
    portfolio = write(tmp_path, "IBOVDia_05-05-25.csv", b3fake.download_csv(b3fake.IBOV_2025_05_05))
    assert run_ibov("scrape", "--from", str(portfolio), "--lake", str(other)).code == 0
    code, _got, err = query(other, "rebalance-preview", "--index", "IBOV")
    assert code == 8 and "no IBOV preview is stored" in err


def test_preview_history_one_row_per_version(compared: Path) -> None:
    code, got, err = query(compared, "preview-history", "--index", "IBOV", "--ticker", "VALE3")
    assert code == 0, err
    assert [
        (r["period"], r["version"], r["first_seen"], r["in_preview"], r["weight_pct"], r["delta_weight_pct"])
        for r in got
    ] == [
        ("2025-09..12", 1, "2025-08-20", True, D("16.500"), None),
        ("2025-09..12", 2, "2025-08-25", True, D("15.200"), D("-1.300")),
    ]
    code, _got, err = query(compared, "preview-history", "--index", "IBOV", "--ticker", "SUZB3")
    assert code == 8 and "SUZB3 is in none of the stored IBOV previews" in err


def test_the_rebalance_chart(tmp_path: Path, compared: Path) -> None:
    out = tmp_path / "rebalance.png"
    r = run_ibov(
        "chart", "rebalance", "--index", "IBOV", "--limit", "3", "--out", str(out), "--json",
        "--lake", str(compared),
    )  # fmt: skip
    assert r.code == 0, r.stderr
    # PRIO3 entering, SUZB3 leaving, then the 3 largest changes of the staying names
    assert json.loads(r.stdout)["points"] == 5
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_rebalance_chart_needs_a_preview(tmp_path: Path, lake: Path) -> None:
    portfolio = write(tmp_path, "IBOVDia_05-05-25.csv", b3fake.download_csv(b3fake.IBOV_2025_05_05))
    assert run_ibov("scrape", "--from", str(portfolio), "--lake", str(lake)).code == 0
    r = run_ibov("chart", "rebalance", "--out", str(tmp_path / "x.png"), "--lake", str(lake))
    assert r.code == 8 and "no IBOV preview is stored" in r.stderr
    assert not (tmp_path / "x.png").exists()


# -- fetching from a loopback B3, and the daily run ----------------------------------------------------


@pytest.fixture
def b3() -> b3fake.FakeB3Server:
    with b3fake.FakeB3Server() as server:
        yield server


def methods(server: b3fake.FakeB3Server) -> list[str]:
    return [path.split("/")[3] for path, _ in server.requests]


def test_fetch_preview_asks_first_and_stores_the_next_period(b3: b3fake.FakeB3Server, lake: Path) -> None:
    env = {"IBOV_B3_URL": b3.url}
    code, out, err = scrape(lake, "preview", "--index", "IBOV", env=env)
    assert code == 8 and out == []
    assert "no preview of IBOV's next period is current" in err
    assert methods(b3) == ["GetConfigurations"]  # the preview itself is never requested
    assert not (lake / "raw").exists()

    b3.previews["IBOV"] = fp.PREVIEW_IBOV_2025_09.portfolio
    code, [s], err = scrape(lake, "preview", "--index", "IBOV", env=env)
    assert code == 0, err
    assert methods(b3)[1:] == ["GetConfigurations", "GetQuartelyPreview"]
    today = periods.brasilia_today()
    assert s["collected_on"] == today.isoformat()
    assert s["period"] == Period.containing(today).next().label


def test_fetch_theoretical_stores_the_current_period(b3: b3fake.FakeB3Server, lake: Path) -> None:
    code, [s], err = scrape(lake, "theoretical", "--index", "IBOV", env={"IBOV_B3_URL": b3.url})
    assert code == 0, err
    assert s["period"] == Period.containing(periods.brasilia_today()).label
    assert s["rows"] == len(b3fake.IBOV_2025_04_30.rows)
    assert methods(b3) == ["GetTheoricalPortfolio"]


def run_steps(b3: b3fake.FakeB3Server, lake: Path) -> tuple[int, dict[str, dict], str]:
    r = run_ibov("run", "-i", "IBOV", "--json", "--lake", str(lake), env={"IBOV_B3_URL": b3.url})
    return r.code, {s["dataset"]: s for s in json.loads(r.stdout)}, r.stderr


def test_the_daily_run_stores_a_current_preview_and_skips_otherwise(
    b3: b3fake.FakeB3Server, lake: Path
) -> None:
    code, steps, err = run_steps(b3, lake)
    assert code == 0, err
    assert steps["portfolio"]["state"] == "stored"
    assert steps["preview"]["state"] == "skipped"
    assert "no preview of IBOV's next period is current" in steps["preview"]["note"]
    assert methods(b3).count("GetConfigurations") == 1 and "GetQuartelyPreview" not in methods(b3)
    r = run_ibov("run", "-i", "IBOV", "--lake", str(lake), env={"IBOV_B3_URL": b3.url})
    assert r.code == 0 and "preview of IBOV skipped: no preview" in r.stderr

    b3.previews["IBOV"] = fp.PREVIEW_IBOV_2025_09.portfolio
    code, steps, err = run_steps(b3, lake)
    assert code == 0, err
    assert steps["preview"]["state"] == "stored"
    assert steps["preview"]["refined"]["rows"] == 14
    assert rows(lake, "SELECT count(*) FROM ibov_preview") == [(14,)]


def test_a_failing_preview_step_never_fails_the_run(b3: b3fake.FakeB3Server, lake: Path) -> None:
    fp.mount(b3, has_preview={"IBOV": 1})  # B3 says a preview is current, then answers it empty
    code, steps, err = run_steps(b3, lake)
    assert code == 0, err
    assert steps["portfolio"]["state"] == "stored"
    assert steps["preview"]["state"] == "failed"
    assert steps["preview"]["exit_code"] == 5 and "no rows" in steps["preview"]["error"]


# -- status: the next rebalance ------------------------------------------------------------------------


def _report(*coverage: Coverage) -> StatusReport:
    return StatusReport(engine="local", location="x", coverage=coverage, runs=())


def test_next_rebalance_counts_trading_days() -> None:
    report = _report(
        Coverage("portfolio", "IBOV", "2025-08-01", "2025-08-20", 14, 14),
        Coverage("preview", "IBOV", "2025-09..12", "2025-09..12", 2, 2, (), "files"),
        Coverage("portfolio", "SMLL", "2025-08-01", "2025-08-20", 14, 14),
    )
    # from Wed 2025-08-20 the next period is Sep-Dec 2025, first Monday Sep 1 (a session); the trading
    # days after the 20th up to it: Aug 21, 22, 25, 26, 27, 28, 29 and Sep 1 = 8
    ibov, smll = report.rebalances(date(2025, 8, 20))
    assert ibov.as_json() == {
        "index": "IBOV",
        "next_period": "2025-09..12",
        "starts_on": "2025-09-01",
        "first_session": "2025-09-01",
        "trading_days_to_go": 8,
        "preview_stored": True,
    }
    assert (smll.index, smll.preview_stored) == ("SMLL", False)
    # from Wed 2023-12-20: Jan-Apr 2024 starts on Mon Jan 1 (a holiday), so its first session is Tue
    # Jan 2; sessions to go: Dec 21, 22, 26, 27, 28 (25 Christmas, 29 the year's last business day
    # is closed) and Jan 2 = 6
    [r] = _report(Coverage("portfolio", "IBOV", "2023-12-01", "2023-12-20", 14, 14)).rebalances(
        date(2023, 12, 20)
    )
    assert (r.period.label, r.first_session, r.trading_days_to_go) == ("2024-01..04", date(2024, 1, 2), 6)


def test_status_shows_the_next_rebalance(tmp_path: Path, lake: Path) -> None:
    nxt = Period.containing(periods.brasilia_today()).next()
    code, _out, err = scrape(
        lake, "preview", "--from", str(v1_json(tmp_path)), "--period", nxt.month, "--date", "2025-08-20"
    )
    assert code == 0, err
    r = run_ibov("status", "--json", "--lake", str(lake))
    assert r.code == 0, r.stderr
    [reb] = json.loads(r.stdout)["rebalances"]
    assert (reb["index"], reb["next_period"], reb["preview_stored"]) == ("IBOV", nxt.label, True)
    r = run_ibov("status", "--lake", str(lake))
    assert "next rebalance" in r.stderr + r.stdout and nxt.label in r.stdout
