"""What every engine offers (:class:`Engine`) and the typed results it returns.

An engine stores raw files, refines units (:mod:`ibovcli.datasets`), runs SQL on the catalog tables and
reports what it holds. The local engine does all of it in-process (a lake directory + DuckDB); the AWS
engine writes to S3, follows the Glue runs that its uploads trigger and queries Athena. The pipeline
(:mod:`ibovcli.pipeline`) orchestrates an engine; engines never import the pipeline.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from ibovcli.datasets import Unit
from ibovcli.rawfiles import RawWrite

Notify = Callable[[str], None]


def quiet(_msg: str) -> None:
    return None


@dataclass(frozen=True)
class RefineResult:
    """One refine of one unit (a local refine or a Glue job run)."""

    unit: Unit
    rows: int
    indices: tuple[str, ...]
    seconds: float
    run_id: str = ""
    #: raw files of the unit left out because they cannot be read (key: why); the rest is refined
    damaged: tuple[tuple[str, str], ...] = ()

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "dataset": self.unit.dataset,
            "unit": self.unit.folder,
            "rows": self.rows,
            "indices": list(self.indices),
            "seconds": round(self.seconds, 3),
            "run_id": self.run_id,
        }
        if self.damaged:
            out["damaged"] = [{"key": k, "why": why} for k, why in self.damaged]
        return out


@dataclass
class Removal:
    """What ``ibov rm`` removes (or, before confirmation, would remove): stored files and their rows,
    then what became of each unit they belonged to."""

    #: raw keys and their originals under snapshots/ that exist
    keys: list[str]
    #: raw rows those raw files hold (the refined and catalog rows that go with them)
    rows: int
    #: units refined again from their remaining raw files
    refined: list[RefineResult] = field(default_factory=list)
    #: units left with no raw file at all: their refined data and catalog rows removed
    cleared: list[Unit] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "removed": self.keys,
            "rows": self.rows,
            "refined": [r.as_json() for r in self.refined],
            "cleared": [{"dataset": u.dataset, "unit": u.folder} for u in self.cleared],
        }


@dataclass(frozen=True)
class RunRecord:
    """One entry of the run log (a local command, or a Glue job run on AWS)."""

    started_at: str
    command: str
    state: str  # succeeded | failed | interrupted | running
    duration_s: float | None = None
    error: str | None = None
    run_id: str = ""
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(out.pop("details"))
        return out


@dataclass(frozen=True)
class Coverage:
    """What one dataset holds for one index (``index`` is ``''`` for datasets not split by index).

    ``first``/``last`` are days (ISO) or years; ``missing`` lists the B3 trading days between them
    that hold no data (the portfolio's days, the levels' sessions).
    """

    dataset: str
    index: str
    first: str | None
    last: str | None
    stored: int
    refined: int
    missing: tuple[str, ...] = ()
    #: what ``stored`` counts: days, sessions, files...
    unit: str = "days"

    def as_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "index": self.index,
            "first": self.first,
            "last": self.last,
            "stored": self.stored,
            "refined": self.refined,
            "counts": self.unit,
            "missing": len(self.missing),
            "missing_days": list(self.missing),
        }


@dataclass(frozen=True)
class StatusReport:
    engine: str
    location: str
    coverage: tuple[Coverage, ...]
    runs: tuple[RunRecord, ...]
    #: units whose raw files changed since their last refine (refined at the next write, or `ibov refine`)
    pending: tuple[str, ...] = ()
    #: aws: the stack's name, state and outputs
    stack: dict[str, Any] | None = None
    resources: dict[str, Any] = field(default_factory=dict)

    def of(self, dataset: str) -> list[Coverage]:
        return [c for c in self.coverage if c.dataset == dataset]

    def freshness(self, today: date | None = None) -> list[str]:
        """One line per index: its last stored portfolio and how many B3 trading days ago that was."""
        from ibovcli.tradingdays import trading_days

        today = today or datetime.now(UTC).date()
        out = []
        for c in self.of("portfolio"):
            if c.last is None:
                continue
            last = date.fromisoformat(c.last)
            if last >= today:
                age = "today" if last == today else "the next session"
            else:
                n = len(trading_days(last + timedelta(days=1), today))
                age = f"{n} trading day{'s' if n != 1 else ''} ago"
            out.append(f"{c.index}: last session {c.last}, {age}")
        return out

    def rebalances(self, today: date | None = None) -> list[Any]:
        """The next rebalance of every index with a stored portfolio, theoretical portfolio or preview
        (:func:`ibovcli.periods.next_rebalance`), from the coverage: no extra read of the lake."""
        from ibovcli.periods import brasilia_today, next_rebalance

        today = today or brasilia_today()
        indices = sorted(
            {
                c.index
                for c in self.coverage
                if c.dataset in ("portfolio", "theoretical", "preview") and c.index
            }
        )
        stored = {
            c.index: {label for label in (c.first, c.last) if label}
            for c in self.coverage
            if c.dataset == "preview"
        }
        return [next_rebalance(i, today, stored.get(i, ())) for i in indices]

    def as_json(self) -> dict[str, Any]:
        return {
            "rebalances": [r.as_json() for r in self.rebalances()],
            "engine": self.engine,
            "lake": self.location,
            "stack": self.stack,
            "resources": self.resources,
            "coverage": [c.as_json() for c in self.coverage],
            "pending": list(self.pending),
            "runs": [r.as_json() for r in self.runs],
        }


@dataclass(frozen=True)
class UnitCheck:
    """One unit and index, counted in each zone: raw rows = refined rows = catalog rows when all is well."""

    dataset: str
    unit: str  # the unit's folder, e.g. dt=2025-07-10
    index: str
    raw_rows: int
    refined_rows: int
    catalog_rows: int
    #: raw files of the unit that cannot be read (key: why)
    damaged: tuple[tuple[str, str], ...] = ()
    #: the unit's raw files changed since its refine (or it was never refined)
    stale: bool = False

    @property
    def ok(self) -> bool:
        return not self.damaged and not self.stale and self.raw_rows == self.refined_rows == self.catalog_rows

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["damaged"] = [{"key": k, "why": why} for k, why in self.damaged]
        out["ok"] = self.ok
        return out


def compact_checks(
    expected: dict[tuple[str, str], int],
    found: dict[tuple[str, str], int],
    stale: frozenset[str] = frozenset(),
) -> list[UnitCheck]:
    """The compact copy's checks, one per month and index: the refined rows it was built from
    (``expected``, shown as both raw and catalog rows) against the rows its files hold (``found``)."""
    from ibovcli import datasets

    spec = datasets.COMPACT
    return [
        UnitCheck(
            spec.name,
            spec.month_folder(month),
            index,
            expected.get((month, index), 0),
            found.get((month, index), 0),
            expected.get((month, index), 0),
            stale=month in stale,
        )
        for month, index in sorted(set(expected) | set(found))
        if spec.valid_month(month)
    ]


class Engine(Protocol):
    name: str
    #: True when storing raw files runs the trigger (and the refine) in this process, as the local
    #: engine does; False when the platform does it (S3 -> Lambda -> Glue) and :meth:`process` follows it.
    triggers_in_process: bool

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Exclusive writer access for the rest of the command (released on exit)."""
        ...

    def write_raw(self, writes: Sequence[RawWrite]) -> list[str]:
        """Store the files of ``writes`` together (all or nothing); returns the raw keys."""
        ...

    def process(self, keys: Sequence[str], notify: Notify) -> list[RefineResult]:
        """Refine the units of ``keys`` (locally), or follow the runs their upload triggered (AWS)."""
        ...

    def refine(self, units: Sequence[Unit], notify: Notify) -> list[RefineResult]:
        """Refine ``units`` again, on demand."""
        ...

    def sql(
        self, statement: str, params: dict[str, Any], *, what: str, verbatim: bool = False
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run a read-only statement (tables named as :meth:`table_names` says); columns and rows.

        ``verbatim``: a user's ad-hoc statement (``ibov sql``): no ``:name`` parameters, only the
        ``${dataset}`` table tokens are replaced, and the engine refuses anything but one read-only
        statement."""
        ...

    def table_names(self) -> dict[str, str]:
        """The catalog table of each dataset, by dataset name."""
        ...

    def stored_units(self, dataset: str) -> dict[Unit, tuple[str, ...]]:
        """Every unit of ``dataset`` with raw files, and the index codes they hold."""
        ...

    def is_stored(self, write: RawWrite) -> bool:
        """Whether exactly ``write``'s original bytes and its raw file are stored already."""
        ...

    def stored_days(self, dataset: str, index: str) -> list[str]:
        """The days of ``index`` the queries of ``dataset`` can read (ISO, sorted), from metadata only."""
        ...

    def status(self) -> StatusReport: ...

    def remove(self, raw_keys: Sequence[str], *, dry_run: bool, notify: Notify) -> Removal:
        """Remove these raw files and their originals everywhere: raw, snapshots, and (by refining
        each unit again from what remains, or clearing a unit left empty) refined and the catalog.
        ``dry_run`` only says what exists and would go."""
        ...

    def verify(self, notify: Notify) -> list[UnitCheck]:
        """Count every unit's rows in the raw zone, the refined zone and the catalog (a full scan)."""
        ...

    def watch(self, notify: Notify) -> None:
        """Follow the write or run in progress, if any, to its end."""
        ...

    def log_run(self, record: RunRecord) -> None: ...

    def close(self) -> None:
        """Release what the engine holds (connections); the engine is not used afterwards."""
        ...
