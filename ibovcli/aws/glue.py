"""Glue: find the job run an upload triggered, follow it to the end, list recent runs and catalog days."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ibovcli.aws.clients import error_code
from ibovcli.errors import JobFailed, NotDeployed

if TYPE_CHECKING:
    from mypy_boto3_glue import GlueClient

#: Job run states after which nothing changes any more.
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED"})
#: Job run states of a run that has not finished.
ACTIVE = frozenset({"STARTING", "RUNNING", "STOPPING", "WAITING"})

Sleep = Callable[[float], None]
Clock = Callable[[], float]
OnState = Callable[[str, Mapping[str, Any]], None]


def _ignore_state(_state: str, _run: Mapping[str, Any]) -> None:
    return None


def _job_missing(exc: BaseException, job: str) -> NotDeployed | None:
    if error_code(exc) == "EntityNotFoundException":
        return NotDeployed(f"the Glue job {job} does not exist")
    return None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def job_runs(client: GlueClient, job: str, *, pages: int = 3, page_size: int = 100) -> list[dict[str, Any]]:
    """The job's most recent runs (up to ``pages * page_size``), newest first."""
    from botocore.exceptions import ClientError

    runs: list[dict[str, Any]] = []
    token: str | None = None
    try:
        for _ in range(pages):
            kwargs: dict[str, Any] = {"JobName": job, "MaxResults": page_size}
            if token:
                kwargs["NextToken"] = token
            page = client.get_job_runs(**kwargs)
            runs.extend(dict(r) for r in page.get("JobRuns", []))
            token = page.get("NextToken")
            if not token:
                break
    except ClientError as exc:
        missing = _job_missing(exc, job)
        if missing:
            raise missing from None
        raise
    return sorted(runs, key=lambda r: _aware(r["StartedOn"]), reverse=True)


def runs_for_day(
    runs: list[dict[str, Any]], day: date, since: datetime, bucket: str | None = None
) -> list[dict[str, Any]]:
    """Runs whose ``--dt`` argument is ``day`` (and ``--bucket`` is ``bucket``) started at or after
    ``since``, newest first."""
    out = []
    for run in runs:
        args = run.get("Arguments") or {}
        if args.get("--dt") != day.isoformat():
            continue
        if bucket is not None and args.get("--bucket", bucket) != bucket:
            continue
        if _aware(run["StartedOn"]) >= _aware(since):
            out.append(run)
    return sorted(out, key=lambda r: _aware(r["StartedOn"]), reverse=True)


def active_runs_for_day(
    runs: list[dict[str, Any]], day: date, bucket: str | None = None
) -> list[dict[str, Any]]:
    """Runs for ``day`` that have not finished, newest first."""
    epoch = datetime.min.replace(tzinfo=UTC)
    return [r for r in runs_for_day(runs, day, epoch, bucket) if r.get("JobRunState") in ACTIVE]


def find_triggered_run(
    client: GlueClient,
    job: str,
    day: date,
    since: datetime,
    *,
    bucket: str | None = None,
    grace: float = 30.0,
    timeout: float = 180.0,
    every: float = 3.0,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> dict[str, Any]:
    """The run of ``job`` that will refine ``day`` after an upload at ``since`` (minus a clock skew).

    That is the newest run for the day started at or after ``since``; S3 events reach the Lambda within
    seconds, sometimes a minute, so this waits up to ``timeout`` seconds for it to appear. The Lambda
    starts no new run while one for the same day is starting, running or waiting (that run lists the
    day's raw files again before it writes), so after ``grace`` seconds without a new run an active run
    of the day is taken instead.
    """
    started = clock()
    deadline = started + timeout
    while True:
        runs = job_runs(client, job, pages=1)
        found = runs_for_day(runs, day, since, bucket)
        if found:
            return found[0]
        if clock() - started >= grace:
            active = active_runs_for_day(runs, day, bucket)
            if active:
                return active[0]
        if clock() >= deadline:
            raise JobFailed(
                f"no run of the Glue job {job} for dt={day} started within {timeout:.0f}s of the upload "
                f"(looked for runs since {_aware(since).isoformat(timespec='seconds')})",
                hint="Is the S3 -> Lambda trigger deployed and working? Check the trigger's logs, its "
                "dead-letter queue and `ibov status --engine aws`.",
            )
        sleep(every)


def newer_run(
    client: GlueClient, job: str, day: date, than: Mapping[str, Any], bucket: str | None = None
) -> dict[str, Any] | None:
    """A run for ``day`` started after the run ``than`` (a late S3 event's run supersedes it)."""
    after = _aware(than["StartedOn"]) + timedelta(microseconds=1)
    runs = runs_for_day(job_runs(client, job, pages=1), day, after, bucket)
    found = [r for r in runs if r["Id"] != than["Id"]]
    return found[0] if found else None


def start_run(client: GlueClient, job: str, arguments: dict[str, str]) -> str:
    """Start ``job`` with ``arguments`` (what the Lambda does); returns the run id."""
    from botocore.exceptions import ClientError

    try:
        return client.start_job_run(JobName=job, Arguments=arguments)["JobRunId"]
    except ClientError as exc:
        missing = _job_missing(exc, job)
        if missing:
            raise missing from None
        raise


def wait_job_run(
    client: GlueClient,
    job: str,
    run_id: str,
    *,
    every: float = 5.0,
    timeout: float | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    on_state: OnState = _ignore_state,
) -> dict[str, Any]:
    """Poll the run until it reaches a terminal state; ``on_state(state, run)`` on every change.

    Raises :class:`JobFailed` carrying Glue's ``ErrorMessage`` unless the run SUCCEEDED, or when
    ``timeout`` seconds pass first (the run goes on in AWS).
    """
    from botocore.exceptions import ClientError

    deadline = None if timeout is None else clock() + timeout
    last = ""
    while True:
        try:
            response = client.get_job_run(JobName=job, RunId=run_id, PredecessorsIncluded=False)
            run: dict[str, Any] = dict(response["JobRun"])
        except ClientError as exc:
            missing = _job_missing(exc, job)
            if missing:
                raise missing from None
            raise
        state = str(run.get("JobRunState", ""))
        if state != last:
            on_state(state, run)
            last = state
        if state in TERMINAL:
            break
        if deadline is not None and clock() >= deadline:
            raise JobFailed(
                f"the Glue run {run_id} of {job} is still {state} after {timeout:.0f}s",
                hint="It carries on in AWS; follow it with `ibov status --engine aws`.",
            )
        sleep(every)
    if state != "SUCCEEDED":
        reason = run.get("ErrorMessage") or "no error message"
        dt = (run.get("Arguments") or {}).get("--dt")
        what = f"the Glue run {run_id} of {job}" + (f" (dt={dt})" if dt else "")
        raise JobFailed(f"{what} ended {state}: {reason}")
    return run


def run_seconds(run: Mapping[str, Any]) -> float:
    """How long a run took (Glue's ExecutionTime, else CompletedOn - StartedOn)."""
    if run.get("ExecutionTime"):
        return float(run["ExecutionTime"])
    started, completed = run.get("StartedOn"), run.get("CompletedOn")
    if isinstance(started, datetime) and isinstance(completed, datetime):
        return (_aware(completed) - _aware(started)).total_seconds()
    return 0.0


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    day: str | None
    state: str
    started_at: datetime
    seconds: float
    error: str | None

    def as_json(self) -> dict[str, Any]:
        """The shape of a local run log entry (``ibov status`` renders both)."""
        return {
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "command": f"glue refine dt={self.day}" if self.day else "glue refine",
            "state": self.state.lower(),
            "duration_s": round(self.seconds, 1),
            "error": self.error,
        }


def recent_runs(client: GlueClient, job: str, last: int = 10) -> list[RunSummary]:
    """The job's ``last`` runs, oldest first (like the local run log)."""
    runs = job_runs(client, job, pages=1, page_size=max(1, min(last, 200)))[:last]
    return [
        RunSummary(
            run_id=r["Id"],
            day=(r.get("Arguments") or {}).get("--dt"),
            state=r.get("JobRunState", ""),
            started_at=_aware(r["StartedOn"]),
            seconds=run_seconds(r),
            error=r.get("ErrorMessage"),
        )
        for r in reversed(runs)
    ]


def catalog_days(client: GlueClient, database: str, table: str) -> list[str]:
    """Distinct ``dt`` values among the table's catalog partitions (what Athena can see), sorted."""
    from botocore.exceptions import ClientError

    days: set[str] = set()
    try:
        pages = client.get_paginator("get_partitions").paginate(
            DatabaseName=database, TableName=table, ExcludeColumnSchema=True
        )
        for page in pages:
            for partition in page.get("Partitions", []):
                values = partition.get("Values") or []
                if values:
                    days.add(values[0])
    except ClientError as exc:
        if error_code(exc) == "EntityNotFoundException":
            return []
        raise
    return sorted(days)


def skewed(moment: datetime, seconds: float) -> datetime:
    """``moment`` minus a clock-skew allowance."""
    return _aware(moment) - timedelta(seconds=seconds)
