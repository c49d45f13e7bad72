"""Following Glue job runs: the run an upload triggered, its states, failures with Glue's message."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws
from moto.moto_api import state_manager

from ibovcli import trigger
from ibovcli.aws import glue
from ibovcli.aws.clients import Aws
from ibovcli.datasets import PORTFOLIO
from ibovcli.engines.aws import AwsEngine
from ibovcli.errors import JobFailed, NotDeployed
from ibovcli.settings import Settings
from tests.aws_helpers import BUCKET, JOB, REGION, FakeClock, create_job

DAY = date(2025, 4, 30)
UNIT = PORTFOLIO.unit("2025-04-30")
T0 = datetime(2025, 4, 30, 21, 0, tzinfo=UTC)


@pytest.fixture
def moto_glue() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("glue", region_name=REGION)
        create_job(client)
        yield client


@pytest.fixture
def manual_runs() -> Iterator[None]:
    """moto's job runs advance one state every second GetJobRun (STARTING -> RUNNING -> SUCCEEDED)."""
    state_manager.set_transition(model_name="glue::job_run", transition={"progression": "manual", "times": 2})
    yield
    state_manager.unset_transition("glue::job_run")


def run(
    run_id: str, day: str, started: datetime, state: str = "RUNNING", bucket: str = BUCKET, **extra: Any
) -> dict[str, Any]:
    return {
        "Id": run_id,
        "JobName": JOB,
        "StartedOn": started,
        "JobRunState": state,
        "Arguments": {"--dataset": "portfolio", "--unit": day, "--bucket": bucket},
        **extra,
    }


def test_wait_follows_a_moto_run_through_its_states(moto_glue: Any, manual_runs: None) -> None:
    run_id = moto_glue.start_job_run(JobName=JOB, Arguments={"--dt": "2025-04-30", "--bucket": BUCKET})[
        "JobRunId"
    ]
    seen: list[str] = []
    clock = FakeClock()
    final = glue.wait_job_run(
        moto_glue,
        JOB,
        run_id,
        every=5,
        sleep=clock.sleep,
        clock=clock,
        on_state=lambda state, r: seen.append(f"{state} {r['Id'] == run_id}"),
    )
    assert final["JobRunState"] == "SUCCEEDED"
    assert seen == ["STARTING True", "RUNNING True", "SUCCEEDED True"]
    assert len(clock.sleeps) >= 2 and set(clock.sleeps) == {5}  # one pause between polls
    assert glue.run_seconds(final) == final["ExecutionTime"]


def stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("glue", region_name=REGION)
    return client, Stubber(client)


def test_failure_carries_glues_error_message() -> None:
    client, stub = stubbed()
    params = {"JobName": JOB, "RunId": "jr_1", "PredecessorsIncluded": False}
    for state in ("WAITING", "RUNNING", "RUNNING"):
        stub.add_response("get_job_run", {"JobRun": run("jr_1", "2025-04-30", T0, state)}, params)
    message = "AnalysisException: Path does not exist: s3://ibov-test-data/raw/dt=2025-04-30/*.parquet"
    failed = run("jr_1", "2025-04-30", T0, "FAILED", ErrorMessage=message, ExecutionTime=61)
    stub.add_response("get_job_run", {"JobRun": failed}, params)
    states: list[str] = []
    clock = FakeClock()
    with stub, pytest.raises(JobFailed) as caught:
        glue.wait_job_run(
            client,
            JOB,
            "jr_1",
            every=2,
            sleep=clock.sleep,
            clock=clock,
            on_state=lambda s, _r: states.append(s),
        )
    stub.assert_no_pending_responses()
    assert states == ["WAITING", "RUNNING", "FAILED"]  # changes only
    assert clock.sleeps == [2, 2, 2]
    assert (
        str(caught.value) == f"the Glue run jr_1 of {JOB} (portfolio dt=2025-04-30) ended FAILED: {message}"
    )
    assert caught.value.exit_code == 6


@pytest.mark.parametrize("state", ["TIMEOUT", "STOPPED", "ERROR"])
def test_every_other_terminal_state_is_a_failure(state: str) -> None:
    client, stub = stubbed()
    stub.add_response("get_job_run", {"JobRun": run("jr_2", "2025-04-30", T0, state)}, None)
    with stub, pytest.raises(JobFailed, match=f"ended {state}: no error message"):
        glue.wait_job_run(client, JOB, "jr_2", sleep=lambda _s: None)


def test_wait_gives_up_after_its_timeout() -> None:
    client, stub = stubbed()
    for _ in range(4):
        stub.add_response("get_job_run", {"JobRun": run("jr_3", "2025-04-30", T0, "RUNNING")}, None)
    clock = FakeClock()
    with stub, pytest.raises(JobFailed, match="still RUNNING after 15s"):
        glue.wait_job_run(client, JOB, "jr_3", every=5, timeout=15, sleep=clock.sleep, clock=clock)


def test_missing_job_is_not_deployed(moto_glue: Any) -> None:
    with pytest.raises(NotDeployed, match="the Glue job nope does not exist"):
        glue.wait_job_run(moto_glue, "nope", "jr_x", sleep=lambda _s: None)
    with pytest.raises(NotDeployed):
        glue.job_runs(moto_glue, "nope")


def test_covering_run_is_the_newest_run_of_the_unit_started_after_the_upload() -> None:
    runs = [
        run("old", "2025-04-30", T0 - timedelta(minutes=5), "SUCCEEDED"),  # an earlier upload's
        run("other-day", "2025-05-05", T0 + timedelta(seconds=3)),
        run("other-bucket", "2025-04-30", T0 + timedelta(seconds=4), bucket="someone-else"),
        run("first", "2025-04-30", T0 + timedelta(seconds=2), "RUNNING"),
        run("mine", "2025-04-30", T0 + timedelta(seconds=5), "RUNNING"),
    ]
    assert [r["Id"] for r in trigger.runs_of(runs, BUCKET, UNIT)] == ["mine", "first", "old"]
    assert trigger.covering_run(runs, BUCKET, UNIT, since=T0)["Id"] == "mine"  # type: ignore[index]
    # the Lambda (no `since`): a RUNNING run may have listed the files already; it covers nothing
    assert trigger.covering_run(runs, BUCKET, UNIT) is None


def test_a_run_that_has_not_listed_yet_covers_new_files_whenever_it_started() -> None:
    queued = {**run("queued", "2025-04-30", T0, "WAITING"), "StartedOn": None}  # queued runs may lack it
    starting = run("starting", "2025-04-30", T0 - timedelta(minutes=1), "STARTING")
    running = run("running", "2025-04-30", T0 - timedelta(seconds=30), "RUNNING")
    assert trigger.covering_run([running, starting], BUCKET, UNIT)["Id"] == "starting"  # type: ignore[index]
    assert trigger.covering_run([running, queued, starting], BUCKET, UNIT)["Id"] == "queued"  # type: ignore[index]
    assert trigger.covering_run([running], BUCKET, UNIT, since=T0) is None
    # runs started before datasets existed (--dt) are still recognised
    legacy = {**run("legacy", "2025-04-30", T0, "WAITING"), "Arguments": {"--dt": "2025-04-30"}}
    assert trigger.covering_run([legacy], BUCKET, UNIT)["Id"] == "legacy"  # type: ignore[index]


def engine_with(client: Any, clock: FakeClock, appear_timeout: float = 180.0) -> AwsEngine:
    aws = Aws(boto3.Session(region_name=REGION), clients={"glue": client})
    settings = Settings.load(engine="aws", bucket=BUCKET, glue_job=JOB)
    return AwsEngine(aws, settings, sleep=clock.sleep, clock=clock, appear_timeout=appear_timeout)


def test_the_engine_waits_for_the_run_its_upload_triggered() -> None:
    runs = [run("old", "2025-04-30", T0 - timedelta(minutes=5), "SUCCEEDED")]
    mine = run("mine", "2025-04-30", T0 + timedelta(seconds=5), "WAITING")
    client, stub = stubbed()
    stub.add_response("get_job_runs", {"JobRuns": runs}, {"JobName": JOB, "MaxResults": 100})
    stub.add_response("get_job_runs", {"JobRuns": [mine, *runs]}, {"JobName": JOB, "MaxResults": 100})
    clock = FakeClock()
    with stub:
        found = engine_with(client, clock)._triggered_run(client, JOB, BUCKET, UNIT, T0)
    assert found["Id"] == "mine"
    assert clock.sleeps == [3.0]


def test_the_engine_gives_up_with_a_hint_when_no_run_appears() -> None:
    client, stub = stubbed()
    for _ in range(5):
        stub.add_response("get_job_runs", {"JobRuns": []}, {"JobName": JOB, "MaxResults": 100})
    clock = FakeClock()
    with stub, pytest.raises(JobFailed, match="no run of the Glue job") as caught:
        engine_with(client, clock, appear_timeout=10)._triggered_run(client, JOB, BUCKET, UNIT, T0)
    assert "trigger" in caught.value.hint


def test_recent_runs_and_catalog_days(moto_glue: Any) -> None:
    for day in ("2025-04-30", "2025-05-05"):
        glue.start_run(moto_glue, JOB, trigger.job_arguments(BUCKET, PORTFOLIO.unit(day)))
    runs = glue.recent_runs(moto_glue, JOB, last=10)
    assert sorted(r.what for r in runs if r.what) == ["portfolio dt=2025-04-30", "portfolio dt=2025-05-05"]
    assert {r.state for r in runs} == {"SUCCEEDED"}

    assert glue.partition_values(moto_glue, "default", "ibov_refined") == []  # no table yet
    moto_glue.create_database(DatabaseInput={"Name": "default"})
    moto_glue.create_table(
        DatabaseName="default",
        TableInput={
            "Name": "ibov_refined",
            "PartitionKeys": [{"Name": "dt", "Type": "string"}, {"Name": "ticker", "Type": "string"}],
            "StorageDescriptor": {"Columns": [{"Name": "weight_pct", "Type": "decimal(7,3)"}]},
        },
    )
    for day, ticker in [("2025-04-30", "VALE3"), ("2025-04-30", "PETR4"), ("2025-05-05", "VALE3")]:
        moto_glue.create_partition(
            DatabaseName="default",
            TableName="ibov_refined",
            PartitionInput={"Values": [day, ticker], "StorageDescriptor": {"Columns": []}},
        )
    assert sorted(glue.partition_values(moto_glue, "default", "ibov_refined")) == [
        ["2025-04-30", "PETR4"],
        ["2025-04-30", "VALE3"],
        ["2025-05-05", "VALE3"],
    ]


def test_start_run_passes_the_lambdas_arguments() -> None:
    client, stub = stubbed()
    args = trigger.job_arguments(BUCKET, UNIT)
    stub.add_response(
        "start_job_run",
        {"JobRunId": "jr_9"},
        {"JobName": JOB, "Arguments": args, "JobRunQueuingEnabled": True},
    )
    stub.add_client_error(
        "start_job_run",
        "EntityNotFoundException",
        "no job",
        400,
        {"JobName": "x", "Arguments": ANY, "JobRunQueuingEnabled": True},
    )
    with stub:
        assert glue.start_run(client, JOB, args) == "jr_9"
        with pytest.raises(NotDeployed):
            glue.start_run(client, "x", args)
