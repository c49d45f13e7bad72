"""`ibov status --watch`: follow the run in progress (a Glue run on AWS, a writer on the local lake)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws
from moto.moto_api import state_manager

from ibovcli.aws.clients import Aws
from ibovcli.engines.aws import AwsEngine
from ibovcli.engines.local import LocalEngine, LocalLake
from ibovcli.errors import JobFailed
from ibovcli.settings import Settings
from tests.aws_helpers import BUCKET, JOB, REGION, create_job


def test_local_watch_waits_for_the_writer(lake: Path) -> None:
    held = threading.Event()
    release = threading.Event()

    def writer() -> None:
        with LocalLake(lake).lock():
            held.set()
            release.wait(5)

    t = threading.Thread(target=writer)
    t.start()
    held.wait(5)
    notes: list[str] = []
    timer = threading.Timer(0.5, release.set)
    timer.start()
    t0 = time.monotonic()
    LocalEngine(Settings.load(lake_dir=lake)).watch(notes.append)
    assert time.monotonic() - t0 >= 0.4
    t.join()
    assert notes[0].startswith("an ibov command is writing") and notes[-1] == "it finished"


def test_local_watch_returns_at_once_when_idle(lake: Path) -> None:
    notes: list[str] = []
    LocalEngine(Settings.load(lake_dir=lake)).watch(notes.append)
    assert notes == ["no ibov command is writing to the lake"]


@pytest.fixture
def aws_engine() -> Iterator[tuple[AwsEngine, object]]:
    with mock_aws():
        aws = Aws.connect(region=REGION)
        create_job(aws.glue())
        engine = AwsEngine(
            aws, Settings.load(engine="aws", bucket=BUCKET, glue_job=JOB), sleep=lambda _s: None, poll_every=0
        )
        yield engine, aws.glue()


def test_aws_watch_follows_the_active_run(aws_engine: tuple[AwsEngine, object]) -> None:
    engine, client = aws_engine
    state_manager.set_transition(model_name="glue::job_run", transition={"progression": "manual", "times": 2})
    try:
        client.start_job_run(JobName=JOB, Arguments={"--dt": "2025-04-30"})  # type: ignore[attr-defined]
        notes: list[str] = []
        engine.watch(notes.append)
    finally:
        state_manager.unset_transition("glue::job_run")
    states = [n.rsplit(": ", 1)[-1] for n in notes if n.startswith("Glue run") and ": " in n]
    assert "running" in states and "succeeded" in states
    assert notes[0].startswith("following the Glue run") and "dt=2025-04-30" in notes[0]


def test_aws_watch_with_nothing_running(aws_engine: tuple[AwsEngine, object]) -> None:
    engine, _ = aws_engine
    notes: list[str] = []
    engine.watch(notes.append)
    assert notes == [f"no run of {JOB} in progress"]


def test_aws_watch_reports_a_failed_run(
    aws_engine: tuple[AwsEngine, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _ = aws_engine
    from ibovcli.aws import glue

    runs = [{"Id": "jr_1", "JobRunState": "RUNNING", "Arguments": {"--dt": "2025-04-30"}}]
    monkeypatch.setattr(glue, "job_runs", lambda *_a, **_k: runs)

    def fake_wait(*_a: object, **_k: object) -> dict[str, object]:
        raise JobFailed(
            "the Glue run jr_1 of ibov-refine (dt=2025-04-30) ended FAILED: AnalysisException: boom"
        )

    monkeypatch.setattr(glue, "wait_job_run", fake_wait)
    with pytest.raises(JobFailed, match="AnalysisException: boom"):
        engine.watch(lambda _m: None)
