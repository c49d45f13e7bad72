"""`ibov rm`: an index's day (or levels year) removed everywhere after a confirmation; other indices stay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_ibov
from tests.lakes import lake_bytes

IBOV1 = FIXTURES / "b3" / "IBOVDia_30-04-25_crlf.csv"  # IBOV 2025-04-30, 14 rows
IBOV2 = FIXTURES / "b3" / "IBOVDia_05-05-25_lf.csv"  # IBOV 2025-05-05, 14 rows
IBXX1 = FIXTURES / "b3" / "IBXXDia_30-04-25.csv"  # IBXX 2025-04-30, 8 rows


@pytest.fixture
def stored(lake: Path) -> Path:
    r = run_ibov(
        "scrape", *[a for f in (IBOV1, IBOV2, IBXX1) for a in ("--from", str(f))], "--lake", str(lake)
    )
    assert r.code == 0, r.stderr
    return lake


def counts(lake: Path) -> list[list[object]]:
    r = run_ibov(
        "sql",
        "SELECT dt, index_code, count(*) AS n FROM ibov_refined GROUP BY ALL ORDER BY ALL",
        "--lake",
        str(lake),
        "--json",
    )
    return [list(row.values()) for row in json.loads(r.stdout)]


def test_without_a_terminal_it_asks_for_yes_and_changes_nothing(stored: Path) -> None:
    before = lake_bytes(stored)
    r = run_ibov("rm", "-i", "IBOV", "--date", "2025-04-30", "--lake", str(stored))
    assert r.code == 2 and "confirm with --yes" in r.stderr and "2 files (14 rows)" in r.stderr
    assert lake_bytes(stored) == before


def test_one_index_goes_and_the_other_of_its_day_stays(stored: Path) -> None:
    r = run_ibov("rm", "-i", "IBOV", "--date", "2025-04-30", "--yes", "--json", "--lake", str(stored))
    assert r.code == 0, r.stderr
    done = json.loads(r.stdout)
    assert done["removed"] == ["snapshots/dt=2025-04-30/IBOV.csv", "raw/dt=2025-04-30/IBOV.parquet"]
    assert (done["rows"], [u["unit"] for u in done["refined"]], done["cleared"]) == (
        14,
        ["dt=2025-04-30"],
        [],
    )
    assert counts(stored) == [["2025-04-30", "IBXX", 8], ["2025-05-05", "IBOV", 14]]
    assert not (stored / "raw" / "dt=2025-04-30" / "IBOV.parquet").exists()
    assert run_ibov("verify", "--lake", str(stored)).code == 0
    # the last index of the day: the day goes from refined/ and the catalog, with its empty folders
    r = run_ibov("rm", "-i", "IBXX", "--date", "2025-04-30", "--yes", "--json", "--lake", str(stored))
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["cleared"] == [{"dataset": "portfolio", "unit": "dt=2025-04-30"}]
    assert counts(stored) == [["2025-05-05", "IBOV", 14]]
    for zone in ("raw", "snapshots", "refined"):
        assert not (stored / zone / "dt=2025-04-30").exists(), zone
    assert run_ibov("verify", "--lake", str(stored)).code == 0
    status = json.loads(run_ibov("status", "--json", "--lake", str(stored)).stdout)
    assert [
        (c["index"], c["first"], c["stored"]) for c in status["coverage"] if c["dataset"] == "portfolio"
    ] == [("IBOV", "2025-05-05", 1)]


def test_levels_go_by_year(lake: Path) -> None:
    from tests import fake_levels

    year = fake_levels.make_year("IBOV", 2022)
    saved = lake.parent / "levels-2022.json"
    saved.write_bytes(fake_levels.render(year))
    args = [
        "scrape",
        "levels",
        "--from",
        str(saved),
        "--index",
        "IBOV",
        "--year",
        "2022",
        "--lake",
        str(lake),
    ]
    assert run_ibov(*args).code == 0
    r = run_ibov("rm", "levels", "-i", "IBOV", "--year", "2022", "--yes", "--lake", str(lake))
    assert r.code == 0, r.stderr
    r = run_ibov("sql", "SELECT count(*) AS n FROM ibov_levels", "--lake", str(lake), "--json")
    assert json.loads(r.stdout) == [{"n": 0}]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--date", "2025-04-30", "--yes"], 2, "--index"),
        (["-i", "IBOVV", "--date", "2025-04-30", "--yes"], 2, "Did you mean IBOV"),
        (["-i", "IBOV", "--yes"], 2, "give --date"),
        (["-i", "IBOV", "--year", "2025", "--yes"], 2, "give --date"),
        (["levels", "-i", "IBOV", "--date", "2025-04-30", "--yes"], 2, "give --year"),
        (["-i", "IBOV", "--date", "30/04/2025", "--yes"], 2, "YYYY-MM-DD"),
        (["nope", "-i", "IBOV", "--date", "2025-04-30", "--yes"], 2, "no dataset named"),
        (["-i", "IBOV", "--date", "2025-05-02", "--yes"], 8, "nothing of IBOV is stored there"),
        (["-i", "SMLL", "--date", "2025-04-30", "--yes"], 8, "nothing of SMLL"),
    ],
)
def test_bad_requests_change_nothing(stored: Path, args: list[str], code: int, message: str) -> None:
    before = lake_bytes(stored)
    r = run_ibov("rm", *args, "--lake", str(stored))
    assert r.code == code, r.stderr
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert lake_bytes(stored) == before
