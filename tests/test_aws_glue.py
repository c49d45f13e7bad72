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

from ibovcli.aws import glue
from ibovcli.errors import JobFailed, NotDeployed
from tests.aws_helpers import BUCKET, JOB, REGION, FakeClock, create_job

DAY = date(2025, 4, 30)
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
        "Arguments": {"--dt": day, "--bucket": bucket},
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
    assert str(caught.value) == f"the Glue run jr_1 of {JOB} (dt=2025-04-30) ended FAILED: {message}"
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


def test_find_picks_the_newest_run_of_the_day_started_after_the_upload() -> None:
    since = T0
    runs = [
        run("old", "2025-04-30", T0 - timedelta(minutes=5), "SUCCEEDED"),  # an earlier upload's
        run("other-day", "2025-05-05", T0 + timedelta(seconds=3)),
        run("other-bucket", "2025-04-30", T0 + timedelta(seconds=4), bucket="someone-else"),
        run("first", "2025-04-30", T0 + timedelta(seconds=2), "WAITING"),
        run("mine", "2025-04-30", T0 + timedelta(seconds=5), "WAITING"),
    ]
    assert [r["Id"] for r in glue.runs_for_day(runs, DAY, since, BUCKET)] == ["mine", "first"]
    client, stub = stubbed()
    stub.add_response("get_job_runs", {"JobRuns": []}, {"JobName": JOB, "MaxResults": 100})
    stub.add_response("get_job_runs", {"JobRuns": runs[:3]}, {"JobName": JOB, "MaxResults": 100})
    stub.add_response("get_job_runs", {"JobRuns": runs}, {"JobName": JOB, "MaxResults": 100})
    clock = FakeClock()
    with stub:
        found = glue.find_triggered_run(
            client, JOB, DAY, since, bucket=BUCKET, every=3, grace=60, sleep=clock.sleep, clock=clock
        )
    assert found["Id"] == "mine"
    assert clock.sleeps == [3, 3]


def test_find_gives_up_with_a_hint_when_no_run_appears() -> None:
    client, stub = stubbed()
    for _ in range(5):
        stub.add_response("get_job_runs", {"JobRuns": []}, {"JobName": JOB, "MaxResults": 100})
    clock = FakeClock()
    with stub, pytest.raises(JobFailed, match="no run of the Glue job") as caught:
        glue.find_triggered_run(client, JOB, DAY, T0, timeout=10, every=3, sleep=clock.sleep, clock=clock)
    assert "trigger" in caught.value.hint


def test_find_falls_back_to_the_days_active_run_the_lambda_left_alone() -> None:
    # the Lambda starts no run when one for the same day is still queued: after the grace period the
    # active run (started before the upload) is the one that will read the new file
    queued = run("queued", "2025-04-30", T0 - timedelta(seconds=30), "RUNNING")
    done = run("done", "2025-04-30", T0 - timedelta(minutes=9), "SUCCEEDED")
    client, stub = stubbed()
    for _ in range(3):
        stub.add_response("get_job_runs", {"JobRuns": [queued, done]}, {"JobName": JOB, "MaxResults": 100})
    clock = FakeClock()
    with stub:
        found = glue.find_triggered_run(
            client, JOB, DAY, T0, grace=5, every=3, sleep=clock.sleep, clock=clock
        )
    assert found["Id"] == "queued"
    assert clock.sleeps == [3, 3]


def test_newer_run_supersedes_the_followed_one() -> None:
    followed = run("a", "2025-04-30", T0, "SUCCEEDED")
    later = run("b", "2025-04-30", T0 + timedelta(seconds=40), "WAITING")
    client, stub = stubbed()
    stub.add_response("get_job_runs", {"JobRuns": [later, followed]}, {"JobName": JOB, "MaxResults": 100})
    stub.add_response("get_job_runs", {"JobRuns": [followed]}, {"JobName": JOB, "MaxResults": 100})
    with stub:
        assert glue.newer_run(client, JOB, DAY, followed)["Id"] == "b"  # type: ignore[index]
        assert glue.newer_run(client, JOB, DAY, followed) is None


def test_recent_runs_and_catalog_days(moto_glue: Any) -> None:
    for day in ("2025-04-30", "2025-05-05"):
        moto_glue.start_job_run(JobName=JOB, Arguments={"--dt": day, "--bucket": BUCKET})
    runs = glue.recent_runs(moto_glue, JOB, last=10)
    assert sorted(r.day for r in runs if r.day) == ["2025-04-30", "2025-05-05"]
    assert {r.as_json()["state"] for r in runs} == {"succeeded"}
    assert all(r.as_json()["command"].startswith("glue refine dt=") for r in runs)

    assert glue.catalog_days(moto_glue, "default", "ibov_refined") == []  # no table yet
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
    assert glue.catalog_days(moto_glue, "default", "ibov_refined") == ["2025-04-30", "2025-05-05"]


def test_start_run_passes_the_lambdas_arguments() -> None:
    client, stub = stubbed()
    args = {"--dt": "2025-04-30", "--bucket": BUCKET}
    stub.add_response("start_job_run", {"JobRunId": "jr_9"}, {"JobName": JOB, "Arguments": args})
    stub.add_client_error(
        "start_job_run", "EntityNotFoundException", "no job", 400, {"JobName": "x", "Arguments": ANY}
    )
    with stub:
        assert glue.start_run(client, JOB, args) == "jr_9"
        with pytest.raises(NotDeployed):
            glue.start_run(client, "x", args)
