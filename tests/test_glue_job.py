"""The Glue refine job (glue_scripts/refine_job.py) on local Spark: parity with DuckDB, idempotency, CLI.

The reference is the local engine's DuckDB refine (``LocalLake.refine``) run on the same raw files,
written from the project's B3 fixtures: IBOV and IBXX on 2025-04-30 (two indices sharing tickers on one
day), IBOV on 2025-05-05, and two years of IBOV's official levels (synthetic, tests/fake_levels.py).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import types
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ibovcli import b3, datasets, layout, levels, quality, rawfiles, schema
from ibovcli.datasets import LEVELS, PORTFOLIO, Unit
from ibovcli.engines.local import LocalLake
from ibovcli.errors import JobFailed
from tests import fake_levels, lakes

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "glue_scripts" / "refine_job.py"
FIXTURES = ROOT / "tests" / "fixtures" / "b3"
DAY1, DAY2 = date(2025, 4, 30), date(2025, 5, 5)
UNIT1, UNIT2 = PORTFOLIO.unit("2025-04-30"), PORTFOLIO.unit("2025-05-05")
IBOV_LEVELS = LEVELS.unit("IBOV")
SNAPSHOTS = {
    "ibov_2025-04-30_ptbr_seg2.json": "IBOV",  # IBOV, with sectors
    "IBXXDia_30-04-25.csv": None,  # IBXX, same day, no sectors, tickers shared with IBOV
    "ibov_2025-05-05_ptbr_seg2.json": "IBOV",  # the next period's first day
}


def load_job() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("refine_job", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


job = load_job()


@pytest.fixture(scope="module")
def raw_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake holding only raw files (and their snapshots), written the way `ibov scrape` writes them."""
    root = tmp_path_factory.mktemp("raw") / "lake"
    writes = [
        rawfiles.portfolio(quality.validate(b3.parse_snapshot((FIXTURES / name).read_bytes(), index=index)))
        for name, index in SNAPSHOTS.items()
    ]
    for year in (2023, 2024):
        fake = fake_levels.make_year("IBOV", year)
        parsed = levels.parse_levels(
            fake_levels.render(fake), index="IBOV", year=year, today=date(2025, 1, 2)
        )
        writes.append(rawfiles.levels(parsed))
    engine = lakes.engine(root)
    try:
        with engine.lock():
            engine.write_raw(writes)  # raw files only: nothing is refined
    finally:
        engine.close()
    assert [f.path.name for f in LocalLake(root).raw_files(UNIT1)] == ["IBOV.parquet", "IBXX.parquet"]
    assert not (root / "refined").exists()
    return root


@pytest.fixture(scope="module")
def duckdb_lake(raw_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference: the same raw lake refined by the local engine (DuckDB), both days."""
    root = tmp_path_factory.mktemp("duck") / "lake"
    shutil.copytree(raw_lake, root)
    lake = LocalLake(root)
    with lake.lock():
        for unit in (UNIT1, UNIT2, IBOV_LEVELS):
            assert lake.refine(unit).rows > 0
    lake.close()
    return root


@pytest.fixture
def spark_lake(raw_lake: Path, tmp_path: Path) -> Path:
    root = tmp_path / "spark-lake"
    shutil.copytree(raw_lake, root)
    return root


# ---------------------------------------------------------------------------------------------- helpers


def refined_files(root: Path, unit: Unit) -> dict[str, list[Path]]:
    """``{"dt=D/ticker=T": [files]}`` (the unit's partition folders, relative to the dataset's prefix)."""
    dataset = unit.spec
    base = root / dataset.refined_prefix
    folder = base / unit.folder
    depth = len(dataset.partitions) - 1
    parts = [folder] if depth == 0 else sorted(folder.glob("/".join(["*"] * depth)))
    return {
        str(d.relative_to(base)): sorted(f for f in d.iterdir() if f.is_file()) for d in parts if d.is_dir()
    }


def refined_rows(root: Path, unit: Unit) -> list[tuple[Any, ...]]:
    """Every refined row of the unit, data columns then the partition values from the folder names."""
    rows = []
    for part, files in refined_files(root, unit).items():
        values = [p.split("=", 1)[1] for p in part.split("/")]
        for f in files:
            for row in pq.ParquetFile(f).read().to_pylist():
                rows.append((*row.values(), *values))
    return sorted(rows, key=repr)


def comparable_schema(path: Path) -> list[tuple[str, pa.DataType]]:
    """A file's columns as (name, arrow type).

    Normalised away, because each is provably the same table to every reader:
    * key/value metadata: Spark stores its own row schema and version there, DuckDB stores nothing;
      no reader of the refined zone (Athena, DuckDB, pyarrow) takes types from it;
    * the nullable flag: DuckDB marks every column optional; Spark marks a column required when its
      plan proves it never null (COUNT/ROW_NUMBER results). The values are compared separately, and
      :func:`check_required_columns` makes sure Spark is never stricter than ``schema.REFINED``.
    Physical encodings (decimal(20,8) as 9- vs 16-byte FIXED_LEN_BYTE_ARRAY, INT64 with or without the
    signed-int annotation) do not show here at all: pyarrow decodes them to the same logical type.
    """
    return [(f.name, f.type) for f in pq.read_schema(path)]


def check_required_columns(dataset: datasets.Dataset, path: Path) -> None:
    contract = {c.name: c.nullable for c in dataset.refined_columns}
    for f in pq.read_schema(path):
        if not f.nullable:
            assert contract[f.name] is False, f"{f.name} is required in {path} but nullable in the schema"


def expected_schema(dataset: datasets.Dataset) -> list[tuple[str, pa.DataType]]:
    arrow: Any = schema.arrow_schema(dataset.refined_columns)
    return [(f.name, f.type) for f in arrow]


def fingerprint(root: Path, unit: Unit) -> dict[str, tuple[str, int]]:
    """Content hash and inode of every file of a refined unit (to prove it was not rewritten)."""
    base = root / unit.spec.refined_unit_prefix(unit)
    return {
        str(f.relative_to(base)): (hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_ino)
        for f in sorted(base.rglob("*"))
        if f.is_file()
    }


def assert_same_as_duckdb(spark_root: Path, duck_root: Path, unit: Unit) -> None:
    spark_parts, duck_parts = refined_files(spark_root, unit), refined_files(duck_root, unit)
    assert spark_parts and list(spark_parts) == list(duck_parts)  # same partition paths
    dataset = unit.spec
    for part, files in spark_parts.items():
        assert len(files) == 1 and files[0].suffix == ".parquet", f"{part}: {files}"  # one file, no .crc
        assert (
            comparable_schema(files[0]) == comparable_schema(duck_parts[part][0]) == expected_schema(dataset)
        )
        check_required_columns(dataset, files[0])
    assert refined_rows(spark_root, unit) == refined_rows(duck_root, unit)


# ---------------------------------------------------------------------------------------------- tests


def test_refine_unit_returns_the_refined_schema(spark: Any, raw_lake: Path) -> None:
    files = [str(f.path) for f in LocalLake(raw_lake).raw_files(UNIT1)]
    df = job.refine_unit(spark, PORTFOLIO, job.read_raw(spark, files))
    assert [(f.name, f.dataType.simpleString()) for f in df.schema.fields] == [
        (c.name, c.type) for c in PORTFOLIO.columns
    ]
    summary = job.summarize(df, UNIT1)
    assert (summary.rows, summary.indices) == (14 + 8, ("IBOV", "IBXX"))
    # the three renames of R5-B exist, the raw names do not
    assert {"company", "weight_pct", "theoretical_qty"} <= set(df.columns)
    assert not {"asset", "part", "theoricalQty"} & set(df.columns)


def test_local_run_matches_duckdb(spark: Any, spark_lake: Path, duckdb_lake: Path) -> None:
    for unit in (UNIT1, UNIT2):
        summary = job.run_local(spark, spark_lake, unit)
        assert summary.location == str(spark_lake / PORTFOLIO.refined_unit_prefix(unit))
        assert_same_as_duckdb(spark_lake, duckdb_lake, unit)
    assert summary.rows == 14 and summary.indices == ("IBOV",)
    # 2025-04-30 has both indices; PETR4 is in both, so its partition holds two rows
    petr4 = [r for r in refined_rows(spark_lake, UNIT1) if r[-1] == "PETR4"]
    assert sorted(r[0] for r in petr4) == ["IBOV", "IBXX"]
    # nothing but the day folders under refined/ (no staging, no _SUCCESS, no checksums)
    assert sorted(p.name for p in (spark_lake / "refined").iterdir()) == ["dt=2025-04-30", "dt=2025-05-05"]
    # the local catalog got the same rows as the DuckDB run's
    sql = 'SELECT * FROM "ibov_refined" ORDER BY dt, index_code, ticker'
    assert lakes.rows(spark_lake, sql) == lakes.rows(duckdb_lake, sql)


def test_levels_on_spark_match_duckdb(spark: Any, spark_lake: Path, duckdb_lake: Path) -> None:
    summary = job.run_local(spark, spark_lake, IBOV_LEVELS)
    assert summary.indices == ("IBOV",)
    assert summary.rows == len(fake_levels.make_year("IBOV", 2023).sessions) + len(
        fake_levels.make_year("IBOV", 2024).sessions
    )
    assert sorted(refined_files(spark_lake, IBOV_LEVELS)) == [
        "index_code=IBOV/year=2023",
        "index_code=IBOV/year=2024",
    ]
    assert_same_as_duckdb(spark_lake, duckdb_lake, IBOV_LEVELS)
    sql = "SELECT * FROM ibov_levels ORDER BY session_date"
    assert lakes.rows(spark_lake, sql) == lakes.rows(duckdb_lake, sql)
    first_2024 = lakes.rows(
        spark_lake,
        "SELECT previous_session_date, year_base_level, ytd_change_pct, change_pct FROM ibov_levels "
        "WHERE year = 2024 ORDER BY session_date LIMIT 1",
    )
    [(previous, base, ytd, change)] = first_2024
    assert previous == date(2023, 12, 28) and ytd == change  # the first session's YTD is its daily change
    assert base == fake_levels.make_year("IBOV", 2023).sessions[-1][1]


def test_rerun_replaces_only_that_unit(spark: Any, spark_lake: Path, duckdb_lake: Path) -> None:
    job.run_local(spark, spark_lake, UNIT1)
    job.run_local(spark, spark_lake, UNIT2)
    day2_before = fingerprint(spark_lake, UNIT2)
    rows_before = refined_rows(spark_lake, UNIT1)

    job.run_local(spark, spark_lake, UNIT1)  # the same day again
    assert refined_rows(spark_lake, UNIT1) == rows_before  # no duplicated rows
    assert_same_as_duckdb(spark_lake, duckdb_lake, UNIT1)
    assert fingerprint(spark_lake, UNIT2) == day2_before  # the other day: same bytes, same inodes

    # a ticker that leaves the day's raw data leaves the refined day too (no stale partition)
    (spark_lake / layout.raw_key("IBXX", DAY1)).unlink()
    job.run_local(spark, spark_lake, UNIT1)
    parts = refined_files(spark_lake, UNIT1)
    assert "dt=2025-04-30/ticker=RENT3" not in parts  # RENT3 is in IBXX only
    assert {r[0] for r in refined_rows(spark_lake, UNIT1)} == {"IBOV"}
    assert len(parts) == 14
    assert fingerprint(spark_lake, UNIT2) == day2_before


def test_rows_of_another_day_are_refused_before_anything_changes(spark: Any, spark_lake: Path) -> None:
    job.run_local(spark, spark_lake, UNIT1)
    before = fingerprint(spark_lake, UNIT1)
    # a raw file filed under the wrong day: its rows say 2025-05-05
    shutil.copy(
        spark_lake / layout.raw_key("IBOV", DAY2), spark_lake / layout.raw_day_prefix(DAY1) / "SMLL.parquet"
    )
    with pytest.raises(JobFailed, match="hold rows for dt=2025-04-30, 2025-05-05"):
        job.run_local(spark, spark_lake, UNIT1)
    assert fingerprint(spark_lake, UNIT1) == before
    assert not list((spark_lake / "refined").glob(".staging-*"))


def test_no_raw_files_is_an_error(spark: Any, spark_lake: Path) -> None:
    with pytest.raises(JobFailed, match="no raw files for portfolio dt=2025-05-06"):
        job.run_local(spark, spark_lake, PORTFOLIO.unit("2025-05-06"))


# ---------------------------------------------------------------------------------------------- Glue mode


class FakeGlue:
    """Just enough of ``awsglue`` to drive :func:`glue_main` on local Spark.

    It records what the job asks of Glue and behaves like the Glue S3 sink where it matters here: the
    sink *appends* (so only the job's purge makes a rerun idempotent), partitions by ``partitionKeys``
    and leaves no checksum or marker files. The test maps ``s3://BUCKET/`` to a local folder.
    """

    def __init__(self, spark: Any) -> None:
        self.spark = spark
        self.calls: list[tuple[str, Any]] = []

    @staticmethod
    def local(uri: str) -> Path:
        assert uri.startswith("file:///"), uri
        return Path(uri.removeprefix("file://"))

    def modules(self) -> dict[str, types.ModuleType]:
        fake = self

        class GlueContext:
            def __init__(self, sc: Any) -> None:
                self.spark_session = fake.spark

            def purge_s3_path(self, path: str, options: dict[str, Any]) -> None:
                fake.calls.append(("purge", (path, dict(options))))
                assert options.get("retentionPeriod") == 0
                shutil.rmtree(fake.local(path), ignore_errors=True)

            def getSink(self, **kwargs: Any) -> Sink:
                fake.calls.append(("getSink", kwargs))
                return Sink(kwargs)

        class Sink:
            def __init__(self, options: dict[str, Any]) -> None:
                self.options = options

            def setFormat(self, fmt: str, **options: Any) -> None:
                fake.calls.append(("setFormat", (fmt, options)))

            def setCatalogInfo(self, *, catalogDatabase: str, catalogTableName: str) -> None:
                fake.calls.append(("setCatalogInfo", (catalogDatabase, catalogTableName)))

            def writeFrame(self, frame: DynamicFrame) -> None:
                fake.calls.append(("writeFrame", frame.name))
                target = fake.local(self.options["path"])
                frame.df.write.mode("append").partitionBy(*self.options["partitionKeys"]).parquet(
                    f"file://{target}"
                )
                for junk in [*target.rglob(".*.crc"), *target.rglob("_SUCCESS")]:  # S3 has neither
                    junk.unlink()

        class DynamicFrame:
            def __init__(self, df: Any, name: str) -> None:
                self.df, self.name = df, name

            @classmethod
            def fromDF(cls, df: Any, ctx: Any, name: str) -> DynamicFrame:
                return cls(df, name)

        class Job:
            def __init__(self, ctx: Any) -> None:
                pass

            def init(self, name: str, args: dict[str, Any]) -> None:
                fake.calls.append(("init", (name, dict(args))))

            def commit(self) -> None:
                fake.calls.append(("commit", None))

        def getResolvedOptions(argv: list[str], names: list[str]) -> dict[str, str]:
            import argparse

            parser = argparse.ArgumentParser()
            for name in names:
                parser.add_argument(f"--{name}", required=True)
            parsed, _ = parser.parse_known_args(argv[1:])
            return vars(parsed)

        mods = {
            name: types.ModuleType(name) for name in ("awsglue", "awsglue.context", "awsglue.dynamicframe")
        }
        mods.update({name: types.ModuleType(name) for name in ("awsglue.job", "awsglue.utils")})
        mods["awsglue.context"].GlueContext = GlueContext  # type: ignore[attr-defined]
        mods["awsglue.dynamicframe"].DynamicFrame = DynamicFrame  # type: ignore[attr-defined]
        mods["awsglue.job"].Job = Job  # type: ignore[attr-defined]
        mods["awsglue.utils"].getResolvedOptions = getResolvedOptions  # type: ignore[attr-defined]
        return mods


def fake_compact_catalog(s3_root: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    """The compact copy's S3 listing from the folder standing in for the bucket, and its catalog
    updates recorded (tests/test_compact_glue.py checks them against moto)."""
    cataloged: list[tuple[str, list[str]]] = []

    def listing(bucket: str, month: str) -> list[str]:
        folder = s3_root / bucket / datasets.COMPACT.month_prefix(month)
        return sorted(str(p.relative_to(s3_root / bucket)) for p in folder.rglob("*.parquet"))

    monkeypatch.setattr(job, "compact_listing", listing)
    monkeypatch.setattr(
        job, "catalog_month", lambda _c, _db, _b, month, indices: cataloged.append((month, list(indices)))
    )
    return cataloged


def local_listing(root: Path, unit: Unit) -> list[tuple[str, str]]:
    """What ``raw_listing`` returns, for a folder standing in for the bucket (mtime as the ETag)."""
    prefix = unit.spec.raw_unit_prefix(unit)
    return sorted((prefix + f.name, str(f.stat().st_mtime_ns)) for f in (root / prefix).glob("*.parquet"))


def test_a_raw_file_landing_during_the_run_is_refined_too(
    spark: Any, raw_lake: Path, duckdb_lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = "ibov-data"
    s3_root = tmp_path / "s3"
    shutil.copytree(raw_lake / "raw", s3_root / bucket / "raw")
    late = s3_root / bucket / "raw" / f"dt={DAY1.isoformat()}" / "IBXX.parquet"
    held_back = tmp_path / "IBXX.parquet"
    shutil.move(late, held_back)  # IBXX lands only after the job listed the day
    glue = FakeGlue(spark)
    for name, module in glue.modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(job, "s3_uri", lambda b, key: f"file://{s3_root}/{b}/{key}")
    listings: list[list[tuple[str, str]]] = []

    def listing(b: str, unit: Unit) -> list[tuple[str, str]]:
        if len(listings) == 1:
            shutil.move(held_back, late)
        listings.append(local_listing(s3_root / b, unit))
        return listings[-1]

    monkeypatch.setattr(job, "raw_listing", listing)
    fake_compact_catalog(s3_root, monkeypatch)
    job.glue_main(
        ["refine_job.py", "--JOB_NAME", "ibov-refine", "--bucket", bucket, "--dt", DAY1.isoformat()]
    )
    assert len(listings) == 3  # listed, changed, refined again, settled
    assert_same_as_duckdb(s3_root / bucket, duckdb_lake, UNIT1)


def test_glue_entry_point_purges_the_day_then_writes_through_the_catalog_sink(
    spark: Any,
    raw_lake: Path,
    duckdb_lake: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bucket = "ibov-data"
    s3_root = tmp_path / "s3"
    shutil.copytree(raw_lake / "raw", s3_root / bucket / "raw")
    glue = FakeGlue(spark)
    for name, module in glue.modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(job, "s3_uri", lambda b, key: f"file://{s3_root}/{b}/{key}")
    monkeypatch.setattr(job, "raw_listing", lambda b, unit: local_listing(s3_root / b, unit))
    fake_compact_catalog(s3_root, monkeypatch)
    argv = ["refine_job.py", "--JOB_NAME", "ibov-refine", "--bucket", bucket, "--dt", "2025-04-30"]

    job.glue_main(argv)  # the arguments of runs started before datasets existed
    job.glue_main(
        [
            *["refine_job.py", "--JOB_NAME", "ibov-refine", "--bucket", bucket, "--dataset", "portfolio"],
            *["--unit", "2025-05-05", "--refined_table", "other", "--database", "analytics"],
        ]
    )
    assert dict(glue.calls)["setCatalogInfo"] == ("analytics", "other")
    day2_before = fingerprint(s3_root / bucket, UNIT2)
    glue.calls.clear()
    job.glue_main(argv)  # a rerun of the first day (e.g. a duplicate S3 event)

    names = [name for name, _ in glue.calls]
    # the day, then its month of the compact copy (tests/test_compact_glue.py), then the commit
    assert names == [
        "init",
        "purge",
        "getSink",
        "setFormat",
        "setCatalogInfo",
        "writeFrame",
        "purge",
        "commit",
    ]
    calls = dict(glue.calls[:-2])  # the day's calls; then the purge of its compact month
    assert calls["purge"] == (f"file://{s3_root / bucket}/refined/dt=2025-04-30/", {"retentionPeriod": 0})
    assert glue.calls[-2] == (
        "purge",
        (f"file://{s3_root / bucket}/compact/month=2025-04/", {"retentionPeriod": 0}),
    )
    assert calls["getSink"] == {
        "connection_type": "s3",
        "path": f"file://{s3_root / bucket}/refined/",
        "enableUpdateCatalog": True,
        "updateBehavior": "UPDATE_IN_DATABASE",
        "partitionKeys": ["dt", "ticker"],
        "transformation_ctx": "portfolio_sink",
    }
    assert calls["setFormat"][0] == "glueparquet"
    assert calls["setCatalogInfo"] == ("default", "ibov_refined")
    assert spark.conf.get("spark.sql.parquet.outputTimestampType") == "TIMESTAMP_MICROS"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    for unit in (UNIT1, UNIT2):
        assert_same_as_duckdb(s3_root / bucket, duckdb_lake, unit)
    assert fingerprint(s3_root / bucket, UNIT2) == day2_before
    *_, refined_line = [line for line in capsys.readouterr().out.splitlines() if '"msg": "refined"' in line]
    # what an Athena reader of the day could find empty or partial: from the purge to the written day
    assert 0 < json.loads(refined_line)["replace_window_s"] < 60


def test_awsglue_is_imported_only_inside_the_glue_entry_point() -> None:
    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"))
    entry = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "glue_main")
    inside = {id(n) for n in ast.walk(entry)}
    glue_imports = [
        n
        for n in ast.walk(tree)
        if (isinstance(n, ast.ImportFrom) and (n.module or "").startswith("awsglue"))
        or (isinstance(n, ast.Import) and any(a.name.startswith("awsglue") for a in n.names))
    ]
    assert len(glue_imports) == 4
    assert all(id(n) in inside for n in glue_imports)


# ---------------------------------------------------------------------------------------------- CLI


def run_script(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the script as a user would, from another folder and with ``ibovcli`` not installed.

    ``-S`` skips site-packages' .pth files (so the editable install of ibovcli is not importable);
    PYTHONPATH then gives back the third-party packages only.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = sysconfig.get_paths()["purelib"]
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    return subprocess.run(
        [sys.executable, "-S", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=180,
    )


def test_local_cli_mode(spark_lake: Path, duckdb_lake: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    proc = run_script("--lake", str(spark_lake), "--dt", "2025-04-30", "--json", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["unit"], summary["rows"], summary["indices"]) == ("dt=2025-04-30", 22, ["IBOV", "IBXX"])
    assert summary["location"] == str(spark_lake / "refined" / "dt=2025-04-30")
    assert_same_as_duckdb(spark_lake, duckdb_lake, UNIT1)
    proc = run_script(
        "--lake", str(spark_lake), "--dataset", "levels", "--unit", "IBOV", "--json", cwd=elsewhere
    )
    assert proc.returncode == 0, proc.stderr
    assert_same_as_duckdb(spark_lake, duckdb_lake, IBOV_LEVELS)
    assert not (elsewhere / "spark-warehouse").exists()


def test_local_cli_errors_are_one_line(spark_lake: Path, tmp_path: Path) -> None:
    proc = run_script("--lake", str(spark_lake), "--dt", "2025-05-06", cwd=tmp_path)
    assert proc.returncode == JobFailed.exit_code
    assert proc.stdout == ""
    assert (
        proc.stderr.startswith("error: no raw files for portfolio dt=2025-05-06")
        and proc.stderr.count("\n") == 1
    )
    assert "Traceback" not in proc.stderr

    proc = run_script("--lake", str(spark_lake), "--dt", "30/04/2025", cwd=tmp_path)
    assert proc.returncode == 2 and "name no unit" in proc.stderr and "Traceback" not in proc.stderr


def test_the_job_reads_refine_sql_from_the_zip_glue_is_given(tmp_path: Path) -> None:
    """On Glue, ibovcli arrives as a zip through --extra-py-files: the SQL must load from inside it."""
    archive = tmp_path / "ibovcli.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted((ROOT / "ibovcli").rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts:
                zf.write(f, f.relative_to(ROOT).as_posix())
    code = (
        "import json, runpy, sys\n"
        f"sys.path.insert(0, {str(archive)!r})\n"
        f"g = runpy.run_path({str(SCRIPT)!r})\n"
        "print(json.dumps({'sql': g['datasets'].LEVELS.sql(), 'from': sys.modules['ibovcli'].__file__}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["from"] == str(archive / "ibovcli" / "__init__.py")
    assert out["sql"] == (ROOT / "ibovcli" / "sql" / "refine_levels.sql").read_text(encoding="utf-8")
