"""The refine job: one unit of one dataset (a portfolio day, an index's levels) of the raw zone -> the
refined zone, with PySpark. What a unit is, and where its files live, comes from :mod:`ibovcli.datasets`.

Two ways to run the same code (see docs/glue-lambda.md):

* **AWS Glue 5.0** (Spark 3.5, Python 3.11), started by the Lambda with ``--dataset D --unit U --bucket B``
  (the trigger's job arguments, :func:`ibovcli.trigger.job_arguments`; ``--dt DAY`` alone still means a
  portfolio day), plus the job's defaults ``--refined_table`` (the portfolio's table) and ``--database``.
  The ``ibovcli`` package arrives as a zip through ``--extra-py-files``. The job lists the unit's raw
  files (again, until the listing settles), runs the dataset's refine SQL, purges the unit's refined
  prefix and writes it partitioned as the dataset declares, through a Glue sink that creates/updates
  the dataset's catalog table. After a portfolio day it rebuilds the day's month of the compact
  serving copy (``datasets.COMPACT``: :func:`rebuild_month`) and that month's catalog partitions.
* **Locally**: ``python glue_scripts/refine_job.py --lake DIR --dataset D --unit U`` (or ``--dt DAY``)
  does the same on a local lake with a local Spark session; the unit's refined folder and catalog
  rows are replaced through the lake's own transaction
  (:meth:`ibovcli.engines.local.LocalLake.install_refined`), which also rebuilds the day's compact
  month, with DuckDB (the Spark month rebuild is the Glue mode's; tests/test_compact_glue.py).

The mode is chosen by ``--lake``: present -> local, absent -> Glue. ``awsglue`` is imported only inside
:func:`glue_main`; everything else is plain PySpark, importable and tested without Glue.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:
    import ibovcli  # noqa: F401 - on Glue it comes from --extra-py-files; in a checkout it may not be installed
except ImportError:  # run from a checkout without `pip install -e .`: the repo root holds ibovcli/
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ibovcli import (
    datasets,
    schema,
    sectors,  # noqa: F401 - packed into the job's zip: datasets.sql() reads it lazily
    trigger,
)
from ibovcli.datasets import Unit
from ibovcli.errors import IbovError, JobFailed, UsageError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: Spark settings both modes run with: instants written as int64 microseconds (what DuckDB and Athena
#: read as ``timestamp``, instead of Spark's legacy INT96) and a UTC session for every date/string cast.
SPARK_CONF = {
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.session.timeZone": "UTC",
}
RAW_VIEW = "raw_rows"
COMPRESSION = "snappy"
#: How many times the Glue job lists the unit again when its raw files change while it runs.
SETTLE_ATTEMPTS = 3


@dataclass(frozen=True)
class UnitSummary:
    """What a refine produced."""

    unit: Unit
    rows: int
    indices: tuple[str, ...]
    seconds: float = 0.0
    location: str = ""
    #: Glue: seconds between the purge of the unit's old files and the end of the new write (what an
    #: Athena reader of the unit may find empty or partial meanwhile)
    replace_window: float | None = None

    def as_json(self) -> dict[str, Any]:
        out = {
            "dataset": self.unit.dataset,
            "unit": self.unit.folder,
            "rows": self.rows,
            "indices": list(self.indices),
            "seconds": round(self.seconds, 3),
            "location": self.location,
        }
        if self.replace_window is not None:
            out["replace_window_s"] = round(self.replace_window, 3)
        return out


# ----------------------------------------------------------------------------------------------
# pure Spark: shared by the Glue job and the local mode


def configure(spark: SparkSession) -> None:
    for key, value in SPARK_CONF.items():
        spark.conf.set(key, value)


def unit_of(arguments: dict[str, str]) -> Unit:
    """The unit named by the job's arguments (``--dataset``/``--unit``, or ``--dt`` for a portfolio day)."""
    parsed = trigger.parse_job_arguments(arguments)
    if parsed is None:
        raise UsageError(
            f"the job's arguments name no unit to refine: {arguments}",
            hint="Pass --dataset NAME and --unit (a day YYYY-MM-DD or an index code), or --dt DAY.",
        )
    return parsed[1]


def read_raw(spark: SparkSession, paths: Sequence[str]) -> DataFrame:
    """Every raw parquet file in ``paths``, columns merged by name like DuckDB's ``union_by_name``; a file
    that cannot be read is left out (as the local engine does: one damaged index never blocks a day)."""
    return spark.read.option("mergeSchema", "true").option("ignoreCorruptFiles", "true").parquet(*paths)


def refine_unit(spark: SparkSession, dataset: datasets.Dataset, raw: DataFrame | Sequence[str]) -> DataFrame:
    """Run the dataset's refine SQL on one unit's raw rows; the result has exactly the dataset's columns.

    The columns are cast to the dataset's refined + partition columns, in that order, and the rows are
    hash-partitioned by the partition columns so that each partition folder gets exactly one file.
    """
    from pyspark.sql import DataFrame as SparkFrame
    from pyspark.sql import functions as F

    frame = raw if isinstance(raw, SparkFrame) else read_raw(spark, raw)
    frame.createOrReplaceTempView(RAW_VIEW)
    refined = spark.sql(dataset.sql())
    typed = refined.select(*[F.col(c.name).cast(c.type).alias(c.name) for c in dataset.columns])
    return typed.repartition(*dataset.partition_names)


def summarize(df: DataFrame, unit: Unit) -> UnitSummary:
    """Count the refined rows (one Spark job) and check they all belong to ``unit``.

    The job only replaces the unit's prefix; a row of another unit would land in a folder that was not
    purged, so it is refused here, before anything is deleted or written.
    """
    from pyspark.sql import functions as F

    key = unit.spec.unit_key
    row = df.agg(
        F.count(F.lit(1)).alias("rows"),
        F.sort_array(F.collect_set(F.col(key).cast("string"))).alias("units"),
        # a dataset not split by index (quotes) has no index_code: no indices
        F.sort_array(F.collect_set("index_code" if "index_code" in df.columns else F.lit(None))).alias(
            "indices"
        ),
    ).collect()[0]
    if row["rows"] == 0:
        raise JobFailed(f"the raw files of {unit} hold no rows", hint="Check the raw zone for that unit.")
    if list(row["units"]) != [unit.value]:
        raise JobFailed(
            f"raw files under {unit.folder} hold rows for {key}={', '.join(row['units'])}",
            hint="A raw file's rows must match its folder; store that snapshot again.",
        )
    return UnitSummary(unit, int(row["rows"]), tuple(row["indices"]))


# ----------------------------------------------------------------------------------------------
# the compact serving copy (datasets.COMPACT): a month rebuilt from its current files and a refined day


def compact_rows(spark: SparkSession, refined: DataFrame) -> DataFrame:
    """Run ``compact.sql`` on the refined rows of whole months (all indices; the columns of the portfolio
    table): typed as declared, one Spark partition per (month, index) sorted by day and ticker, so each
    partition folder gets one file with its rows in order."""
    from pyspark.sql import functions as F

    spec = datasets.COMPACT
    refined.createOrReplaceTempView(spec.INPUT_VIEW)
    rows = spark.sql(spec.sql())
    typed = rows.select(*[F.col(c.name).cast(c.type).alias(c.name) for c in spec.columns])
    keys = spec.partition_names
    return typed.repartition(*keys).sortWithinPartitions(*keys, "dt", "ticker")


def read_compact(spark: SparkSession, root_uri: str, month_uri: str) -> DataFrame:
    """The compact rows under ``month_uri`` (``.../compact/month=M/``), partition columns typed as
    declared (not inferred: ``2025-07`` is no date)."""
    ddl = ", ".join(f"`{c.name}` {c.type}" for c in datasets.COMPACT.columns)
    return spark.read.schema(ddl).option("basePath", root_uri).parquet(month_uri)


def month_rows(current: DataFrame | None, day_rows: DataFrame, unit: Unit) -> DataFrame:
    """The refined rows of ``unit``'s month: its current compact rows without the unit's day, and the
    day's new refined rows, as the portfolio table's columns."""
    from pyspark.sql import functions as F

    source = datasets.COMPACT.source
    fresh = day_rows.select(*[c.name for c in source.columns])
    if current is None:
        return fresh
    kept = current.filter(F.col(source.unit_key) != F.lit(unit.value))
    return kept.select(*[F.col(c.name).cast(c.type).alias(c.name) for c in source.columns]).unionByName(fresh)


def compact_table_input(bucket: str) -> dict[str, Any]:
    """The Glue ``TableInput`` of the compact table, from its declaration."""
    spec = datasets.COMPACT

    def columns(cols: Sequence[schema.Column]) -> list[dict[str, str]]:
        return [{"Name": c.name, "Type": c.type, "Comment": c.comment} for c in cols]

    return {
        "Name": spec.table,
        "Description": "ibov: compact serving copy of the daily portfolio, one file per month and index",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
        "PartitionKeys": columns(spec.partitions),
        "StorageDescriptor": _storage(s3_uri(bucket, spec.prefix), columns(spec.data_columns)),
    }


def _storage(location: str, columns: list[dict[str, str]]) -> dict[str, Any]:
    hive = "org.apache.hadoop.hive.ql.io.parquet"
    return {
        "Columns": columns,
        "Location": location,
        "InputFormat": f"{hive}.MapredParquetInputFormat",
        "OutputFormat": f"{hive}.MapredParquetOutputFormat",
        "SerdeInfo": {"SerializationLibrary": f"{hive}.serde.ParquetHiveSerDe"},
    }


def catalog_month(client: Any, database: str, bucket: str, month: str, indices: Sequence[str]) -> None:
    """Make the catalog's partitions of ``month`` exactly ``indices`` (creating the table on first use)."""
    spec = datasets.COMPACT
    table = compact_table_input(bucket)
    try:
        client.get_table(DatabaseName=database, Name=spec.table)
    except client.exceptions.EntityNotFoundException:
        client.create_table(DatabaseName=database, TableInput=table)
    if not spec.valid_month(month):
        raise ValueError(f"not a month: {month!r}")
    found = client.get_paginator("get_partitions").paginate(
        DatabaseName=database, TableName=spec.table, Expression=f"month = '{month}'"
    )
    present = {p["Values"][1] for page in found for p in page["Partitions"]}
    columns = table["StorageDescriptor"]["Columns"]
    new = [
        {
            "Values": [month, index],
            "StorageDescriptor": _storage(
                s3_uri(bucket, f"{spec.month_prefix(month)}index_code={index}/"), columns
            ),
        }
        for index in sorted(set(indices) - present)
    ]
    for i in range(0, len(new), 100):  # the API takes 100 at a time
        client.batch_create_partition(
            DatabaseName=database, TableName=spec.table, PartitionInputList=new[i : i + 100]
        )
    gone = [{"Values": [month, index]} for index in sorted(present - set(indices))]
    for i in range(0, len(gone), 25):
        client.batch_delete_partition(
            DatabaseName=database, TableName=spec.table, PartitionsToDelete=gone[i : i + 25]
        )


def compact_listing(bucket: str, month: str) -> list[str]:
    """The keys of the month's compact objects (every index) in the bucket."""
    import boto3

    s3 = boto3.client("s3")
    prefix = datasets.COMPACT.month_prefix(month)
    return sorted(
        str(obj["Key"])
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for obj in page.get("Contents", [])
        if obj["Key"].endswith(".parquet")
    )


def rebuild_month(
    glue_context: Any, spark: SparkSession, day_rows: DataFrame, unit: Unit, bucket: str, database: str
) -> dict[str, Any]:
    """Replace the compact objects and catalog partitions of ``unit``'s month: the month's current rows
    without the day, plus the day's refined rows, through ``compact.sql``. The new rows are computed and
    held (a local checkpoint) before the month's objects are purged."""
    import boto3

    spec = datasets.COMPACT
    month = spec.month_of(unit.value)
    root, where = s3_uri(bucket, spec.prefix), s3_uri(bucket, spec.month_prefix(month))
    current = read_compact(spark, root, where) if compact_listing(bucket, month) else None
    rows = compact_rows(spark, month_rows(current, day_rows, unit)).localCheckpoint(eager=True)
    indices = sorted(r[0] for r in rows.select("index_code").distinct().collect())
    purged = time.monotonic()
    glue_context.purge_s3_path(where, {"retentionPeriod": 0})
    rows.write.mode("append").option("compression", COMPRESSION).partitionBy(*spec.partition_names).parquet(
        root
    )
    window = time.monotonic() - purged
    catalog_month(boto3.client("glue"), database, bucket, month, indices)
    return {"compact_month": month, "compact_indices": indices, "compact_replace_window_s": round(window, 3)}


# ----------------------------------------------------------------------------------------------
# local mode


def local_session(master: str = "local[*]") -> SparkSession:
    """A small local Spark session configured like the Glue job's."""
    import os

    from pyspark.sql import SparkSession

    # A local run talks to nothing but itself: bind the driver to loopback, not the host's interface.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.master(master)
        .appName("ibov-refine")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        # a unit is a few hundred or thousand rows: compiling whole-stage code costs more than it saves
        .config("spark.sql.codegen.wholeStage", "false")
    )
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def run_local(
    spark: SparkSession,
    lake_root: Path,
    unit: Unit,
    *,
    portfolio_table: str | None = None,
    lock_timeout: float = 120.0,
) -> UnitSummary:
    """Refine ``unit`` of the local lake at ``lake_root`` with Spark, exactly as the Glue job does on S3,
    then hand the written folder to the lake, which swaps it in with the catalog rows."""
    from ibovcli.engines.local import LocalLake

    started = time.monotonic()
    configure(spark)
    if not lake_root.is_dir():
        raise JobFailed(f"no lake at {lake_root}", hint="Pass the directory given to `ibov --lake`.")
    lake = LocalLake(lake_root, tables=datasets.tables(portfolio_table), lock_timeout=lock_timeout)
    dataset = unit.spec
    files = _require_raw(lake_root, unit)
    refined = refine_unit(spark, dataset, [f"file://{hadoop_literal(str(f.path))}" for f in files]).cache()
    refined_root = lake_root / dataset.refined_prefix
    staging = refined_root / f".staging-{uuid.uuid4().hex}"
    try:
        summary = summarize(refined, unit)
        # the lock is taken before the staging folder exists: taking it sweeps away what killed
        # writers left under refined/, staging folders included
        with lake.lock():
            refined_root.mkdir(parents=True, exist_ok=True)
            (
                refined.write.mode("errorifexists")
                .option("compression", COMPRESSION)
                .partitionBy(*dataset.partition_names)
                .parquet(f"file://{staging}")
            )
            written = sorted(p.name for p in staging.iterdir() if p.is_dir())
            if written != [unit.folder]:
                raise JobFailed(f"refusing to install {written}: expected only {unit.folder}")
            # Hadoop's local file system leaves checksum files and a _SUCCESS marker that S3 never gets.
            for junk in [*staging.rglob(".*.crc"), *staging.rglob("_SUCCESS")]:
                junk.unlink()
            lake.install_refined(unit, staging)
    finally:
        refined.unpersist()
        shutil.rmtree(staging, ignore_errors=True)
        lake.close()
    return UnitSummary(
        unit,
        summary.rows,
        summary.indices,
        time.monotonic() - started,
        str(lake_root / dataset.refined_unit_prefix(unit)),
    )


def hadoop_literal(path: str) -> str:
    """``path`` with Hadoop's glob characters escaped: Spark expands ``*?[]{}`` in every path it reads, and a
    lake called ``lake*`` must never read its neighbours' files."""
    return "".join("\\" + c if c in "*?[]{}\\" else c for c in path)


def _require_raw(lake_root: Path, unit: Unit) -> list[Any]:
    """The unit's raw files in the local lake; :class:`JobFailed` when there are none."""
    from ibovcli.engines.local import LocalLake

    files = LocalLake(lake_root).raw_files(unit)
    if not files:
        raise JobFailed(
            f"no raw files for {unit} under {lake_root / unit.spec.raw_unit_prefix(unit)}",
            hint="Store it first: `ibov scrape ... --lake DIR`.",
        )
    return files


def local_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="refine_job.py",
        description="Refine one unit of a local lake with Spark, exactly as the Glue job does on S3.",
    )
    parser.add_argument("--lake", required=True, type=Path, help="lake directory (as `ibov --lake`)")
    parser.add_argument(
        "--dataset", choices=list(datasets.ALL), help="dataset (default: portfolio with --dt)"
    )
    parser.add_argument("--unit", help="the unit: a day YYYY-MM-DD (portfolio) or an index code (levels)")
    parser.add_argument(
        "--dt", help="a portfolio day, YYYY-MM-DD (the same as --dataset portfolio --unit DAY)"
    )
    parser.add_argument("--refined_table", default=None, help="local catalog table of the portfolio")
    parser.add_argument("--master", default="local[*]", help="Spark master (default: local[*])")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    try:
        given = {
            k: v for k, v in (("--dataset", args.dataset), ("--unit", args.unit), ("--dt", args.dt)) if v
        }
        unit = unit_of(given)
        lake_root = args.lake.expanduser().resolve()
        if not lake_root.is_dir():  # fail fast, before a JVM starts
            raise JobFailed(f"no lake at {lake_root}", hint="Pass the directory given to `ibov --lake`.")
        _require_raw(lake_root, unit)
        try:
            spark = local_session(args.master)
        except Exception as exc:  # no Java, or a JVM that cannot start
            raise JobFailed(
                f"cannot start Spark: {str(exc).splitlines()[0]}",
                hint="The local mode needs pyspark==3.5.4 and Java 17 (JAVA_HOME or java on PATH).",
            ) from exc
        try:
            summary = run_local(spark, lake_root, unit, portfolio_table=args.refined_table)
        except IbovError:
            raise
        except Exception as exc:  # Spark/Py4J errors: keep the first line, not the JVM stack
            raise JobFailed(f"refining {unit} with Spark failed: {str(exc).strip().splitlines()[0]}") from exc
        finally:
            spark.stop()
    except IbovError as exc:
        hint = f" (hint: {exc.hint})" if exc.hint else ""
        sys.stderr.write(f"error: {exc.message}{hint}\n")
        return exc.exit_code
    if args.json:
        sys.stdout.write(json.dumps(summary.as_json()) + "\n")
    else:
        sys.stdout.write(
            f"refined {summary.unit}: {summary.rows} rows ({', '.join(summary.indices)}) "
            f"-> {summary.location} in {summary.seconds:.1f}s\n"
        )
    return 0


# ----------------------------------------------------------------------------------------------
# AWS Glue


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def raw_listing(bucket: str, unit: Unit) -> list[tuple[str, str]]:
    """``(key, ETag)`` of every raw file of ``unit`` in the bucket, sorted (S3 lists are consistent)."""
    import boto3

    s3 = boto3.client("s3")
    dataset = unit.spec
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=dataset.raw_unit_prefix(unit)
    ):
        for obj in page.get("Contents", []):
            if dataset.parse_raw_key(obj["Key"]):
                out.append((str(obj["Key"]), str(obj.get("ETag", ""))))
    return sorted(out)


def glue_main(argv: Sequence[str]) -> None:
    """The Glue entry point. Only here may ``awsglue`` be imported (it needs Glue's JVM classes)."""
    from awsglue.context import GlueContext
    from awsglue.dynamicframe import DynamicFrame
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext
    from pyspark.errors import AnalysisException

    optional = {"dataset": None, "unit": None, "dt": None, "refined_table": None, "database": None}
    present = [name for name in optional if any(a.split("=")[0] == f"--{name}" for a in argv)]
    args = getResolvedOptions(list(argv), ["JOB_NAME", "bucket", *present])
    unit = unit_of({f"--{k}": v for k, v in args.items() if k in optional})
    dataset = unit.spec
    table = datasets.tables(args.get("refined_table"))[dataset.name]
    database = args.get("database") or schema.CATALOG_DATABASE
    bucket = args["bucket"]

    started = time.monotonic()
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    configure(spark)
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)

    # The Lambda starts a new run unless one that has not listed the unit yet exists, so a file landing
    # while this run refines gets its own (queued) run; still, refine what is listed and, if the
    # listing changed meanwhile, refine again before anything is written. A listing that never settles
    # fails the run: writing from a stale listing would leave a file unrefined.
    where = s3_uri(bucket, dataset.raw_unit_prefix(unit))
    listing = raw_listing(bucket, unit)
    for attempt in range(1, SETTLE_ATTEMPTS + 1):
        if not listing:
            raise JobFailed(f"no raw files under {where}: nothing to refine")
        try:
            refined = refine_unit(spark, dataset, [s3_uri(bucket, key) for key, _ in listing]).cache()
            summary = summarize(refined, unit)  # reads and refines before anything is deleted
        except AnalysisException as exc:
            raise JobFailed(f"cannot read the raw files under {where}: {str(exc).splitlines()[0]}") from exc
        now = raw_listing(bucket, unit)
        if now == listing:
            break
        refined.unpersist()
        if attempt == SETTLE_ATTEMPTS:
            raise JobFailed(
                f"the raw files under {where} changed during each of {SETTLE_ATTEMPTS} refines; nothing was "
                "written",
                hint="A later run (the Lambda starts one for the last file) refines it once writes stop.",
            )
        print(json.dumps({"msg": "raw files changed while refining; refining again", "attempt": attempt}))
        listing = now

    # Replace only this unit: the sink appends, so the unit's old files go first (retentionPeriod 0:
    # the default of 168 h would keep files younger than a week, i.e. a rerun would duplicate rows).
    # From the purge to the end of the write, an Athena reader finds the unit empty or partial.
    purged = time.monotonic()
    glue_context.purge_s3_path(s3_uri(bucket, dataset.refined_unit_prefix(unit)), {"retentionPeriod": 0})
    sink = glue_context.getSink(
        connection_type="s3",
        path=s3_uri(bucket, dataset.refined_prefix),
        enableUpdateCatalog=True,
        updateBehavior="UPDATE_IN_DATABASE",
        partitionKeys=list(dataset.partition_names),
        transformation_ctx=f"{dataset.name}_sink",
    )
    sink.setFormat("glueparquet", compression=COMPRESSION)
    sink.setCatalogInfo(catalogDatabase=database, catalogTableName=table)
    sink.writeFrame(DynamicFrame.fromDF(refined, glue_context, dataset.name))
    window = time.monotonic() - purged
    compacted = {}
    if dataset is datasets.COMPACT.source:  # the day's month of the compact copy, from the same rows
        compacted = rebuild_month(glue_context, spark, refined, unit, bucket, database)
    job.commit()
    result = UnitSummary(
        unit,
        summary.rows,
        summary.indices,
        time.monotonic() - started,
        s3_uri(bucket, dataset.refined_unit_prefix(unit)),
        replace_window=window,
    )
    print(json.dumps({"msg": "refined", "table": f"{database}.{table}", **result.as_json(), **compacted}))


def main(argv: Sequence[str] | None = None) -> int:
    """``--lake`` selects the local mode; without it this is the Glue job."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a == "--lake" or a.startswith("--lake=") for a in args):
        return local_main(args)
    glue_main([sys.argv[0], *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
