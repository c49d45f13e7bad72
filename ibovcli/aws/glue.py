"""Glue: start the refine job, list its runs, follow one to the end, read the catalog's partitions.

Which run covers a unit is decided by :func:`ibovcli.trigger.covering_run` (shared with the Lambda);
this module only talks to Glue.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ibovcli import trigger
from ibovcli.aws.clients import error_code
from ibovcli.errors import JobFailed, NotDeployed

if TYPE_CHECKING:
    from mypy_boto3_glue import GlueClient

Sleep = Callable[[float], None]
Clock = Callable[[], float]
OnState = Callable[[str, Mapping[str, Any]], None]


def _ignore_state(_state: str, _run: Mapping[str, Any]) -> None:
    return None


def _job_missing(exc: BaseException, job: str) -> NotDeployed | None:
    if error_code(exc) == "EntityNotFoundException":
        return NotDeployed(f"the Glue job {job} does not exist")
    return None


def job_runs(client: GlueClient, job: str, *, pages: int = 3, page_size: int = 100) -> list[dict[str, Any]]:
    """The job's most recent runs (up to ``pages * page_size``), newest first (queued runs first)."""
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
    never = datetime.max.replace(tzinfo=UTC)
    return sorted(runs, key=lambda r: trigger.started_on(r) or never, reverse=True)


def start_run(client: GlueClient, job: str, arguments: dict[str, str]) -> str:
    """Start ``job`` with ``arguments``, queued when the job is busy (what the Lambda does); the run id."""
    from botocore.exceptions import ClientError

    try:
        response = client.start_job_run(JobName=job, Arguments=arguments, JobRunQueuingEnabled=True)
    except ClientError as exc:
        missing = _job_missing(exc, job)
        if missing:
            raise missing from None
        raise
    return response["JobRunId"]


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
        if state in trigger.TERMINAL_STATES:
            break
        if deadline is not None and clock() >= deadline:
            raise JobFailed(
                f"the Glue run {run_id} of {job} is still {state} after {timeout:.0f}s",
                hint="It carries on in AWS; follow it with `ibov status --engine aws --watch`.",
            )
        sleep(every)
    if state != "SUCCEEDED":
        reason = run.get("ErrorMessage") or "no error message"
        parsed = trigger.parse_job_arguments(run.get("Arguments") or {})
        what = f"the Glue run {run_id} of {job}" + (f" ({parsed[1]})" if parsed else "")
        raise JobFailed(f"{what} ended {state}: {reason}")
    return run


def run_seconds(run: Mapping[str, Any]) -> float:
    """How long a run took (Glue's ExecutionTime, else CompletedOn - StartedOn)."""
    if run.get("ExecutionTime"):
        return float(run["ExecutionTime"])
    started, completed = trigger.started_on(run), run.get("CompletedOn")
    if started is not None and isinstance(completed, datetime):
        done = completed if completed.tzinfo else completed.replace(tzinfo=UTC)
        return (done - started).total_seconds()
    return 0.0


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    what: str | None
    state: str
    started_at: datetime | None
    seconds: float
    error: str | None


def recent_runs(client: GlueClient, job: str, last: int = 10) -> list[RunSummary]:
    """The job's ``last`` runs, oldest first (like the local run log)."""
    out = []
    for r in reversed(job_runs(client, job, pages=1, page_size=max(1, min(last, 200)))[:last]):
        parsed = trigger.parse_job_arguments(r.get("Arguments") or {})
        out.append(
            RunSummary(
                run_id=r["Id"],
                what=str(parsed[1]) if parsed else None,
                state=r.get("JobRunState", ""),
                started_at=trigger.started_on(r),
                seconds=run_seconds(r),
                error=r.get("ErrorMessage"),
            )
        )
    return out


def partition_values(client: GlueClient, database: str, table: str) -> list[list[str]]:
    """The values of every catalog partition of the table (what Athena can see)."""
    from botocore.exceptions import ClientError

    out: list[list[str]] = []
    try:
        pages = client.get_paginator("get_partitions").paginate(
            DatabaseName=database, TableName=table, ExcludeColumnSchema=True
        )
        for page in pages:
            out.extend(list(p.get("Values") or []) for p in page.get("Partitions", []))
    except ClientError as exc:
        if error_code(exc) == "EntityNotFoundException":
            return []
        raise
    return out


def delete_partitions(client: GlueClient, database: str, table: str, key: str, value: str) -> int:
    """Remove the catalog partitions whose ``key`` partition column is ``value`` (25 per call, as Glue
    allows); how many went. A missing table has none."""
    from botocore.exceptions import ClientError

    expression = f"{key} = '{value}'"
    try:
        pages = client.get_paginator("get_partitions").paginate(
            DatabaseName=database, TableName=table, Expression=expression, ExcludeColumnSchema=True
        )
        found = [list(p["Values"]) for page in pages for p in page.get("Partitions", [])]
    except ClientError as exc:
        if error_code(exc) == "EntityNotFoundException":
            return 0
        raise
    for start in range(0, len(found), 25):
        chunk = found[start : start + 25]
        client.batch_delete_partition(
            DatabaseName=database, TableName=table, PartitionsToDelete=[{"Values": v} for v in chunk]
        )
    return len(found)
