"""The refine job: one trading day of the raw zone -> the refined zone, with PySpark.

Two ways to run the same code (see docs/glue-lambda.md):

* **AWS Glue 5.0** (Spark 3.5, Python 3.11), started by the Lambda with ``--bucket B --dt YYYY-MM-DD``
  (optional ``--refined_table``, default ``ibov_refined``, and ``--database``, default ``default``).
  The ``ibovcli`` package arrives as a zip through ``--extra-py-files``. The job reads
  ``s3://B/raw/dt=D/*.parquet``, runs ``ibovcli/sql/refine.sql``, purges ``s3://B/refined/dt=D/`` and writes
  the day partitioned by ``dt`` and ``ticker`` through a Glue sink that creates/updates the catalog table.
* **Locally**: ``python glue_scripts/refine_job.py --lake DIR --dt YYYY-MM-DD`` does the same on a local
  lake with a local Spark session: ``DIR/refined/dt=D/`` is replaced by an atomic swap, other days are
  left alone, and the lake's local catalog gets the day's rows (as ``ibov run`` does with DuckDB).

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
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:
    import ibovcli  # noqa: F401 - on Glue it comes from --extra-py-files; in a checkout it may not be installed
except ImportError:  # run from a checkout without `pip install -e .`: the repo root holds ibovcli/
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ibovcli import layout, schema
from ibovcli.errors import IbovError, JobFailed, SnapshotError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: Spark settings both modes run with: instants written as int64 microseconds (what DuckDB and Athena
#: read as ``timestamp``, instead of Spark's legacy INT96) and a UTC session for every date/string cast.
SPARK_CONF = {
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.session.timeZone": "UTC",
}
RAW_VIEW = "raw_day"
COMPRESSION = "snappy"


@dataclass(frozen=True)
class DaySummary:
    """What a refine produced: row count, days (must be exactly the one asked for), indices, tickers."""

    day: date
    rows: int
    indices: tuple[str, ...]
    tickers: int
    seconds: float = 0.0
    location: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "rows": self.rows,
            "indices": list(self.indices),
            "tickers": self.tickers,
            "seconds": round(self.seconds, 3),
            "location": self.location,
        }


# ----------------------------------------------------------------------------------------------
# pure Spark: shared by the Glue job and the local mode


def configure(spark: SparkSession) -> None:
    for key, value in SPARK_CONF.items():
        spark.conf.set(key, value)


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SnapshotError(
            f"--dt must be a date like 2025-04-30, got {text!r}", hint="Pass the trading day as YYYY-MM-DD."
        ) from None


def read_raw(spark: SparkSession, paths: Sequence[str]) -> DataFrame:
    """Every raw parquet file in ``paths`` (files or globs), columns merged by name like DuckDB's
    ``union_by_name``."""
    return spark.read.option("mergeSchema", "true").parquet(*paths)


def refine_day(spark: SparkSession, raw: DataFrame | Sequence[str]) -> DataFrame:
    """Run the shared refine.sql on one day of raw rows; the result has exactly the refined schema.

    ``raw`` is a DataFrame or the raw files/globs of the day. The columns are cast to
    ``schema.REFINED`` + partition columns, in that order, and the rows are hash-partitioned by
    (dt, ticker) so that each partition folder gets exactly one file.
    """
    from pyspark.sql import DataFrame as SparkFrame
    from pyspark.sql import functions as F

    frame = raw if isinstance(raw, SparkFrame) else read_raw(spark, raw)
    frame.createOrReplaceTempView(RAW_VIEW)
    refined = spark.sql(schema.refine_sql())
    typed = refined.select(*[F.col(c.name).cast(c.type).alias(c.name) for c in schema.refined_columns()])
    return typed.repartition(*layout.REFINED_PARTITIONS)


def summarize(df: DataFrame, day: date) -> DaySummary:
    """Count the refined rows (one Spark job) and check they all belong to ``day``.

    The job only replaces ``refined/dt=<day>/``; a row for another day would land in a partition that
    was not purged, so it is refused here, before anything is deleted or written.
    """
    from pyspark.sql import functions as F

    row = df.agg(
        F.count(F.lit(1)).alias("rows"),
        F.sort_array(F.collect_set("dt")).alias("days"),
        F.sort_array(F.collect_set("index_code")).alias("indices"),
        F.countDistinct("ticker").alias("tickers"),
    ).collect()[0]
    if row["rows"] == 0:
        raise JobFailed(f"the raw files of {day} hold no rows", hint="Check the raw zone for that day.")
    if list(row["days"]) != [day.isoformat()]:
        raise JobFailed(
            f"raw files under dt={day} hold rows for {', '.join(row['days'])}",
            hint="A raw file's session_date must match its dt= folder; re-scrape that day.",
        )
    return DaySummary(day, int(row["rows"]), tuple(row["indices"]), int(row["tickers"]))


def write_day(df: DataFrame, refined_root: Path, day: date) -> Path:
    """Write one refined day under a local ``refined_root`` (``LAKE/refined``) and swap it in.

    Spark writes ``<staging>/dt=D/ticker=T/part-*.parquet``; then ``refined/dt=D`` is replaced in one
    rename, as ``ibovcli.local`` does for DuckDB, so readers never see half a day and other days are
    never touched. Rerunning it replaces the day again (no duplicated rows). Returns the day folder.
    """
    from ibovcli.local import LocalLake

    refined_root.mkdir(parents=True, exist_ok=True)
    staging = refined_root / f".staging-{uuid.uuid4().hex}"
    day_dir = refined_root / layout.day_partition(day)
    try:
        (
            df.write.mode("errorifexists")
            .option("compression", COMPRESSION)
            .partitionBy(*layout.REFINED_PARTITIONS)
            .parquet(f"file://{staging}")
        )
        written = sorted(p.name for p in staging.iterdir() if p.is_dir())
        if written != [layout.day_partition(day)]:
            raise JobFailed(f"refusing to swap in {written}: expected only {layout.day_partition(day)}")
        # Hadoop's local file system leaves checksum files and a _SUCCESS marker that S3 never gets.
        for junk in [*staging.rglob(".*.crc"), *staging.rglob("_SUCCESS")]:
            junk.unlink()
        LocalLake(refined_root.parent).swap_day(staging, day)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return day_dir


# ----------------------------------------------------------------------------------------------
# local mode


def local_raw_files(lake_root: Path, day: date) -> list[Path]:
    """The raw files of ``day`` in a local lake; refuses a day with none (nothing to refine)."""
    from ibovcli.local import LocalLake

    if not lake_root.is_dir():
        raise JobFailed(f"no lake at {lake_root}", hint="Pass the directory given to `ibov --lake`.")
    files = LocalLake(lake_root).raw_files(day)
    if not files:
        raise JobFailed(
            f"no raw files for {day} under {lake_root / layout.raw_day_prefix(day)}",
            hint="Store that day first: `ibov scrape --from FILE --lake DIR`.",
        )
    return files


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
        # a day is a few hundred rows: compiling whole-stage code costs more than it saves
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
    day: date,
    *,
    table: str = schema.REFINED_TABLE,
    lock_timeout: float = 120.0,
) -> DaySummary:
    """Refine ``day`` of the local lake at ``lake_root`` with Spark, exactly as the Glue job does on S3."""
    from ibovcli.local import LocalLake

    started = time.monotonic()
    configure(spark)
    lake = LocalLake(lake_root, table=table)
    files = local_raw_files(lake_root, day)
    refined = refine_day(spark, [f"file://{f}" for f in files]).cache()
    try:
        summary = summarize(refined, day)
        with lake.lock(lock_timeout):
            day_dir = write_day(refined, lake_root / layout.REFINED_PREFIX, day)
            lake.load_catalog_day(day)  # the local mirror of the Glue sink's catalog update
    finally:
        refined.unpersist()
    return DaySummary(
        summary.day, summary.rows, summary.indices, summary.tickers, time.monotonic() - started, str(day_dir)
    )


def local_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="refine_job.py",
        description="Refine one day of a local lake with Spark, exactly as the Glue job does on S3.",
    )
    parser.add_argument("--lake", required=True, type=Path, help="lake directory (as `ibov --lake`)")
    parser.add_argument("--dt", required=True, help="trading day, YYYY-MM-DD")
    parser.add_argument("--refined_table", default=schema.REFINED_TABLE, help="local catalog table")
    parser.add_argument("--master", default="local[*]", help="Spark master (default: local[*])")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    try:
        day = parse_day(args.dt)
        lake_root = args.lake.expanduser().resolve()
        local_raw_files(lake_root, day)  # fail fast, before a JVM starts
        try:
            spark = local_session(args.master)
        except Exception as exc:  # no Java, or a JVM that cannot start
            raise JobFailed(
                f"cannot start Spark: {str(exc).splitlines()[0]}",
                hint="The local mode needs pyspark==3.5.4 and Java 17 (JAVA_HOME or java on PATH).",
            ) from exc
        try:
            summary = run_local(spark, lake_root, day, table=args.refined_table)
        except IbovError:
            raise
        except Exception as exc:  # Spark/Py4J errors: keep the first line, not the JVM stack
            raise JobFailed(f"refining {day} with Spark failed: {str(exc).strip().splitlines()[0]}") from exc
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
            f"refined {summary.day}: {summary.rows} rows, {summary.tickers} tickers "
            f"({', '.join(summary.indices)}) -> {summary.location} in {summary.seconds:.1f}s\n"
        )
    return 0


# ----------------------------------------------------------------------------------------------
# AWS Glue


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


#: How many times the Glue job refines again when raw files of the day change while it runs.
SETTLE_ATTEMPTS = 3


def raw_listing(bucket: str, day: date) -> list[tuple[str, str]]:
    """``(key, ETag)`` of every raw file of ``day`` in the bucket, sorted (S3 lists are consistent)."""
    import boto3

    s3 = boto3.client("s3")
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=layout.raw_day_prefix(day)
    ):
        for obj in page.get("Contents", []):
            if layout.parse_raw_key(obj["Key"]):
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

    optional = {"refined_table": schema.REFINED_TABLE, "database": schema.CATALOG_DATABASE}
    present = [name for name in optional if any(a.split("=")[0] == f"--{name}" for a in argv)]
    args = getResolvedOptions(list(argv), ["JOB_NAME", "bucket", "dt", *present])
    table = args.get("refined_table", optional["refined_table"])
    database = args.get("database", optional["database"])
    bucket, day = args["bucket"], parse_day(args["dt"])

    started = time.monotonic()
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    configure(spark)
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)

    # The Lambda starts no second run while one for the day is active, so a file landing while this
    # run refines must be picked up here: refine what is listed, and if the listing changed meanwhile
    # (a new index, or a rewritten one), refine again before anything is written.
    where = s3_uri(bucket, layout.raw_day_prefix(day))
    listing = raw_listing(bucket, day)
    for attempt in range(1, SETTLE_ATTEMPTS + 1):
        if not listing:
            raise JobFailed(f"no raw files under {where}: nothing to refine")
        try:
            refined = refine_day(spark, [s3_uri(bucket, key) for key, _ in listing]).cache()
            summary = summarize(refined, day)  # reads and refines before anything is deleted
        except AnalysisException as exc:
            raise JobFailed(f"cannot read the raw files under {where}: {str(exc).splitlines()[0]}") from exc
        now = raw_listing(bucket, day)
        if now == listing:
            break
        print(json.dumps({"msg": "raw files changed while refining; refining again", "attempt": attempt}))
        refined.unpersist()
        listing = now

    # Replace only this day: the sink appends, so the day's old files go first (retentionPeriod 0:
    # the default of 168 h would keep files younger than a week, i.e. a rerun would duplicate rows).
    glue_context.purge_s3_path(s3_uri(bucket, layout.refined_day_prefix(day)), {"retentionPeriod": 0})
    sink = glue_context.getSink(
        connection_type="s3",
        path=s3_uri(bucket, layout.REFINED_PREFIX),
        enableUpdateCatalog=True,
        updateBehavior="UPDATE_IN_DATABASE",
        partitionKeys=list(layout.REFINED_PARTITIONS),
        transformation_ctx="refined_sink",
    )
    sink.setFormat("glueparquet", compression=COMPRESSION)
    sink.setCatalogInfo(catalogDatabase=database, catalogTableName=table)
    sink.writeFrame(DynamicFrame.fromDF(refined, glue_context, "refined"))
    job.commit()
    result = DaySummary(
        summary.day,
        summary.rows,
        summary.indices,
        summary.tickers,
        time.monotonic() - started,
        s3_uri(bucket, layout.refined_day_prefix(day)),
    )
    print(json.dumps({"msg": "refined", "table": f"{database}.{table}", **result.as_json()}))


def main(argv: Sequence[str] | None = None) -> int:
    """``--lake`` selects the local mode; without it this is the Glue job."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a == "--lake" or a.startswith("--lake=") for a in args):
        return local_main(args)
    glue_main([sys.argv[0], *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
