"""The S3 -> Glue trigger Lambda (lambda/trigger.py), against moto's Glue (no AWS is reached)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.glue.models import glue_backends
from moto.moto_api import state_manager

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_FILE = ROOT / "lambda" / "trigger.py"
JOB = "ibov-refine"
BUCKET = "ibov-data-123"
REGION = "us-east-1"


def load_lambda() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ibov_lambda_trigger", LAMBDA_FILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def lam(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = load_lambda()
    monkeypatch.setenv("GLUE_JOB_NAME", JOB)
    monkeypatch.setattr(module, "_glue", None)  # a fresh client, created under the test's moto mock
    return module


class Context:
    aws_request_id = "req-1"

    def __init__(self, remaining_ms: int = 300_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def record(key: str, *, bucket: str = BUCKET, when: datetime | None = None) -> dict[str, Any]:
    """One S3 notification record; ``key`` is used as given (already URL-encoded, as S3 sends it)."""
    rec: dict[str, Any] = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 1234}},
    }
    if when is not None:
        rec["eventTime"] = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return rec


def event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


@pytest.fixture
def glue(lam: ModuleType) -> Iterator[Any]:
    """moto Glue with the refine job (3 concurrent runs); runs keep their state until a test moves it."""
    state_manager.set_transition(
        model_name="glue::job_run", transition={"progression": "manual", "times": 10**9}
    )
    with mock_aws():
        client = boto3.client("glue", region_name=REGION)
        client.create_job(
            Name=JOB,
            Role="arn:aws:iam::123456789012:role/glue",
            Command={
                "Name": "glueetl",
                "ScriptLocation": "s3://artifacts/refine_job.py",
                "PythonVersion": "3",
            },
            GlueVersion="5.0",
            DefaultArguments={"--refined_table": "ibov_refined", "--database": "default"},
            ExecutionProperty={"MaxConcurrentRuns": 3},
        )
        yield client
    state_manager.unset_transition("glue::job_run")


def backend_runs() -> list[Any]:
    return list(glue_backends[DEFAULT_ACCOUNT_ID][REGION].jobs[JOB].job_runs)


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# ----------------------------------------------------------------------------------------------


def test_starts_one_run_with_the_day_and_bucket(
    lam: ModuleType, glue: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = lam.handler(event(record("raw/dt=2025-04-30/IBOV.parquet")), Context())

    runs = glue.get_job_runs(JobName=JOB)["JobRuns"]
    assert len(runs) == 1
    args = runs[0]["Arguments"]
    assert (args["--dataset"], args["--unit"], args["--bucket"]) == ("portfolio", "2025-04-30", BUCKET)
    assert args["--refined_table"] == "ibov_refined"  # the job's defaults still apply
    assert summary["started"] == [
        {
            "unit": "portfolio dt=2025-04-30",
            "bucket": BUCKET,
            "keys": ["raw/dt=2025-04-30/IBOV.parquet"],
            "run_id": runs[0]["Id"],
        }
    ]
    assert summary["skipped"] == [] and summary["ignored"] == []
    lines = log_lines(capsys)
    started = [line for line in lines if line["msg"] == "started"]
    assert (
        started and started[0]["run_id"] == runs[0]["Id"] and started[0]["unit"] == "portfolio dt=2025-04-30"
    )
    assert lines[-1]["msg"] == "done"
    assert {line["request_id"] for line in lines} == {"req-1"}


def test_one_run_per_day_within_an_event(lam: ModuleType, glue: Any) -> None:
    summary = lam.handler(
        event(
            record("raw/dt=2025-04-30/IBOV.parquet"),
            record("raw/dt=2025-04-30/IBXX.parquet"),
            record("raw/dt=2025-04-30/IBOV.parquet"),  # S3 delivers at least once
            record("raw/dt=2025-05-05/IBOV.parquet"),
            record("raw/levels/index_code=IBOV/2024.parquet"),
            record("raw/levels/index_code=IBOV/2025.parquet"),
        ),
        Context(),
    )
    units = sorted(
        (r["Arguments"]["--dataset"], r["Arguments"]["--unit"])
        for r in glue.get_job_runs(JobName=JOB)["JobRuns"]
    )
    assert units == [("levels", "IBOV"), ("portfolio", "2025-04-30"), ("portfolio", "2025-05-05")]
    assert [s["unit"] for s in summary["started"]] == [
        "portfolio dt=2025-04-30",
        "portfolio dt=2025-05-05",
        "levels index_code=IBOV",
    ]
    assert summary["started"][0]["keys"] == [
        "raw/dt=2025-04-30/IBOV.parquet",
        "raw/dt=2025-04-30/IBXX.parquet",
    ]


def test_url_encoded_keys_are_decoded(lam: ModuleType, glue: Any) -> None:
    # S3 URL-encodes keys in notifications: '=' arrives as %3D.
    summary = lam.handler(event(record("raw/dt%3D2025-04-30/IBOV.parquet")), Context())
    runs = glue.get_job_runs(JobName=JOB)["JobRuns"]
    assert [r["Arguments"]["--unit"] for r in runs] == ["2025-04-30"]
    assert summary["started"][0]["keys"] == ["raw/dt=2025-04-30/IBOV.parquet"]


def test_other_keys_are_ignored(lam: ModuleType, glue: Any, capsys: pytest.CaptureFixture[str]) -> None:
    keys = [
        "snapshots/dt=2025-04-30/IBOV.json",
        "refined/dt=2025-04-30/ticker=PETR4/part-0.parquet",
        "raw/dt=2025-13-40/IBOV.parquet",  # not a date
        "raw/dt=2025-04-30/IBOV.csv",
        "raw/dt=2025-04-30/nested/IBOV.parquet",
        "raw/IBOV.parquet",
        "raw/levels/index_code=IBOV/22.parquet",
        "raw/levels/IBOV/2022.parquet",
    ]
    summary = lam.handler(event(*(record(k) for k in keys)), Context())
    assert glue.get_job_runs(JobName=JOB)["JobRuns"] == []
    assert summary["started"] == [] and summary["skipped"] == []
    assert summary["ignored"] == keys
    assert [line["key"] for line in log_lines(capsys) if line["msg"] == "ignored key"] == keys


def test_skips_a_day_whose_run_has_not_started_reading(lam: ModuleType, glue: Any) -> None:
    lam.handler(event(record("raw/dt=2025-04-30/IBOV.parquet")), Context())
    assert [r.status for r in backend_runs()] == ["STARTING"]

    later = datetime.now(UTC) + timedelta(minutes=5)
    for state in ("STARTING", "WAITING"):
        backend_runs()[0].status = state
        summary = lam.handler(event(record("raw/dt=2025-04-30/IBXX.parquet", when=later)), Context())
        assert summary["started"] == []
        assert summary["skipped"] == [
            {
                "unit": "portfolio dt=2025-04-30",
                "bucket": BUCKET,
                "keys": ["raw/dt=2025-04-30/IBXX.parquet"],
                "waiting_run_id": backend_runs()[0].job_run_id,
                "state": state,
            }
        ]
    assert len(backend_runs()) == 1


def test_a_running_run_never_covers_a_new_file(lam: ModuleType, glue: Any) -> None:
    """A RUNNING run may already have listed the unit's raw files: a file landing now gets one more run
    (queued behind it, and idempotent), never nothing (which could leave the file unrefined)."""
    lam.handler(event(record("raw/dt=2025-04-30/IBOV.parquet")), Context())
    run = backend_runs()[0]
    run.status = "RUNNING"
    run.started_on = datetime.now(UTC).replace(tzinfo=None)  # moto keeps naive UTC

    summary = lam.handler(event(record("raw/dt=2025-04-30/IBXX.parquet")), Context())
    assert [s["unit"] for s in summary["started"]] == ["portfolio dt=2025-04-30"]
    assert summary["skipped"] == []
    # that new run has not listed yet: a third file waits for it instead of starting a fourth run
    summary = lam.handler(event(record("raw/dt=2025-04-30/SMLL.parquet")), Context())
    assert (
        summary["started"] == [] and summary["skipped"][0]["waiting_run_id"] == backend_runs()[1].job_run_id
    )
    assert len(backend_runs()) == 2

    # A run of another unit never covers this one.
    summary = lam.handler(event(record("raw/dt=2025-05-05/IBOV.parquet")), Context())
    assert [s["unit"] for s in summary["started"]] == ["portfolio dt=2025-05-05"]
    assert sorted(r.arguments["--unit"] for r in backend_runs()) == ["2025-04-30", "2025-04-30", "2025-05-05"]


def test_finished_runs_of_the_day_do_not_block(lam: ModuleType, glue: Any) -> None:
    lam.handler(event(record("raw/dt=2025-04-30/IBOV.parquet")), Context())
    for state in ("SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR"):
        backend_runs()[-1].status = state
        summary = lam.handler(event(record("raw/dt=2025-04-30/IBOV.parquet")), Context())
        assert len(summary["started"]) == 1
    assert len(backend_runs()) == 6


def test_only_two_pages_of_runs_are_examined(
    lam: ModuleType, glue: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lam, "RUN_PAGE_SIZE", 2)
    for day in ("2025-04-01", "2025-04-02", "2025-04-03", "2025-04-04", "2025-04-07"):
        glue.start_job_run(JobName=JOB, Arguments={"--dt": day, "--bucket": BUCKET})
        backend_runs()[-1].status = "SUCCEEDED"
    backend_runs()[2].status = "WAITING"  # 2025-04-03, on the second page (moto lists oldest first)
    backend_runs()[4].status = "WAITING"  # 2025-04-07, on the third page
    s1 = lam.handler(event(record("raw/dt=2025-04-03/IBOV.parquet")), Context())
    s2 = lam.handler(event(record("raw/dt=2025-04-07/IBOV.parquet")), Context())
    assert s1["skipped"] and not s1["started"]
    assert s2["started"] and not s2["skipped"]


# ---------------------------------------------------------------------------------------------- retries


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


def test_concurrent_runs_exceeded_is_retried_until_the_slot_frees(lam: ModuleType, glue: Any) -> None:
    glue.create_job(
        Name="one-slot",
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://artifacts/refine_job.py"},
        ExecutionProperty={"MaxConcurrentRuns": 1},
    )
    glue.start_job_run(JobName="one-slot", Arguments={"--dt": "2025-04-29", "--bucket": BUCKET})
    blocking = glue_backends[DEFAULT_ACCOUNT_ID][REGION].jobs["one-slot"].job_runs[0]
    blocking.status = "RUNNING"
    clock = FakeClock()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.sleeps) == 3:
            blocking.status = "SUCCEEDED"

    summary = lam.process(
        event(record("raw/dt=2025-04-30/IBOV.parquet")),
        glue=glue,
        job_name="one-slot",
        deadline=clock() + 60,
        clock=clock,
        sleep=sleep,
    )
    assert [s["unit"] for s in summary["started"]] == ["portfolio dt=2025-04-30"]
    assert len(clock.sleeps) == 3
    # full jitter: each pause is at most the (doubling) backoff
    assert all(0 <= s <= cap for s, cap in zip(clock.sleeps, [1, 2, 4], strict=True))
    runs = glue.get_job_runs(JobName="one-slot")["JobRuns"]
    assert sorted(r["Arguments"].get("--unit", r["Arguments"].get("--dt")) for r in runs) == [
        "2025-04-29",
        "2025-04-30",
    ]


def test_concurrent_runs_exceeded_is_raised_when_time_runs_out(
    lam: ModuleType, glue: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    glue.create_job(
        Name="one-slot",
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://artifacts/refine_job.py"},
        ExecutionProperty={"MaxConcurrentRuns": 1},
    )
    glue.start_job_run(JobName="one-slot", Arguments={"--dt": "2025-04-29", "--bucket": BUCKET})
    clock = FakeClock()
    with pytest.raises(ClientError) as info:
        lam.process(
            event(record("raw/dt=2025-04-30/IBOV.parquet")),
            glue=glue,
            job_name="one-slot",
            deadline=clock() + 30,
            clock=clock,
            sleep=clock.sleep,
        )
    assert info.value.response["Error"]["Code"] == "ConcurrentRunsExceededException"
    assert sum(clock.sleeps) == pytest.approx(30)  # bounded by the deadline, not by a count
    assert len(clock.sleeps) >= 4
    lines = log_lines(capsys)
    assert [line["attempt"] for line in lines if line["msg"] == "start retry"] == list(
        range(1, len(clock.sleeps) + 1)
    )
    failed = [line for line in lines if line["msg"] == "start failed"]
    assert (
        failed
        and failed[0]["error"] == "ConcurrentRunsExceededException"
        and failed[0]["unit"] == "portfolio dt=2025-04-30"
    )


def test_throttling_is_retried_and_other_errors_are_not(lam: ModuleType) -> None:
    client = boto3.client("glue", region_name=REGION, config=Config(retries={"max_attempts": 1}))
    stub = Stubber(client)
    expected = {
        "JobName": JOB,
        "Arguments": {"--dataset": "portfolio", "--unit": "2025-04-30", "--bucket": BUCKET},
        "JobRunQueuingEnabled": True,
    }
    stub.add_response("get_job_runs", {"JobRuns": []}, {"JobName": JOB, "MaxResults": 200})
    stub.add_client_error(
        "start_job_run", "ThrottlingException", "Rate exceeded", 400, expected_params=expected
    )
    stub.add_client_error(
        "start_job_run", "ThrottlingException", "Rate exceeded", 400, expected_params=expected
    )
    stub.add_response("start_job_run", {"JobRunId": "jr_ok"}, expected)
    clock = FakeClock()
    with stub:
        summary = lam.process(
            event(record("raw/dt=2025-04-30/IBOV.parquet")),
            glue=client,
            job_name=JOB,
            deadline=clock() + 60,
            clock=clock,
            sleep=clock.sleep,
        )
    stub.assert_no_pending_responses()
    assert summary["started"][0]["run_id"] == "jr_ok" and len(clock.sleeps) == 2

    stub = Stubber(client)
    stub.add_response("get_job_runs", {"JobRuns": []}, {"JobName": JOB, "MaxResults": 200})
    stub.add_client_error("start_job_run", "AccessDeniedException", "no glue:StartJobRun", 400)
    with stub, pytest.raises(ClientError, match="AccessDenied"):
        lam.process(
            event(record("raw/dt=2025-04-30/IBOV.parquet")),
            glue=client,
            job_name=JOB,
            deadline=clock() + 60,
            clock=clock,
            sleep=clock.sleep,
        )
    assert len(clock.sleeps) == 2  # no retry for a non-retryable error


def test_errors_propagate_from_the_handler(
    lam: ModuleType, glue: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GLUE_JOB_NAME", "no-such-job")
    with pytest.raises(ClientError) as info:
        lam.handler(event(record("raw/dt=2025-04-30/IBOV.parquet")), Context())
    assert info.value.response["Error"]["Code"] == "EntityNotFoundException"
    assert any(line["msg"] == "start failed" for line in log_lines(capsys))

    monkeypatch.delenv("GLUE_JOB_NAME")
    with pytest.raises(RuntimeError, match="GLUE_JOB_NAME"):
        lam.handler(event(record("raw/dt=2025-04-30/IBOV.parquet")), Context())


def test_retry_budget_is_cut_by_the_lambda_timeout(lam: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, float] = {}

    def fake_process(evt: Any, *, glue: Any, job_name: str, deadline: float) -> dict[str, Any]:
        seen["budget"] = deadline - lam.time.monotonic()
        return {"job": job_name, "started": [], "skipped": [], "ignored": []}

    monkeypatch.setattr(lam, "process", fake_process)
    monkeypatch.setattr(lam, "_glue", object())
    monkeypatch.setenv("START_RETRY_SECONDS", "120")
    lam.handler(event(), Context(remaining_ms=30_000))
    assert 24 < seen["budget"] <= 25  # 30 s left - 5 s margin
    lam.handler(event(), Context(remaining_ms=900_000))
    assert 119 < seen["budget"] <= 120


def test_every_log_line_is_one_json_object(
    lam: ModuleType, glue: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    lam.handler(
        event(record("raw/dt=2025-04-30/IBOV.parquet"), record("snapshots/dt=2025-04-30/IBOV.json")),
        Context(),
    )
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 3
    for line in lines:
        obj = json.loads(line)
        assert {"time", "level", "msg"} <= set(obj)


def test_the_lambda_zip_needs_only_its_stdlib_ibovcli_modules(tmp_path: Path) -> None:
    """Run the handler from a folder laid out like the Lambda zip, without the installed package."""
    pkg = tmp_path / "ibovcli"
    pkg.mkdir()
    shutil.copy(LAMBDA_FILE, tmp_path / "trigger.py")
    for name in ("__init__.py", "datasets.py", "schema.py", "trigger.py"):
        shutil.copy(ROOT / "ibovcli" / name, pkg / name)
    site = sysconfig.get_paths()["purelib"]
    code = (
        "import json, sys, trigger\n"
        "out = trigger.handler({'Records': [{'s3': {'bucket': {'name': 'b'}, "
        "'object': {'key': 'snapshots/dt=2025-04-30/IBOV.json'}}}]}, None)\n"
        "mods = sorted(m for m in sys.modules if m.split('.')[0] == 'ibovcli')\n"
        "print(json.dumps({'out': out, 'mods': mods, 'file': sys.modules['ibovcli'].__file__}))\n"
    )
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{site}", "GLUE_JOB_NAME": "j", "PATH": os.environ["PATH"]}
    env.update({k: v for k, v in os.environ.items() if k.startswith("AWS_")})
    proc = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["mods"] == ["ibovcli", "ibovcli.datasets", "ibovcli.schema", "ibovcli.trigger"]
    assert result["file"].startswith(str(tmp_path))
    assert result["out"]["ignored"] == ["snapshots/dt=2025-04-30/IBOV.json"]
