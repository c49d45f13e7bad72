"""The quotes refine on Spark (the Glue job's local mode) is the DuckDB refine, file for file and row for
row, on B3's real daily files when present and on files made in B3's layout."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from ibovcli.datasets import QUOTES
from ibovcli.engines.local import LocalLake
from tests import fake_cotahist as fake
from tests import lakes
from tests.test_glue_job import assert_same_as_duckdb, job
from tests.test_quotes_pipeline import DAILY_2024

pytestmark = pytest.mark.spark

DAYS = [date(2023, 1, 2), date(2023, 1, 3)]


@pytest.fixture(scope="module")
def raw_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ibovcli import quotes

    root = tmp_path_factory.mktemp("qraw") / "lake"
    files = tmp_path_factory.mktemp("qfiles")
    quotes_text = [q for d in DAYS for q in fake.market_day(d, seed=d.day, mix=fake.small_mix(0.1))]
    annual = files / "COTAHIST_A2023.ZIP"
    annual.write_bytes(fake.zipped(fake.render(quotes_text, year=2023), "COTAHIST_A2023.TXT"))
    writes = quotes.read_writes(annual, max_daily_bytes=1 << 24)
    if DAILY_2024.is_file():
        writes += quotes.read_writes(DAILY_2024, max_daily_bytes=1 << 24)
    eng = lakes.engine(root)
    try:
        with eng.lock():
            eng.write_raw(writes)
    finally:
        eng.close()
    return root


@pytest.fixture(scope="module")
def duckdb_lake(raw_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("qduck") / "lake"
    shutil.copytree(raw_lake, root)
    lake = LocalLake(root)
    with lake.lock():
        for unit in units(root):
            assert lake.refine(unit).rows > 0
    lake.close()
    return root


def units(root: Path) -> list:  # type: ignore[type-arg]
    return sorted(
        {QUOTES.unit(p.name.split("=", 1)[1]) for p in (root / QUOTES.raw_prefix).iterdir()}, key=str
    )


def test_quotes_on_spark_match_duckdb(
    spark: object, raw_lake: Path, duckdb_lake: Path, tmp_path: Path
) -> None:
    root = tmp_path / "spark-lake"
    shutil.copytree(raw_lake, root)
    found = units(root)
    assert len(found) == len(DAYS) + (1 if DAILY_2024.is_file() else 0)
    for unit in found:
        summary = job.run_local(spark, root, unit)
        assert summary.rows > 0 and summary.indices == ()
        assert_same_as_duckdb(root, duckdb_lake, unit)
    sql = "SELECT * FROM ibov_quotes ORDER BY session_date, ticker"
    assert lakes.rows(root, sql) == lakes.rows(duckdb_lake, sql)
