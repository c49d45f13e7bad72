"""Spark parity for the theoretical and preview datasets: the Glue job (PySpark, local mode) and the
local engine (DuckDB) run ``refine_period.sql`` on the same raw files and must write the same partition
folders, the same schemas, the same rows and the same catalog rows; the Glue entry point purges the
index's refined folder and writes through the catalog sink of the dataset's table."""

from __future__ import annotations

import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ibovcli import periods, previews, rawfiles
from ibovcli.datasets import PREVIEW, THEORETICAL, Unit
from ibovcli.engines.local import LocalLake
from tests import b3fake, lakes
from tests import fake_previews as fp
from tests.test_glue_job import FakeGlue, assert_same_as_duckdb, job, local_listing

pytestmark = pytest.mark.spark

IBOV_PREVIEW = PREVIEW.unit("IBOV")
IBOV_THEORETICAL = THEORETICAL.unit("IBOV")


def _write(kind: str, data: bytes, day: date, period: periods.Period | None = None) -> rawfiles.RawWrite:
    p = previews.parse_period_portfolio(data, kind=kind, index="IBOV", period=period)  # type: ignore[arg-type]
    return rawfiles.period(previews.validate(p), day)


@pytest.fixture(scope="module")
def raw_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Raw files only: three preview collections of Sep-Dec 2025 (CSV v1, JSON v1, CSV v2) and the
    theoretical portfolios of Jan-Apr and May-Aug 2025, written as `ibov scrape` writes them."""
    root = tmp_path_factory.mktemp("raw-previews") / "lake"
    sep = periods.Period(2025, 9)
    writes = [
        _write("preview", fp.period_csv(fp.PREVIEW_IBOV_2025_09), date(2025, 8, 20)),
        _write(
            "preview", b3fake.to_json_bytes(fp.period_json(fp.PREVIEW_IBOV_2025_09)), date(2025, 8, 21), sep
        ),
        _write("preview", fp.period_csv(fp.PREVIEW_IBOV_2025_09_V2), date(2025, 8, 25)),
        _write("theoretical", fp.period_csv(fp.THEORETICAL_IBOV_2025_01), date(2025, 2, 3)),
        _write("theoretical", fp.period_csv(fp.THEORETICAL_IBOV_2025_05), date(2025, 5, 6)),
    ]
    engine = lakes.engine(root)
    try:
        with engine.lock():
            engine.write_raw(writes)
    finally:
        engine.close()
    assert not (root / "refined_preview").exists()
    return root


@pytest.fixture(scope="module")
def duckdb_lake(raw_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("duck-previews") / "lake"
    shutil.copytree(raw_lake, root)
    lake = LocalLake(root)
    with lake.lock():
        assert lake.refine(IBOV_PREVIEW).rows == 3 * 14
        assert lake.refine(IBOV_THEORETICAL).rows == 2 * 14
    lake.close()
    return root


@pytest.mark.parametrize("unit", [IBOV_PREVIEW, IBOV_THEORETICAL], ids=str)
def test_period_datasets_on_spark_match_duckdb(
    spark: Any, raw_lake: Path, duckdb_lake: Path, tmp_path: Path, unit: Unit
) -> None:
    root = tmp_path / "spark-lake"
    shutil.copytree(raw_lake, root)
    summary = job.run_local(spark, root, unit)
    assert summary.rows == (3 if unit == IBOV_PREVIEW else 2) * 14
    assert_same_as_duckdb(root, duckdb_lake, unit)
    table = unit.spec.table
    sql = f'SELECT * FROM "{table}" ORDER BY period, collection, ticker'  # nosec B608
    assert lakes.rows(root, sql) == lakes.rows(duckdb_lake, sql)
    if unit == IBOV_PREVIEW:
        versions = lakes.rows(
            root,
            f'SELECT DISTINCT collection, version, latest FROM "{table}" ORDER BY 1',  # nosec B608
        )
        assert versions == [(1, 1, False), (2, 1, False), (3, 2, True)]


def test_glue_entry_point_purges_the_index_and_writes_the_preview_table(
    spark: Any, raw_lake: Path, duckdb_lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = "ibov-data"
    s3_root = tmp_path / "s3"
    shutil.copytree(raw_lake / "raw", s3_root / bucket / "raw")
    glue = FakeGlue(spark)
    for name, module in glue.modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(job, "s3_uri", lambda b, key: f"file://{s3_root}/{b}/{key}")
    monkeypatch.setattr(job, "raw_listing", lambda b, unit: local_listing(s3_root / b, unit))
    argv = ["refine_job.py", "--JOB_NAME", "ibov-refine", "--bucket", bucket]
    job.glue_main([*argv, "--dataset", "preview", "--unit", "IBOV"])
    calls = dict(glue.calls)
    assert calls["purge"] == (
        f"file://{s3_root / bucket}/refined_preview/index_code=IBOV/",
        {"retentionPeriod": 0},
    )
    assert calls["getSink"]["path"] == f"file://{s3_root / bucket}/refined_preview/"
    assert calls["getSink"]["partitionKeys"] == ["index_code", "period"]
    assert calls["setCatalogInfo"] == ("default", "ibov_preview")
    assert_same_as_duckdb(s3_root / bucket, duckdb_lake, IBOV_PREVIEW)
