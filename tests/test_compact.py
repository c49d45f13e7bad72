"""The compact serving copy of the portfolio (datasets.COMPACT) on the local engine: one file per month
and index, rows in (dt, ticker) order, rebuilt once per refine batch for every month it touches, kept
right by `ibov rm`, healed after a killed writer, checked and repaired by `ibov verify`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from ibovcli import b3, datasets, partfiles, rawfiles, schema
from ibovcli.engines import local
from tests import b3fake
from tests.conftest import run_ibov
from tests.lakes import engine, rows

COMPACT = datasets.COMPACT
EXPECTED_FILES = [
    "compact/month=2025-04/index_code=IBOV/part-0.parquet",
    "compact/month=2025-04/index_code=IBXX/part-0.parquet",
    "compact/month=2025-05/index_code=IBOV/part-0.parquet",
]


def _writes() -> list[rawfiles.RawWrite]:
    """IBOV on 2025-04-29, 2025-04-30 and 2025-05-05, IBXX on 2025-04-30: two months, two indices."""
    before = dataclasses.replace(b3fake.IBOV_2025_04_30, date=dt.date(2025, 4, 29))
    found = [before, b3fake.IBOV_2025_04_30, b3fake.IBXX_2025_04_30, b3fake.IBOV_2025_05_05]
    return [rawfiles.portfolio(b3.parse_snapshot(b3fake.download_csv(p), source="x.csv")) for p in found]


def _store(lake: Path, writes: list[rawfiles.RawWrite]) -> None:
    eng = engine(lake)
    try:
        with eng.lock():
            eng.process(eng.write_raw(writes), lambda _m: None)
    finally:
        eng.close()


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    lake = tmp_path / "lake"
    _store(lake, _writes())
    return lake


def compact_files(lake: Path) -> list[str]:
    return sorted(p.relative_to(lake).as_posix() for p in (lake / COMPACT.prefix).rglob("*.parquet"))


def file_rows(path: Path) -> list[dict[str, Any]]:
    with open(path, "rb") as fh:
        return list(pq.read_table(fh).to_pylist())


def catalog_month(lake: Path, month: str, index: str) -> list[tuple[Any, ...]]:
    names = ", ".join(c.name for c in COMPACT.data_columns)
    return rows(
        lake,
        f"SELECT {names} FROM ibov_refined WHERE substr(dt, 1, 7) = ? AND index_code = ? ORDER BY dt, ticker",  # nosec B608
        [month, index],
    )


def test_one_file_per_month_and_index_sorted_by_day_and_ticker_holding_every_catalog_row(
    stored: Path,
) -> None:
    assert compact_files(stored) == EXPECTED_FILES
    for name in EXPECTED_FILES:
        path = stored / name
        month, index = path.parent.parent.name.split("=")[1], path.parent.name.split("=")[1]
        found = file_rows(path)
        assert [tuple(r.values()) for r in found] == catalog_month(stored, month, index)
        assert [(r["dt"], r["ticker"]) for r in found] == sorted((r["dt"], r["ticker"]) for r in found)
    april = file_rows(stored / EXPECTED_FILES[0])
    assert {r["dt"] for r in april} == {"2025-04-29", "2025-04-30"} and len(april) == 28
    # the declared columns and types, in order (the partitions are folders)
    schema_ = pq.read_schema(stored / EXPECTED_FILES[0])
    assert schema_.names == [c.name for c in COMPACT.data_columns]
    declared: Any = schema.arrow_schema(COMPACT.data_columns)
    assert [f.type for f in schema_] == [f.type for f in declared]
    # the catalog records what each month was built from
    assert [(m, n) for m, n in rows(stored, "SELECT month, rows FROM ibov_compact_months ORDER BY 1")] == [
        ("2025-04", 36),
        ("2025-05", 14),
    ]
    lake = engine(stored).lake
    assert lake.stale_months() == []
    lake.close()


def test_the_local_catalog_names_the_compact_table_with_its_month_column(stored: Path) -> None:
    sql = 'SELECT month, index_code, count(*) FROM "default".ibov_compact GROUP BY ALL ORDER BY ALL'
    assert rows(stored, sql) == [("2025-04", "IBOV", 28), ("2025-04", "IBXX", 8), ("2025-05", "IBOV", 14)]
    r = run_ibov(
        "sql",
        "SELECT count(*) AS n FROM ibov_compact WHERE month = '2025-05'",
        "--lake",
        str(stored),
        "--json",
    )
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout) == [{"n": 14}]


def _count_month_builds(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The months of each compact build from now on (``LocalLake._compact_into`` calls), in order."""
    calls: list[list[str]] = []
    real = local.LocalLake._compact_into

    def counting(self: local.LocalLake, con: Any, months: Any, *rest: Any) -> None:
        calls.append(sorted(months))
        real(self, con, months, *rest)

    monkeypatch.setattr(local.LocalLake, "_compact_into", counting)
    return calls


def test_the_copy_is_rebuilt_once_per_batch_for_each_month_touched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_month_builds(monkeypatch)
    lake = tmp_path / "lake"
    _store(lake, _writes())  # three days, one refine batch
    assert calls == [["2025-04", "2025-05"]]
    assert compact_files(lake) == EXPECTED_FILES


def test_a_failed_rebuild_changes_nothing_and_the_days_stay_pending(
    stored: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {n: (stored / n).read_bytes() for n in EXPECTED_FILES}
    catalog_before = rows(stored, "SELECT * FROM ibov_refined ORDER BY ALL")
    may = dataclasses.replace(b3fake.IBOV_2025_05_05, date=dt.date(2025, 5, 6))
    write = rawfiles.portfolio(b3.parse_snapshot(b3fake.download_csv(may), source="may.csv"))

    def full_disk(*_a: Any, **_k: Any) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(partfiles, "write", full_disk)
    eng = engine(stored)
    with pytest.raises(Exception, match="No space left"), eng.lock():
        eng.process(eng.write_raw([write]), lambda _m: None)
    eng.close()
    assert {n: (stored / n).read_bytes() for n in EXPECTED_FILES} == before
    assert rows(stored, "SELECT * FROM ibov_refined ORDER BY ALL") == catalog_before
    assert not list((stored / COMPACT.prefix).glob(".staging-*"))
    assert not (stored / local.WRITING_DIR).exists()
    monkeypatch.undo()
    # the next writer refines the stored day, and its month is rebuilt with it
    eng = engine(stored)
    with eng.lock():
        pass
    eng.close()
    may_rows = file_rows(stored / EXPECTED_FILES[2])
    assert sorted({r["dt"] for r in may_rows}) == ["2025-05-05", "2025-05-06"]


def test_a_month_left_stale_by_a_killed_writer_is_rebuilt_by_the_next_writer(stored: Path) -> None:
    # what a process killed mid-rebuild leaves: the month's record no longer matches its units, a file
    # is missing, and a swap cut between its two renames left May's folder aside in a staging folder
    (stored / EXPECTED_FILES[1]).unlink()
    staging = stored / local.WRITING_DIR / f"{local.STAGING_PREFIX}compact-dead"
    staging.mkdir(parents=True)
    (staging / "month=2025-04").mkdir()
    may = (stored / EXPECTED_FILES[2]).read_bytes()
    (stored / COMPACT.prefix / "month=2025-05").rename(staging / ".old-month=2025-05")
    db = duckdb.connect(str(stored / local.CATALOG_FILE))
    db.execute("UPDATE ibov_compact_months SET signature = 'old' WHERE month = '2025-04'")
    db.close()
    lake = engine(stored).lake
    assert lake.stale_months() == ["2025-04"]
    lake.close()
    notes: list[str] = []
    eng = local.LocalEngine(engine(stored).settings, notify=notes.append)
    with eng.lock():
        pass
    eng.close()
    assert compact_files(stored) == EXPECTED_FILES
    assert (stored / EXPECTED_FILES[2]).read_bytes() == may  # put back by the sweep, not rebuilt
    assert not (stored / local.WRITING_DIR).exists()
    assert any("rebuilding the compact copy of 2025-04" in n for n in notes)
    assert [tuple(r.values()) for r in file_rows(stored / EXPECTED_FILES[1])] == catalog_month(
        stored, "2025-04", "IBXX"
    )


def test_verify_reports_a_month_that_disagrees_and_repair_fixes_it(stored: Path) -> None:
    path = stored / EXPECTED_FILES[0]
    table = pq.read_table(path)
    pq.write_table(table.slice(0, 3), path)  # a month file that lost rows (signature still matches)
    r = run_ibov("verify", "--json", "--lake", str(stored))
    assert r.code != 0
    problems = json.loads(r.stdout)["problems"]
    assert [(p["dataset"], p["unit"], p["index"], p["raw_rows"], p["refined_rows"]) for p in problems] == [
        ("compact", "month=2025-04", "IBOV", 28, 3)
    ]
    r = run_ibov("verify", "--repair", "--lake", str(stored))
    assert r.code == 0, r.stderr
    assert len(file_rows(path)) == 28
    assert run_ibov("verify", "--lake", str(stored)).code == 0


def test_rm_rewrites_the_month_and_a_month_left_empty_loses_its_folder(stored: Path) -> None:
    r = run_ibov("rm", "-i", "IBOV", "--date", "2025-04-29", "--yes", "--lake", str(stored))
    assert r.code == 0, r.stderr
    assert {x["dt"] for x in file_rows(stored / EXPECTED_FILES[0])} == {"2025-04-30"}
    r = run_ibov("rm", "-i", "IBOV", "--date", "2025-05-05", "--yes", "--lake", str(stored))
    assert r.code == 0, r.stderr
    assert compact_files(stored) == EXPECTED_FILES[:2]
    assert not (stored / COMPACT.prefix / "month=2025-05").exists()
    assert rows(stored, "SELECT month FROM ibov_compact_months") == [("2025-04",)]
    assert run_ibov("verify", "--lake", str(stored)).code == 0


def test_a_rebuilt_catalog_rebuilds_the_copy_record(stored: Path) -> None:
    (stored / local.CATALOG_FILE).unlink()
    r = run_ibov("verify", "--lake", str(stored))
    assert r.code == 0, r.stderr
    assert compact_files(stored) == EXPECTED_FILES
    assert [m for (m,) in rows(stored, "SELECT month FROM ibov_compact_months ORDER BY 1")] == [
        "2025-04",
        "2025-05",
    ]


def test_on_aws_saved_queries_read_the_compact_table_and_verify_the_refined_one() -> None:
    """Athena (moto) gets ``ibov_compact`` for ``${portfolio}`` in a saved query and in ibov's own reads;
    ``ibov sql`` gets the tables as named (``${compact}`` for the copy); verify counts the refined table."""
    from moto import mock_aws

    from ibovcli import queries
    from ibovcli.aws.clients import Aws
    from ibovcli.engines.aws import AwsEngine
    from ibovcli.settings import Settings
    from tests.aws_helpers import BUCKET, JOB, REGION, WORKGROUP

    with mock_aws():
        aws = Aws.connect(region=REGION)
        aws.athena().create_work_group(Name=WORKGROUP)
        aws.s3().create_bucket(Bucket=BUCKET)
        settings = Settings.load(
            engine="aws", bucket=BUCKET, glue_job=JOB, workgroup=WORKGROUP, table="ibov_refined"
        )
        eng = AwsEngine(aws, settings, sleep=lambda _s: None)
        q = queries.get("top-weights")
        eng.sql(q.sql, {"index": "IBOV", "date": "2025-04-30", "limit": 5}, what="top")
        eng.sql("SELECT count(*) FROM ${portfolio}", {}, what="a check")
        eng.sql("SELECT count(*) FROM ${portfolio}, ${compact}", {}, what="ad hoc", verbatim=True)
        eng.verify(lambda _m: None)
        athena = aws.athena()
        ids = athena.list_query_executions(WorkGroup=WORKGROUP)["QueryExecutionIds"]
        sent = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"] for i in ids]
    top = [s for s in sent if "weight_rank" in s]
    assert top and all("FROM ibov_compact AS t" in s and "ibov_refined" not in s for s in top)
    assert "SELECT count(*) FROM ibov_compact" in sent
    assert "SELECT count(*) FROM ibov_refined, ibov_compact" in sent
    counted = [s for s in sent if s.startswith('SELECT CAST("dt" AS VARCHAR)')]
    assert counted and all("FROM ibov_refined" in s for s in counted)


def test_every_saved_query_filtering_portfolio_days_prunes_months_too() -> None:
    """Athena prunes the compact table by its partitions only: a saved query that bounds ``t.dt`` by a
    parameter bounds ``t.month`` as well (derived-weights' join on the days it found cannot, statically)."""
    import re

    from ibovcli import queries

    for name, q in queries.load_all().items():
        if "${portfolio}" not in q.sql:
            continue
        code = "\n".join(line.split("--", 1)[0] for line in q.sql.splitlines())
        day_bounds = re.findall(r"t\.dt\s*(?:=|<=|>=|BETWEEN)\s*:(\w+)", code)
        month_bounds = re.findall(r"t\.month\s*(?:=|<=|>=|BETWEEN)", code)
        assert bool(day_bounds) == bool(month_bounds), name
        assert len(month_bounds) >= code.count("${portfolio}") - (name == "derived-weights"), name


def test_a_long_rebuild_goes_a_bounded_number_of_months_at_a_time(
    stored: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local, "COMPACT_BATCH_MONTHS", 1)
    calls = _count_month_builds(monkeypatch)
    lake = engine(stored).lake
    with lake.lock():
        lake.rebuild_compact(["2025-05", "2025-04", "2025-05"])
    lake.close()
    assert calls == [["2025-04"], ["2025-05"]]
    assert compact_files(stored) == EXPECTED_FILES


def test_verify_on_aws_counts_the_compact_objects_and_repair_refines_that_months_days(
    stored: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S3 is moto holding what the local lake holds but one compact object; Athena's counts are the
    same SQL run on the local catalog (moto runs no SQL). Verify lists that month and index; --repair
    starts the Glue job for each stored day of that month."""
    from moto import mock_aws

    from ibovcli import pipeline, queries
    from ibovcli.aws.clients import Aws
    from ibovcli.engines.aws import AwsEngine
    from ibovcli.settings import Settings
    from tests.aws_helpers import BUCKET, JOB, REGION, WORKGROUP, create_job

    reference = engine(stored)

    def athena(self: AwsEngine, statement: str, params: dict[str, Any], **kw: Any) -> Any:
        names = {k: f'"{v}"' for k, v in kw["tables"].items()}
        return reference.lake.query(queries.duckdb_statement(statement, names), params)

    with mock_aws():
        aws = Aws.connect(region=REGION)
        client = aws.s3()
        client.create_bucket(Bucket=BUCKET)
        create_job(aws.glue())
        missing = EXPECTED_FILES[1]  # compact/month=2025-04/index_code=IBXX/part-0.parquet
        for p in sorted(stored.rglob("*.parquet")):
            key = p.relative_to(stored).as_posix()
            if key.split("/")[0] in ("raw", "refined", "compact") and key != missing:
                client.put_object(Bucket=BUCKET, Key=key, Body=p.read_bytes())
        monkeypatch.setattr(AwsEngine, "_athena", athena)
        monkeypatch.setattr(
            AwsEngine,
            "from_settings",
            classmethod(lambda cls, s, notify=None: AwsEngine(aws, s, sleep=lambda _s: None)),
        )
        settings = Settings.load(engine="aws", bucket=BUCKET, glue_job=JOB, workgroup=WORKGROUP)
        report = pipeline.verify(settings)
        assert [(c.dataset, c.unit, c.index, c.raw_rows, c.refined_rows) for c in report.problems] == [
            ("compact", "month=2025-04", "IBXX", 8, 0)
        ]
        assert [c.unit for c in report.checks if c.dataset == "compact" and c.ok] == [
            "month=2025-04",
            "month=2025-05",
        ]
        report = pipeline.verify(settings, repair=True)
        runs = aws.glue().get_job_runs(JobName=JOB)["JobRuns"]
        assert sorted(r["Arguments"]["--unit"] for r in runs) == ["2025-04-29", "2025-04-30"]
    reference.close()


def test_a_catalog_from_before_the_copy_reads_and_the_next_writer_builds_it(stored: Path) -> None:
    """A lake written before the compact copy existed: no compact/ and no ibov_compact_months. Readers
    (status, verify) say the months are pending; the next writer builds every month."""
    import shutil

    shutil.rmtree(stored / COMPACT.prefix)
    db = duckdb.connect(str(stored / local.CATALOG_FILE))
    db.execute("DROP TABLE ibov_compact_months")
    db.close()
    status = json.loads(run_ibov("status", "--json", "--lake", str(stored)).stdout)
    assert {"compact month=2025-04", "compact month=2025-05"} <= set(status["pending"])
    r = run_ibov("verify", "--json", "--lake", str(stored))
    assert {(p["dataset"], p["unit"]) for p in json.loads(r.stdout)["problems"]} == {
        ("compact", "month=2025-04"),
        ("compact", "month=2025-05"),
    }
    r = run_ibov("refine", "--lake", str(stored))
    assert r.code == 0, r.stderr
    assert compact_files(stored) == EXPECTED_FILES
    assert run_ibov("verify", "--lake", str(stored)).code == 0
