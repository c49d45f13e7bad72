"""The trigger: which refine runs new raw files ask for, and which refine run already covers them.

The AWS Lambda (``lambda/trigger.py``, which adapts S3's event to a list of keys) and the local engine
both call :func:`refine_requests`, so the rule "a new raw file -> refine its whole unit" lives here once,
for every dataset (:mod:`ibovcli.datasets`). The refine job's arguments (:func:`job_arguments`,
:func:`parse_job_arguments`) and the Glue run states are defined here too, and :func:`covering_run` is
the one answer to "does a run of this unit already exist that will read these files?", used by the
Lambda (to avoid a second run) and by the AWS engine (to find the run its upload triggered).

Stdlib only: this module ships inside the Lambda's zip and the Glue job's modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ibovcli import datasets
from ibovcli.datasets import Unit

#: The refine job's arguments (Glue run arguments; the local runner uses the same names).
ARG_DATASET = "--dataset"
ARG_UNIT = "--unit"
ARG_BUCKET = "--bucket"
#: How portfolio runs were started before datasets existed (still understood).
LEGACY_ARG_DAY = "--dt"

#: Glue job run states after which nothing changes any more.
TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED"})
#: States of a run that has not finished.
ACTIVE_STATES = frozenset({"STARTING", "RUNNING", "STOPPING", "WAITING"})
#: States of a run that has not listed its unit's raw files yet: it will read files written now.
#: A RUNNING run may already have listed them, so it never covers a new file.
NOT_LISTED_STATES = frozenset({"STARTING", "WAITING"})


@dataclass(frozen=True)
class RefineRequest:
    """Refine every raw file of ``unit`` in ``bucket`` (one request per bucket and unit)."""

    bucket: str
    unit: Unit
    keys: tuple[str, ...]

    def job_arguments(self) -> dict[str, str]:
        return job_arguments(self.bucket, self.unit)


def job_arguments(bucket: str, unit: Unit) -> dict[str, str]:
    """The refine job's arguments for one unit."""
    return {ARG_DATASET: unit.dataset, ARG_UNIT: unit.value, ARG_BUCKET: bucket}


def parse_job_arguments(arguments: Mapping[str, str]) -> tuple[str | None, Unit] | None:
    """``(bucket, unit)`` of a run's arguments (``None`` if they name no valid unit)."""
    bucket = arguments.get(ARG_BUCKET)
    name = arguments.get(ARG_DATASET)
    value = arguments.get(ARG_UNIT)
    if name is None and LEGACY_ARG_DAY in arguments:
        name, value = datasets.PORTFOLIO.name, arguments[LEGACY_ARG_DAY]
    if name not in datasets.ALL or value is None or not datasets.get(name).valid_unit(value):
        return None
    return bucket, Unit(name, value)


def refine_requests(bucket: str, keys: Iterable[str]) -> list[RefineRequest]:
    """One :class:`RefineRequest` per unit among ``keys``, in dataset then unit order.

    Keys that are not raw files of a dataset (snapshots, refined files, other suffixes, impossible
    dates) are ignored.
    """
    grouped: dict[Unit, set[str]] = {}
    for key in keys:
        parsed = datasets.parse_raw_key(key)
        if parsed is not None:
            grouped.setdefault(parsed.unit, set()).add(key)
    order = list(datasets.ALL)
    return [
        RefineRequest(bucket, unit, tuple(sorted(found)))
        for unit, found in sorted(grouped.items(), key=lambda kv: (order.index(kv[0].dataset), kv[0].value))
    ]


def started_on(run: Mapping[str, Any]) -> datetime | None:
    """A run's ``StartedOn`` (UTC), or ``None``: a queued run may not have one yet."""
    value = run.get("StartedOn")
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _newest_first(run: Mapping[str, Any]) -> tuple[int, datetime]:
    started = started_on(run)
    # a run without StartedOn is queued: it starts after every run that has one
    return (1, datetime.max.replace(tzinfo=UTC)) if started is None else (0, started)


def runs_of(runs: Iterable[Mapping[str, Any]], bucket: str, unit: Unit) -> list[dict[str, Any]]:
    """The runs whose arguments name ``unit`` (and ``bucket``, when they name one), newest first."""
    out = []
    for run in runs:
        parsed = parse_job_arguments(run.get("Arguments") or {})
        if parsed is None or parsed[1] != unit or parsed[0] not in (None, bucket):
            continue
        out.append(dict(run))
    return sorted(out, key=_newest_first, reverse=True)


def covering_run(
    runs: Sequence[Mapping[str, Any]],
    bucket: str,
    unit: Unit,
    *,
    since: datetime | None = None,
    exclude: Iterable[str] = (),
) -> dict[str, Any] | None:
    """The newest run of ``unit`` that will read raw files written at ``since`` (or now), if any.

    A run covers them when it has not listed the unit's raw files yet (:data:`NOT_LISTED_STATES`), or,
    given ``since``, when it started at or after ``since`` (or has no start time yet). The Lambda asks
    without ``since``: it skips a new run only when one that has not listed yet exists. The AWS engine
    asks with the upload's time to find the run its upload triggered.
    """
    skip = set(exclude)
    for run in runs_of(runs, bucket, unit):
        if run.get("Id") in skip:
            continue
        if run.get("JobRunState") in NOT_LISTED_STATES:
            return run
        if since is not None:
            started = started_on(run)
            if started is None or started >= since:
                return run
    return None
