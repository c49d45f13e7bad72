"""The compact serving copy on Spark (glue_scripts/refine_job.py): the Glue job's month rebuild gives the
same files, rows, order and schema as the local engine's DuckDB rebuild of the same raw input, a rerun
changes nothing, and the catalog (moto) holds the table as declared with one partition per month and
index."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from ibovcli import datasets, schema
from tests.aws_helpers import _moto_server_session as _moto_server_session
from tests.aws_helpers import client, moto_server  # noqa: F401 - fixture
from tests.test_glue_job import (  # noqa: F401 - fixtures
    FakeGlue,
    comparable_schema,
    duckdb_lake,
    job,
    local_listing,
    raw_lake,
)

pytestmark = pytest.mark.spark

COMPACT = datasets.COMPACT
BUCKET = "ibov-data"


def compact_parts(root: Path) -> dict[str, list[Path]]:
    """``{"month=M/index_code=I": [files]}`` under the lake's (or bucket's) compact prefix."""
    base = root / COMPACT.prefix
    return {
        str(d.relative_to(base)): sorted(f for f in d.iterdir() if f.is_file() and not f.name.startswith("."))
        for d in sorted(base.glob("month=*/index_code=*"))
    }


def run_job(spark: Any, s3_root: Path, monkeypatch: pytest.MonkeyPatch, *days: str) -> FakeGlue:
    glue = FakeGlue(spark)
    for name, module in glue.modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(job, "s3_uri", lambda b, key: f"file://{s3_root}/{b}/{key}")
    monkeypatch.setattr(job, "raw_listing", lambda b, unit: local_listing(s3_root / b, unit))
    monkeypatch.setattr(
        job,
        "compact_listing",
        lambda b, month: sorted(
            str(p.relative_to(s3_root / b))
            for p in (s3_root / b / COMPACT.month_prefix(month)).rglob("*.parquet")
        ),
    )
    for day in days:
        job.glue_main(["refine_job.py", "--JOB_NAME", "ibov-refine", "--bucket", BUCKET, "--dt", day])
    return glue


def test_the_glue_job_builds_the_same_compact_files_as_duckdb_and_catalogs_them(
    spark: Any,
    raw_lake: Path,  # noqa: F811
    duckdb_lake: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    moto_server: str,  # noqa: F811
) -> None:
    s3_root = tmp_path / "s3"
    shutil.copytree(raw_lake / "raw", s3_root / BUCKET / "raw")
    glue_client = client("glue")
    glue_client.create_database(DatabaseInput={"Name": schema.CATALOG_DATABASE})
    assert job.compact_table_input(BUCKET)["StorageDescriptor"]["Location"] == "s3://ibov-data/compact/"
    # (below, the test's s3_uri maps the bucket to a local folder)
    run_job(spark, s3_root, monkeypatch, "2025-04-30", "2025-05-05")

    spark_parts, duck_parts = compact_parts(s3_root / BUCKET), compact_parts(duckdb_lake)
    assert (
        list(spark_parts)
        == list(duck_parts)
        == [
            "month=2025-04/index_code=IBOV",
            "month=2025-04/index_code=IBXX",
            "month=2025-05/index_code=IBOV",
        ]
    )
    declared: Any = schema.arrow_schema(COMPACT.data_columns)
    for part, files in spark_parts.items():
        assert len(files) == 1 and files[0].suffix == ".parquet", f"{part}: {files}"
        duck = duck_parts[part][0]
        assert comparable_schema(files[0]) == comparable_schema(duck) == [(f.name, f.type) for f in declared]
        # the same rows in the same order: sorted by day and ticker
        assert pq.read_table(files[0]).to_pylist() == pq.read_table(duck).to_pylist()

    # the catalog: the table as declared, one partition per month and index
    table = glue_client.get_table(DatabaseName="default", Name=COMPACT.table)["Table"]
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
        (c.name, c.type) for c in COMPACT.data_columns
    ]
    assert [(c["Name"], c["Type"]) for c in table["PartitionKeys"]] == [
        ("month", "string"),
        ("index_code", "string"),
    ]
    assert table["StorageDescriptor"]["Location"] == f"file://{s3_root}/{BUCKET}/compact/"
    partitions = glue_client.get_partitions(DatabaseName="default", TableName=COMPACT.table)["Partitions"]
    assert sorted((p["Values"], p["StorageDescriptor"]["Location"]) for p in partitions) == [
        (["2025-04", "IBOV"], f"file://{s3_root}/{BUCKET}/compact/month=2025-04/index_code=IBOV/"),
        (["2025-04", "IBXX"], f"file://{s3_root}/{BUCKET}/compact/month=2025-04/index_code=IBXX/"),
        (["2025-05", "IBOV"], f"file://{s3_root}/{BUCKET}/compact/month=2025-05/index_code=IBOV/"),
    ]

    # a rerun of a day of April replaces the month with the same rows (the other month untouched)
    may = {p: [f.stat().st_ino for f in fs] for p, fs in compact_parts(s3_root / BUCKET).items() if "05" in p}
    april = {p: pq.read_table(fs[0]).to_pylist() for p, fs in compact_parts(s3_root / BUCKET).items()}
    glue = run_job(spark, s3_root, monkeypatch, "2025-04-30")
    assert (
        "purge",
        (f"file://{s3_root}/{BUCKET}/compact/month=2025-04/", {"retentionPeriod": 0}),
    ) in glue.calls
    again = compact_parts(s3_root / BUCKET)
    assert {p: pq.read_table(fs[0]).to_pylist() for p, fs in again.items()} == april
    assert {p: [f.stat().st_ino for f in fs] for p, fs in again.items() if "05" in p} == may
    assert len(glue_client.get_partitions(DatabaseName="default", TableName=COMPACT.table)["Partitions"]) == 3
