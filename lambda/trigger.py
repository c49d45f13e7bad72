"""AWS Lambda (Python 3.12): S3 ``ObjectCreated`` on ``raw/**.parquet`` -> ``glue:StartJobRun`` (refine job).

Deployed as a zip holding this file (handler ``trigger.handler``) next to the stdlib-only ``ibovcli``
modules it imports (``trigger``, ``datasets``, ``schema``); boto3 comes with the runtime.
Environment: ``GLUE_JOB_NAME`` (required), ``START_RETRY_SECONDS`` (optional, default 60).

This file only adapts S3's event to a list of keys and talks to Glue; what to refine is decided by
:func:`ibovcli.trigger.refine_requests` (the same call the local engine makes): every raw file of every
dataset (:mod:`ibovcli.datasets`) asks for a refine of its unit (a portfolio day, an index's levels),
one request per bucket and unit however many files the event carries; every other key is ignored.

For each unit, the Lambda starts one job run with the trigger's arguments (``--dataset``, ``--unit``,
``--bucket``), queued when the job is busy, unless a run of the same unit has not listed the unit's raw
files yet (``STARTING`` or ``WAITING``: it will read this file too; :func:`ibovcli.trigger.covering_run`).
A ``RUNNING`` run may already have listed the files, so it never stops a new run: the new run queues
behind it (``MaxConcurrentRuns: 1`` + queuing) and refines the unit again, which is idempotent. Only
the first two pages of ``GetJobRuns`` (up to 400 runs, newest first) are examined: runs that have not
listed yet are the newest ones.

``ConcurrentRunsExceededException`` and ``ThrottlingException`` are retried with full-jitter exponential
backoff until ``START_RETRY_SECONDS`` (or the invocation's remaining time, less a margin) runs out; then
the error is raised, like every other failure, so Lambda's async retries and the ``Errors`` metric see
it. There is no fake success: a failed invocation raises.

Log lines are JSON objects, one per line, on stdout.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import time
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from ibovcli import trigger

RETRYABLE_ERRORS = frozenset({"ConcurrentRunsExceededException", "ThrottlingException"})
RUN_PAGES = 2
RUN_PAGE_SIZE = 200  # GetJobRuns' maximum
DEFAULT_RETRY_SECONDS = 60.0
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 20.0
#: Time kept for logging and returning when the retry budget is cut by the Lambda timeout.
TIMEOUT_MARGIN = 5.0


class _JsonLines(logging.Handler):
    """One JSON object per line on stdout (CloudWatch keeps each line as one event)."""

    def emit(self, record: logging.LogRecord) -> None:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "msg": record.getMessage(),
        }
        if _request_id:
            entry["request_id"] = _request_id
        entry.update(getattr(record, "fields", {}))
        try:
            sys.stdout.write(json.dumps(entry, default=str) + "\n")
            sys.stdout.flush()
        except Exception:  # pragma: no cover - logging must never break the handler
            self.handleError(record)


log = logging.getLogger("ibov.trigger")
for _old in [h for h in log.handlers if h.get_name() == "json-lines"]:  # module loaded again
    log.removeHandler(_old)
_handler = _JsonLines()
_handler.set_name("json-lines")
log.addHandler(_handler)
log.setLevel(logging.INFO)
log.propagate = False  # the runtime's root handler would print the same line again, not as JSON


def _log(level: int, msg: str, **fields: Any) -> None:
    log.log(level, msg, extra={"fields": fields})


_glue: Any = None
_request_id: str | None = None  # the current invocation's, added to every log line


def glue_client() -> Any:
    """The Glue client, created on first use (tests replace ``_glue`` or run under moto)."""
    global _glue
    if _glue is None:
        import boto3
        from botocore.config import Config

        _glue = boto3.client("glue", config=Config(retries={"mode": "standard", "max_attempts": 3}))
    return _glue


def object_keys(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(bucket, key)`` of every S3 record in an event; keys are URL-decoded as S3 encodes them."""
    out: list[tuple[str, str]] = []
    for record in event.get("Records") or []:
        s3 = record.get("s3") if isinstance(record, Mapping) else None
        if not isinstance(s3, Mapping):
            continue
        bucket = (s3.get("bucket") or {}).get("name")
        key = (s3.get("object") or {}).get("key")
        if isinstance(bucket, str) and isinstance(key, str):
            out.append((bucket, urllib.parse.unquote_plus(key)))
    return out


def recent_runs(glue: Any, job_name: str) -> list[dict[str, Any]]:
    """The job's newest runs (the first :data:`RUN_PAGES` pages of ``GetJobRuns``)."""
    runs: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(RUN_PAGES):
        kwargs: dict[str, Any] = {"JobName": job_name, "MaxResults": RUN_PAGE_SIZE}
        if token:
            kwargs["NextToken"] = token
        page = glue.get_job_runs(**kwargs)
        runs.extend(page.get("JobRuns", []))
        token = page.get("NextToken")
        if not token:
            break
    return runs


def start_run(
    glue: Any,
    job_name: str,
    arguments: dict[str, str],
    *,
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> str:
    """``StartJobRun``, retrying concurrency/throttling errors with full-jitter backoff until ``deadline``."""
    rng = rng or random.Random()
    backoff = FIRST_BACKOFF
    attempt = 1
    while True:
        try:
            response = glue.start_job_run(JobName=job_name, Arguments=arguments, JobRunQueuingEnabled=True)
            run_id: str = response["JobRunId"]
            return run_id
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            remaining = deadline - clock()
            if code not in RETRYABLE_ERRORS or remaining <= 0:
                raise
            pause = min(remaining, rng.uniform(0, backoff))
            _log(
                logging.WARNING,
                "start retry",
                arguments=arguments,
                error=code,
                attempt=attempt,
                sleep_s=round(pause, 3),
            )
            sleep(pause)
            backoff = min(backoff * 2, MAX_BACKOFF)
            attempt += 1


def process(
    event: Mapping[str, Any],
    *,
    glue: Any,
    job_name: str,
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Start (or skip) one refine run per unit of the event; returns what was started and skipped."""
    objects = object_keys(event)
    requests = [
        request
        for bucket in sorted({b for b, _ in objects})
        for request in trigger.refine_requests(bucket, [k for b, k in objects if b == bucket])
    ]
    wanted = {(r.bucket, key) for r in requests for key in r.keys}
    ignored = [key for bucket, key in objects if (bucket, key) not in wanted]
    for key in ignored:
        _log(logging.INFO, "ignored key", key=key)
    summary: dict[str, Any] = {"job": job_name, "started": [], "skipped": [], "ignored": ignored}
    for request in requests:
        summary_entry = _one_unit(request, glue, job_name, deadline, clock, sleep)
        summary["started" if "run_id" in summary_entry else "skipped"].append(summary_entry)
    return summary


def _one_unit(
    request: trigger.RefineRequest,
    glue: Any,
    job_name: str,
    deadline: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    arguments = request.job_arguments()
    base = {"unit": str(request.unit), "bucket": request.bucket, "keys": list(request.keys)}
    try:
        waiting = trigger.covering_run(recent_runs(glue, job_name), request.bucket, request.unit)
        if waiting is not None:
            entry = {**base, "waiting_run_id": waiting.get("Id"), "state": waiting.get("JobRunState")}
            _log(
                logging.INFO,
                "skipped: a run of this unit has not listed its files yet",
                job=job_name,
                **entry,
            )
            return entry
        run_id = start_run(glue, job_name, arguments, deadline=deadline, clock=clock, sleep=sleep)
    except Exception as exc:
        error = exc.response.get("Error", {}) if isinstance(exc, ClientError) else {}
        _log(
            logging.ERROR,
            "start failed",
            job=job_name,
            error=error.get("Code") or type(exc).__name__,
            detail=error.get("Message") or str(exc),
            **base,
        )
        raise
    entry = {**base, "run_id": run_id}
    _log(logging.INFO, "started", job=job_name, arguments=arguments, **entry)
    return entry


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point. Raises on any failure (so Lambda retries and counts an error)."""
    global _request_id
    _request_id = getattr(context, "aws_request_id", None)
    started = time.monotonic()
    job_name = os.environ.get("GLUE_JOB_NAME", "").strip()
    if not job_name:
        _log(logging.ERROR, "GLUE_JOB_NAME is not set")
        raise RuntimeError("GLUE_JOB_NAME is not set: the Lambda does not know which Glue job to start")
    budget = float(os.environ.get("START_RETRY_SECONDS") or DEFAULT_RETRY_SECONDS)
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining_ms):
        budget = min(budget, remaining_ms() / 1000.0 - TIMEOUT_MARGIN)
    summary = process(event, glue=glue_client(), job_name=job_name, deadline=started + budget)
    _log(
        logging.INFO,
        "done",
        started=len(summary["started"]),
        skipped=len(summary["skipped"]),
        ignored=len(summary["ignored"]),
        seconds=round(time.monotonic() - started, 3),
    )
    return summary
