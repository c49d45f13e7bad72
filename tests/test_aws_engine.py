"""The AWS engine end to end on moto: raw upload at the layout's key, the Lambda starting the job for that
day, ibov following the triggered Glue run, the summary from Athena, and `ibov status`."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from moto import mock_aws

from ibovcli import b3, datasets, layout, rawfiles, schema
from ibovcli.aws import s3
from ibovcli.aws.clients import Aws
from ibovcli.engines.aws import AwsEngine
from ibovcli.errors import NotDeployed
from ibovcli.rawfiles import RawWrite
from ibovcli.settings import Settings
from tests import lakes
from tests.aws_helpers import (
    BUCKET,
    JOB,
    REGION,
    WORKGROUP,
    LambdaContext,
    client,
    create_job,
    load_lambda,
    moto_server,  # noqa: F401 - fixture
    queue_athena_result,
    s3_event,
)
from tests.aws_helpers import _moto_server_session as _moto_server_session
from tests.conftest import FIXTURES, run_ibov

SNAPSHOT = FIXTURES / "b3" / "IBOVDia_30-04-25_crlf.csv"


def read_snapshot(path: Path) -> RawWrite:
    return rawfiles.portfolio(b3.parse_snapshot(path.read_bytes(), source=f"file:{path.name}"))


DAY = date(2025, 4, 30)


def test_scrape_uploads_raw_and_its_s3_event_starts_the_job_for_that_day(
    moto_server: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s3, glue = client("s3"), client("glue")
    s3.create_bucket(Bucket=BUCKET)
    create_job(glue)

    result = run_ibov(
        "scrape", "--from", str(SNAPSHOT), "--engine", "aws", "--bucket", BUCKET, "--json",
        env={"AWS_ENDPOINT_URL": moto_server},
    )  # fmt: skip
    assert result.code == 0, result.stderr
    [stored] = json.loads(result.stdout)
    key = layout.raw_key("IBOV", DAY)
    assert (stored["key"], stored["date"], stored["rows"]) == (key, "2025-04-30", 14)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == [key, layout.snapshot_key(key, "csv")]
    assert s3.get_object(Bucket=BUCKET, Key=layout.snapshot_key(key, "csv"))["Body"].read() == (
        SNAPSHOT.read_bytes()
    )
    import pyarrow.parquet as pq

    raw = pq.read_table(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))
    assert raw.schema.equals(schema.arrow_schema(schema.PORTFOLIO_RAW))  # type: ignore[arg-type]
    assert raw.num_rows == 14

    lam = load_lambda(monkeypatch)
    summary = lam.handler(s3_event(s3, BUCKET, key), LambdaContext())
    [run] = glue.get_job_runs(JobName=JOB)["JobRuns"]
    assert (run["Arguments"]["--dataset"], run["Arguments"]["--unit"]) == ("portfolio", "2025-04-30")
    assert run["Arguments"]["--bucket"] == BUCKET
    assert [s["run_id"] for s in summary["started"]] == [run["Id"]]


class FakeAws(threading.Thread):
    """What AWS does after a raw upload, done by hand: S3 notifies the trigger Lambda (lambda/trigger.py,
    called here), and the Glue job's output appears under refined/ (produced with the local engine's
    refine, the same refine.sql the job runs). moto itself does not run Lambda code or Glue scripts."""

    def __init__(self, lam: ModuleType, workdir: Path) -> None:
        super().__init__(daemon=True)
        self.lam = lam
        self.workdir = workdir
        self.halt = threading.Event()
        self.errors: list[BaseException] = []
        self.events = 0

    def run(self) -> None:
        s3 = client("s3")
        seen: set[str] = set()
        while not self.halt.is_set():
            try:
                listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=layout.RAW_PREFIX).get("Contents", [])
                for key in sorted(o["Key"] for o in listing if o["Key"] not in seen):
                    seen.add(key)
                    parsed = datasets.parse_raw_key(key)
                    assert parsed is not None
                    local = self.workdir / key
                    local.parent.mkdir(parents=True, exist_ok=True)
                    local.write_bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
                    engine = lakes.engine(self.workdir)
                    try:
                        engine.refine([parsed.unit], lambda _m: None)
                    finally:
                        engine.close()
                    refined = self.workdir / parsed.dataset.refined_unit_prefix(parsed.unit)
                    for f in sorted(refined.rglob("*.parquet")):
                        s3.put_object(
                            Bucket=BUCKET, Key=f.relative_to(self.workdir).as_posix(), Body=f.read_bytes()
                        )
                    self.lam.handler(s3_event(s3, BUCKET, key), LambdaContext())
                    self.events += 1
            except BaseException as exc:  # reported by the test
                self.errors.append(exc)
                return
            time.sleep(0.2)


@pytest.fixture
def fake_aws(moto_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeAws]:  # noqa: F811
    client("s3").create_bucket(Bucket=BUCKET)
    create_job(client("glue"))
    client("athena").create_work_group(Name=WORKGROUP)
    thread = FakeAws(load_lambda(monkeypatch), tmp_path / "glue-standin")
    thread.start()
    yield thread
    thread.halt.set()
    thread.join(timeout=10)


def test_run_on_aws_follows_the_triggered_glue_run_and_summarises_with_athena(
    fake_aws: FakeAws,
    moto_server: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    local = run_ibov("run", "--from", str(SNAPSHOT), "--lake", str(tmp_path / "local"), "--json")
    assert local.code == 0, local.stderr
    [expected] = json.loads(local.stdout)
    top = expected["top"]
    # Athena's answer to the run's one summary query: every stored portfolio's top rows, each with its
    # index and day first (pipeline.TOP_OF_EACH)
    columns = ["index_code", "dt", *top[0]]
    queue_athena_result(
        moto_server,
        columns,
        [
            (
                "IBOV",
                "2025-04-30",
                *(
                    date.fromisoformat(v)
                    if c == "session_date"
                    else Decimal(str(v))
                    if c == "weight_pct"
                    else v
                    for c, v in r.items()
                ),
            )
            for r in top
        ],
    )

    env = {
        "AWS_ENDPOINT_URL": moto_server,
        "IBOV_BUCKET": BUCKET,
        "IBOV_GLUE_JOB": JOB,
        "IBOV_WORKGROUP": WORKGROUP,
    }
    result = run_ibov("run", "--from", str(SNAPSHOT), "--engine", "aws", "--json", env=env, timeout=300)
    assert not fake_aws.errors, fake_aws.errors
    assert result.code == 0, result.stderr
    [got] = json.loads(result.stdout)
    [run] = client("glue").get_job_runs(JobName=JOB)["JobRuns"]
    refined = got["refined"]
    assert refined["run_id"] == run["Id"]  # the run the Lambda started, not one of ibov's own
    assert (refined["unit"], refined["rows"], refined["indices"]) == ("dt=2025-04-30", 14, ["IBOV"])
    assert refined["seconds"] == run["ExecutionTime"]
    for field in ("dataset", "index", "date", "rows", "key", "format", "sha256", "state"):
        assert got[field] == expected[field], field
    assert got["top"] == expected["top"]
    athena = client("athena")
    sent = [
        athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"]
        for i in athena.list_query_executions()["QueryExecutionIds"]
    ]
    [summary] = [q for q in sent if "weight_rank <=" in q]  # every index's summary: one query
    assert "ibov_compact" in summary and "t.month IN ('2025-04')" in summary  # one month's partitions
    assert "waiting for the Glue run that the upload of portfolio dt=2025-04-30 triggers" in result.stderr
    assert f"Glue run {run['Id']} (portfolio dt=2025-04-30): succeeded" in result.stderr
    assert fake_aws.events == 1


STACK_TEMPLATE = {
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
    "Outputs": {
        "DataBucket": {"Value": BUCKET},
        "GlueJobName": {"Value": JOB},
        "WorkGroup": {"Value": WORKGROUP},
        "Database": {"Value": "default"},
        "RefinedTable": {"Value": "ibov_refined"},
    },
}


@pytest.fixture
def mocked() -> Iterator[Aws]:
    with mock_aws():
        yield Aws.connect(region=REGION)


def test_names_come_from_the_stack_outputs_and_status_reads_them(mocked: Aws) -> None:
    engine = AwsEngine(mocked, Settings.load(engine="aws"))
    with pytest.raises(NotDeployed, match="the stack 'ibov' is not deployed and --bucket"):
        _ = engine.bucket
    mocked.cloudformation().create_stack(StackName="ibov", TemplateBody=json.dumps(STACK_TEMPLATE))
    mocked.s3().create_bucket(Bucket=BUCKET)
    glue = mocked.glue()
    create_job(glue)
    engine = AwsEngine(mocked, Settings.load(engine="aws"))
    assert (engine.bucket, engine.glue_job, engine.workgroup, engine.database) == (
        BUCKET, JOB, WORKGROUP, "default",
    )  # fmt: skip
    assert engine.tables() == {
        "portfolio": "ibov_refined",
        "levels": "ibov_levels",
        "theoretical": "ibov_theoretical",
        "preview": "ibov_preview",
        "quotes": "ibov_quotes",
    }
    for path in (FIXTURES / "b3" / "IBOVDia_30-04-25_crlf.csv", FIXTURES / "b3" / "IBOVDia_05-05-25_lf.csv"):
        engine.write_raw([read_snapshot(path)])
    engine.write_raw([read_snapshot(FIXTURES / "b3" / "IBXXDia_30-04-25.csv")])
    glue.start_job_run(JobName=JOB, Arguments={"--dt": "2025-04-30", "--bucket": BUCKET})
    glue.create_database(DatabaseInput={"Name": "default"})
    glue.create_table(
        DatabaseName="default",
        TableInput={"Name": "ibov_refined", "PartitionKeys": [{"Name": "dt", "Type": "string"}]},
    )
    glue.create_partition(
        DatabaseName="default",
        TableName="ibov_refined",
        PartitionInput={"Values": ["2025-04-30", "VALE3"], "StorageDescriptor": {"Columns": []}},
    )

    report = engine.status()
    assert report.engine == "aws" and report.location == f"s3://{BUCKET}/"
    assert report.stack is not None and (report.stack["status"], report.stack["name"]) == (
        "CREATE_COMPLETE",
        "ibov",
    )
    assert [c.as_json() for c in report.of("portfolio")] == [
        {
            "dataset": "portfolio",
            "index": "IBOV",
            "first": "2025-04-30",
            "last": "2025-05-05",
            "stored": 2,
            "refined": 1,
            "counts": "days",
            "missing": 1,
            "missing_days": ["2025-05-02"],
        },  # 1 May is a holiday, 3-4 May a weekend
        {
            "dataset": "portfolio",
            "index": "IBXX",
            "first": "2025-04-30",
            "last": "2025-04-30",
            "stored": 1,
            "refined": 1,
            "counts": "days",
            "missing": 0,
            "missing_days": [],
        },
    ]
    [run] = report.runs
    assert (run.command, run.state, run.error) == ("glue refine portfolio dt=2025-04-30", "succeeded", None)
    # the refined day's month has no partition of the compact copy yet (IBOV and IBXX): pending
    assert report.pending == ("compact month=2025-04",)
    glue.create_table(
        DatabaseName="default",
        TableInput={
            "Name": "ibov_compact",
            "PartitionKeys": [{"Name": "month", "Type": "string"}, {"Name": "index_code", "Type": "string"}],
        },
    )
    for index in ("IBOV", "IBXX"):
        assert engine.status().pending == ("compact month=2025-04",)  # until both are there
        glue.create_partition(
            DatabaseName="default",
            TableName="ibov_compact",
            PartitionInput={"Values": ["2025-04", index], "StorageDescriptor": {"Columns": []}},
        )
    assert engine.status().pending == ()


def test_settings_override_the_stack_and_bad_table_names_are_refused(mocked: Aws) -> None:
    mocked.cloudformation().create_stack(StackName="ibov", TemplateBody=json.dumps(STACK_TEMPLATE))
    engine = AwsEngine(mocked, Settings.load(engine="aws", bucket="elsewhere", glue_job="job2", table="t2"))
    assert (engine.bucket, engine.glue_job, engine.workgroup, engine.tables()["portfolio"]) == (
        "elsewhere",
        "job2",
        WORKGROUP,
        "t2",
    )
    with pytest.raises(NotDeployed, match="the bucket elsewhere does not exist"):
        engine.write_raw([read_snapshot(SNAPSHOT)])
    from ibovcli.errors import ConfigError

    with pytest.raises(ConfigError):
        _ = AwsEngine(mocked, Settings.load(engine="aws", table="x; DROP TABLE y")).tables()


def test_keys_not_uploaded_by_this_engine_start_their_own_run(mocked: Aws) -> None:
    """`process` of keys this engine did not upload (nothing triggers) starts the run the Lambda would."""
    mocked.s3().create_bucket(Bucket=BUCKET)
    create_job(mocked.glue())
    engine = AwsEngine(
        mocked, Settings.load(engine="aws", bucket=BUCKET, glue_job=JOB), sleep=lambda _s: None
    )
    notes: list[str] = []
    [refined] = engine.process([layout.raw_key("IBOV", DAY), layout.raw_key("IBXX", DAY)], notes.append)
    [run] = mocked.glue().get_job_runs(JobName=JOB)["JobRuns"]
    assert run["Arguments"] == {
        "--dataset": "portfolio",
        "--unit": "2025-04-30",
        "--bucket": BUCKET,
        **run["Arguments"],
    }
    assert (refined.run_id, str(refined.unit), refined.rows) == (run["Id"], "portfolio dt=2025-04-30", 0)
    assert notes[0].startswith(f"started the Glue run {run['Id']}")


def test_engine_from_settings_needs_a_region(monkeypatch: pytest.MonkeyPatch) -> None:
    from ibovcli.errors import ConfigError

    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(ConfigError, match="no AWS region"):
        AwsEngine.from_settings(Settings.load(engine="aws"))
    assert boto3.Session().region_name is None


def test_clients_honour_aws_endpoint_url_and_share_one_retry_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    from ibovcli import __version__

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")  # boto3 reads it itself
    aws = Aws.connect(region="sa-east-1")
    for client_ in (aws.s3(), aws.glue(), aws.athena(), aws.cloudformation(), aws.sts()):
        assert client_.meta.endpoint_url == "http://127.0.0.1:4566"
        assert client_.meta.region_name == "sa-east-1"
        config = client_.meta.config
        assert config.retries == {"mode": "standard", "total_max_attempts": 5}
        assert f"ibov/{__version__}" in config.user_agent_extra
    assert aws.s3() is aws.s3()  # one client per service


def test_verify_counts_every_zone_on_s3_and_repair_starts_the_job_for_the_days_that_differ(
    mocked: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A day whose refined objects lost a ticker: verify lists it with the counts of each zone, and
    --repair starts the Glue job for that day only (moto runs no script, so the day stays listed)."""
    from ibovcli import pipeline

    s3_client = mocked.s3()
    s3_client.create_bucket(Bucket=BUCKET)
    create_job(mocked.glue())
    local = lakes.engine(tmp_path / "local")
    try:
        local.write_raw([read_snapshot(SNAPSHOT)])
        local.refine([datasets.PORTFOLIO.unit(DAY.isoformat())], lambda _m: None)
    finally:
        local.close()
    root = tmp_path / "local"
    uploaded = [
        p for p in sorted(root.rglob("*.parquet")) if p.relative_to(root).parts[0] in ("raw", "refined")
    ]
    lost = [p for p in uploaded if "ticker=VALE3" in p.as_posix()]
    assert lost
    for p in uploaded:
        if p not in lost:
            s3_client.put_object(Bucket=BUCKET, Key=p.relative_to(root).as_posix(), Body=p.read_bytes())
    monkeypatch.setattr("ibovcli.engines.aws.time.sleep", lambda _s: None, raising=False)
    monkeypatch.setattr(
        "ibovcli.engines.aws.AwsEngine.from_settings",
        classmethod(lambda cls, s, notify=None: AwsEngine(mocked, s, sleep=lambda _s: None)),
    )
    settings = Settings.load(engine="aws", bucket=BUCKET, glue_job=JOB, workgroup=WORKGROUP)
    report = pipeline.verify(settings)
    [problem] = report.problems
    assert (problem.dataset, problem.unit, problem.raw_rows, problem.refined_rows) == (
        "portfolio",
        "dt=2025-04-30",
        14,
        13,
    )
    assert mocked.glue().get_job_runs(JobName=JOB)["JobRuns"] == []  # verify alone changes nothing
    report = pipeline.verify(settings, repair=True)
    [run] = mocked.glue().get_job_runs(JobName=JOB)["JobRuns"]
    assert (run["Arguments"]["--dataset"], run["Arguments"]["--unit"]) == ("portfolio", "2025-04-30")
    assert [str(r.unit) for r in report.repaired] == ["portfolio dt=2025-04-30"]
    assert [c.unit for c in report.remaining] == ["dt=2025-04-30"]  # moto's job refines nothing


def test_rm_deletes_the_objects_then_refines_what_is_left_or_clears_the_day(
    mocked: Aws, tmp_path: Path
) -> None:
    s3_client, glue_client = mocked.s3(), mocked.glue()
    s3_client.create_bucket(Bucket=BUCKET)
    create_job(glue_client)
    glue_client.create_database(DatabaseInput={"Name": "default"})
    glue_client.create_table(
        DatabaseName="default",
        TableInput={
            "Name": "ibov_refined",
            "PartitionKeys": [{"Name": "dt", "Type": "string"}, {"Name": "ticker", "Type": "string"}],
        },
    )
    local = lakes.engine(tmp_path / "local")
    try:
        local.write_raw([read_snapshot(SNAPSHOT), read_snapshot(FIXTURES / "b3" / "IBXXDia_30-04-25.csv")])
        local.refine([datasets.PORTFOLIO.unit(DAY.isoformat())], lambda _m: None)
    finally:
        local.close()
    root = tmp_path / "local"
    tickers = set()
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.relative_to(root).parts[0] in ("raw", "snapshots", "refined"):
            s3_client.put_object(Bucket=BUCKET, Key=p.relative_to(root).as_posix(), Body=p.read_bytes())
            tickers |= {part[len("ticker=") :] for part in p.parts if part.startswith("ticker=")}
    for t in sorted(tickers):
        glue_client.create_partition(
            DatabaseName="default", TableName="ibov_refined", PartitionInput={"Values": ["2025-04-30", t]}
        )
    engine = AwsEngine(
        mocked, Settings.load(engine="aws", bucket=BUCKET, glue_job=JOB), sleep=lambda _s: None
    )
    ibov_key = layout.raw_key("IBOV", DAY)
    plan = engine.remove([ibov_key], dry_run=True, notify=lambda _m: None)
    assert (plan.keys, plan.rows) == (["snapshots/dt=2025-04-30/IBOV.csv", ibov_key], 14)
    assert s3.exists(s3_client, BUCKET, ibov_key)  # a dry run deletes nothing

    done = engine.remove([ibov_key], dry_run=False, notify=lambda _m: None)
    assert not s3.exists(s3_client, BUCKET, ibov_key)
    assert not s3.exists(s3_client, BUCKET, "snapshots/dt=2025-04-30/IBOV.csv")
    [run] = glue_client.get_job_runs(JobName=JOB)["JobRuns"]  # IBXX is left: the job refines the day
    assert (run["Arguments"]["--dataset"], run["Arguments"]["--unit"]) == ("portfolio", "2025-04-30")
    assert ([r.run_id for r in done.refined], done.cleared) == ([run["Id"]], [])

    ibxx_key = layout.raw_key("IBXX", DAY)
    done = engine.remove([ibxx_key], dry_run=False, notify=lambda _m: None)
    assert [str(u) for u in done.cleared] == ["portfolio dt=2025-04-30"]
    assert s3_client.list_objects_v2(Bucket=BUCKET, Prefix="refined/").get("KeyCount") == 0
    assert glue_client.get_partitions(DatabaseName="default", TableName="ibov_refined")["Partitions"] == []
    assert len(glue_client.get_job_runs(JobName=JOB)["JobRuns"]) == 1  # nothing left to refine
