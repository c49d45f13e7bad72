"""The pipeline, engine-agnostic: acquire -> validate -> write raw -> trigger -> refine -> query.

The CLI calls one function of this module per command; engines (:mod:`ibovcli.engines`) do the work.
Dependencies point one way: cli -> pipeline -> engines -> (aws services | core modules).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ibovcli import datasets, queries
from ibovcli.engines import Engine, get_engine
from ibovcli.engines.base import (
    Notify,
    RefineResult,
    Removal,
    RunRecord,
    StatusReport,
    UnitCheck,
    quiet,
)
from ibovcli.errors import IbovError, Interrupted, NoData, NotTried, QueryFailed, SourceError, UsageError
from ibovcli.settings import Settings

if TYPE_CHECKING:  # the reading commands (status, query, sql...) never import what collecting needs
    from ibovcli.collect import Job, ScrapeRequest
    from ibovcli.export import Exported
    from ibovcli.rawfiles import RawWrite

OnProgress = Callable[[str, bool], None]


@dataclass(frozen=True)
class Failure:
    """An index, year or file that could not be stored, and why."""

    what: str
    error: IbovError

    def as_json(self) -> dict[str, Any]:
        return {"what": self.what, "error": self.error.message, "exit_code": self.error.exit_code}


@dataclass
class ScrapeResult:
    dataset: str = datasets.PORTFOLIO.name
    stored: list[dict[str, Any]] = field(default_factory=list)
    #: byte-identical to what is already stored: not stored again
    unchanged: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    refined: list[RefineResult] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return [s["key"] for s in self.stored]

    def summary(self) -> str:
        return f"stored {len(self.stored)}, unchanged {len(self.unchanged)}, failed {len(self.failures)}"


@dataclass(frozen=True)
class QueryResult:
    name: str
    params: dict[str, Any]
    columns: list[str]
    rows: list[tuple[Any, ...]]
    #: why a date matched no stored day (for stderr)
    notes: tuple[str, ...] = ()
    #: when there are no rows: why (the day is not stored, the ticker was never a member...)
    why: str = ""
    #: when there are no rows: what to say instead of "<name> matched no stored data"
    empty: str = ""

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]


@dataclass
class RunStep:
    """One step of ``ibov run`` for one index: the portfolio, the levels refresh..."""

    dataset: str
    index: str
    state: str  # stored | unchanged | failed | skipped
    stored: dict[str, Any] = field(default_factory=dict)
    error: IbovError | None = None
    top: QueryResult | None = None
    note: str = ""
    #: the refine (local) or Glue run (AWS) that made the stored data queryable
    refined: RefineResult | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "dataset": self.dataset,
            "index": self.index,
            "state": self.state,
            **self.stored,
        }
        if self.error is not None:
            out["error"] = self.error.message
            out["exit_code"] = self.error.exit_code
        if self.note:
            out["note"] = self.note
        if self.refined is not None:
            out["refined"] = self.refined.as_json()
        if self.top is not None:
            out["top"] = self.top.records()
        return out


@dataclass
class RunResult:
    steps: list[RunStep]
    refined: list[RefineResult]
    seconds: float
    run_id: str

    @property
    def failures(self) -> list[Failure]:
        """The steps that make the run fail: the portfolio's (a later step never fails the run)."""
        return [
            Failure(f"{s.index}", s.error)
            for s in self.steps
            if s.error is not None and s.dataset == datasets.PORTFOLIO.name
        ]


@contextlib.contextmanager
def _engine(settings: Settings, engine: Engine | None, notify: Notify) -> Iterator[Engine]:
    """The given engine, or a new one closed at the end of the command."""
    if engine is not None:
        yield engine
        return
    made = get_engine(settings, notify)
    try:
        yield made
    finally:
        made.close()


@contextlib.contextmanager
def logged(engine: Engine, command: str, details: Callable[[], dict[str, Any]]) -> Iterator[str]:
    """Record the command in the engine's run log with its real outcome: succeeded, failed (with the
    error) or interrupted. A ``running`` entry is written first: a process killed outright (SIGKILL, a
    power cut) leaves only that one, which the log's reader reports as ``crashed``."""
    import os

    run_id = uuid.uuid4().hex[:12]
    started, started_at = time.monotonic(), datetime.now(UTC).isoformat(timespec="seconds")

    def log(state: str, error: str | None, final: bool) -> None:
        with contextlib.suppress(Exception):
            engine.log_run(
                RunRecord(
                    started_at=started_at,
                    command=command,
                    state=state,
                    duration_s=round(time.monotonic() - started, 3) if final else None,
                    error=error,
                    run_id=run_id,
                    details=details() if final else {"pid": os.getpid()},
                )
            )

    log("running", None, False)
    try:
        yield run_id
    except IbovError as exc:
        log("failed", exc.message, True)
        raise
    except (KeyboardInterrupt, Interrupted) as exc:
        name = exc.signal_name if isinstance(exc, Interrupted) else "SIGINT"
        log("interrupted", f"interrupted by {name}", True)
        raise
    except Exception as exc:
        log("failed", f"unexpected {type(exc).__name__}: {exc}", True)
        raise
    else:
        info = details()
        failed = info.get("failures") or []
        log("failed" if failed else "succeeded", failed[0]["error"] if failed else None, True)


# -- scrape -------------------------------------------------------------------------------------------


def scrape(
    settings: Settings,
    request: ScrapeRequest,
    *,
    engine: Engine | None = None,
    notify: Notify = quiet,
    on_progress: OnProgress | None = None,
) -> ScrapeResult:
    """Acquire, validate and store everything ``request`` asks for; carries on past failures.

    Every input is acquired first (fetched or read, parsed and checked); then, under one writer lock,
    each is stored all-or-nothing in date order, byte-identical repeats are skipped, and the units
    written are refined (locally) or their triggered Glue runs followed (AWS, by ``ibov run``).
    """
    from ibovcli import collect

    result = ScrapeResult(dataset=request.dataset)
    todo = collect.jobs(settings, request, notify)
    with _engine(settings, engine, notify) as eng:
        standalone = engine is None
        with (
            logged(eng, f"scrape {request.dataset}", lambda: _scrape_details(result))
            if standalone
            else (contextlib.nullcontext())
        ):
            _acquire(todo, result, on_progress)
            _store(eng, todo, result, notify)
    return result


def _scrape_details(result: ScrapeResult) -> dict[str, Any]:
    return {
        "stored": result.stored,
        "unchanged": len(result.unchanged),
        "refined": [r.as_json() for r in result.refined],
        "failures": [f.as_json() for f in result.failures],
    }


#: What to do without B3: the exact commands (the README's flow uses `make run FROM=...`).
OFFLINE_HINT = (
    "Check the connection (or IBOV_B3_URL); without B3, store a file saved from B3's site: "
    "`ibov run --from FILE` (in this repository: `make run FROM=FILE`)."
)


def _acquire(todo: Sequence[Job], result: ScrapeResult, on_progress: OnProgress | None) -> None:
    """Run the jobs; once B3 itself cannot be reached, the other requests are not made (they would fail
    the same way): each is a :class:`NotTried` failure, and the CLI says it all in one line."""
    from ibovcli import collect

    unreachable: SourceError | None = None
    for job in todo:
        if unreachable is not None and job.path is None:
            error: IbovError | None = NotTried(f"not tried: {unreachable.message}", hint=OFFLINE_HINT)
        else:
            error = collect.run_job(job)
            if isinstance(error, SourceError) and error.unreachable and job.path is None:
                hint = OFFLINE_HINT if error.hint == SourceError.hint else error.hint
                unreachable = type(error)(error.message, hint=hint)
                unreachable.unreachable = True
                error = unreachable
        if error is not None:
            result.failures.append(Failure(job.what, error))
        if on_progress:
            on_progress(job.what, error is None)


def _check_claimed_index(engine: Engine, write: RawWrite) -> None:
    """A portfolio whose index the caller named (a JSON answer) must look like that index as stored."""
    from ibovcli import quality

    if not write.index_claimed:
        return
    from datetime import date

    index, day = str(write.describe["index"]), date.fromisoformat(str(write.describe["date"]))
    days = [date.fromisoformat(d) for d in engine.stored_days(datasets.PORTFOLIO.name, index)]
    others = [d for d in days if d != day] or days
    if not others:
        return
    nearest = min(others, key=lambda d: abs((d - day).days))
    _columns, rows = engine.sql(
        "SELECT ticker FROM ${portfolio} WHERE index_code = :index AND dt = :day",
        {"index": index, "day": nearest.isoformat()},
        what=f"the constituents of {index} on {nearest}",
    )
    quality.looks_like(index, write.index_claimed, day, nearest, [str(r[0]) for r in rows])


#: Raw writes stored together (one all-or-nothing write and one inventory update locally).
STORE_BATCH = 64


def _store(engine: Engine, todo: Sequence[Job], result: ScrapeResult, notify: Notify) -> None:
    from ibovcli import collect

    done = [job for job in todo if job.writes]
    if not done:
        return
    with engine.lock():
        pending: list[tuple[Job, RawWrite]] = []
        for job, write in collect.iter_writes(done):
            if any(w.key == write.key for _job, w in pending):
                _write(engine, pending, result, notify)  # the same key again: the earlier one first
            try:
                if engine.is_stored(write):
                    result.unchanged.append(write.describe)
                    notify(f"unchanged: {_label(write.describe)} is already stored")
                    continue
                _check_claimed_index(engine, write)
            except IbovError as exc:
                result.failures.append(Failure(job.what, exc))
                continue
            pending.append((job, write))
            if len(pending) >= STORE_BATCH:
                _write(engine, pending, result, notify)
        _write(engine, pending, result, notify)
        if result.stored and engine.triggers_in_process:
            # the local mirror of S3 -> Lambda: the same trigger decision, run here, right after the writes
            result.refined = engine.process(result.keys, notify)
            for r in result.refined:
                notify(f"refined {r.unit}: {r.rows} rows")


def _write(engine: Engine, pending: list[tuple[Job, RawWrite]], result: ScrapeResult, notify: Notify) -> None:
    """Store the pending writes together; when that fails, each on its own, so one bad write is one
    failure. Empties ``pending``."""
    if not pending:
        return
    batch = list(pending)
    pending.clear()
    try:
        engine.write_raw([w for _job, w in batch])
        stored = batch
    except IbovError as exc:
        if len(batch) == 1:
            result.failures.append(Failure(batch[0][0].what, exc))
            return
        stored = []
        for job, write in batch:
            try:
                engine.write_raw([write])
            except IbovError as one:
                result.failures.append(Failure(job.what, one))
                continue
            stored.append((job, write))
    for _job, write in stored:
        result.stored.append(write.describe)
        notify(f"stored {_label(write.describe)}: {write.rows} rows")


def _label(describe: dict[str, Any]) -> str:
    parts = [describe.get("index"), describe.get("date") or describe.get("year") or describe.get("period")]
    return " ".join(str(p) for p in parts if p) or str(describe.get("key"))


# -- run ----------------------------------------------------------------------------------------------


def run(
    settings: Settings,
    *,
    indices: Sequence[str] = (),
    from_paths: Sequence[str] = (),
    top: int = 5,
    notify: Notify = quiet,
    on_progress: OnProgress | None = None,
) -> RunResult:
    """The daily job: the portfolio of each index, then (when B3 is used, not --from files) the current
    year's official levels of the same indices; refine; summarise each stored portfolio.

    A later step never loses or blocks the portfolio: its failure is reported and the run goes on.
    """
    from ibovcli.collect import ScrapeRequest

    started = time.monotonic()
    steps: list[RunStep] = []
    refined: list[RefineResult] = []
    with (
        _engine(settings, None, notify) as engine,
        logged(engine, "run", lambda: _run_details(steps)) as run_id,
        # from saved files nothing waits on the network: one writer lock, and one catalog connection,
        # from the first write to the last summary
        engine.lock() if from_paths and engine.triggers_in_process else contextlib.nullcontext(),
    ):
        portfolio = scrape(
            settings,
            ScrapeRequest(indices=tuple(indices), from_paths=tuple(from_paths)),
            engine=engine,
            notify=notify,
            on_progress=on_progress,
        )
        steps += _steps(portfolio)
        keys = list(portfolio.keys)
        refined += portfolio.refined
        if not from_paths:
            levels = _refresh_levels(
                settings, engine, [s.index for s in steps if s.state != "failed"], notify
            )
            steps += _steps(levels)
            keys += levels.keys
            refined += levels.refined
            fetched = [s.index for s in steps if s.dataset == "portfolio" and s.state != "failed"]
            preview = _refresh_preview(settings, engine, fetched, notify)
            steps += _steps(preview)
            keys += preview.keys
            refined += preview.refined
            if any(s.state != "failed" for s in steps if s.dataset == datasets.PORTFOLIO.name):
                quotes = _refresh_quotes(settings, engine, notify)
                steps += [RunStep(quotes.dataset, "", "stored", s) for s in quotes.stored] + [
                    RunStep(quotes.dataset, "", "unchanged", s) for s in quotes.unchanged
                ]
                steps += [RunStep(quotes.dataset, "", "failed", error=f.error) for f in quotes.failures]
                keys += quotes.keys
                refined += quotes.refined
        if keys and not engine.triggers_in_process:
            refined = engine.process(keys, notify)
        by_unit = {r.unit: r for r in refined}
        for step in steps:
            parsed = datasets.parse_raw_key(str(step.stored.get("key", "")))
            step.refined = by_unit.get(parsed.unit) if parsed else None
        _top_weights(settings, engine, steps, top)
        steps += _reconcile_steps(settings, engine, steps, notify)
        return RunResult(steps, refined, time.monotonic() - started, run_id)


#: The top weights of several stored portfolios at once (the saved query top-weights' columns, plus the
#: index and day they belong to); ``(:indices)``, ``(:days)`` and ``(:months)`` become lists of validated
#: literals (the months let Athena read only their partitions of the compact copy).
TOP_OF_EACH = """
SELECT t.index_code, t.dt, t.session_date, t.weight_rank, t.ticker, t.company, t.sector, t.weight_pct
FROM ${portfolio} AS t
WHERE t.index_code IN (:indices) AND t.dt IN (:days) AND t.month IN (:months) AND t.weight_rank <= :limit
ORDER BY t.index_code, t.dt, t.weight_pct DESC, t.ticker
"""


def _top_weights(settings: Settings, engine: Engine, steps: Sequence[RunStep], top: int) -> None:
    """Each stored portfolio's summary (``top-weights``), for every index of the run in one query; a
    portfolio the query finds nothing for asks the saved query itself, which says why."""
    import re

    wanted = [
        s
        for s in steps
        if s.dataset == datasets.PORTFOLIO.name
        and s.state in ("stored", "unchanged")
        and re.fullmatch(datasets.INDEX_PATTERN, s.index)
        and re.fullmatch(datasets.DAY_PATTERN, str(s.stored.get("date", "")))
    ]
    if not wanted:
        return
    indices = ", ".join(sorted({f"'{s.index}'" for s in wanted}))
    days = ", ".join(sorted({f"'{s.stored['date']}'" for s in wanted}))
    months = ", ".join(sorted({f"'{str(s.stored['date'])[:7]}'" for s in wanted}))
    statement = TOP_OF_EACH.replace("(:indices)", f"({indices})").replace("(:days)", f"({days})")
    columns, rows = engine.sql(
        statement.replace("(:months)", f"({months})"),
        {"limit": top},
        what="the top weights of the stored portfolios",
    )
    found: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row in rows:
        found.setdefault((str(row[0]), str(row[1])), []).append(tuple(row[2:]))
    for step in wanted:
        params = {"index": step.index, "date": step.stored["date"], "limit": top}
        mine = found.get((step.index, str(step.stored["date"])))
        if mine:
            step.top = QueryResult("top-weights", params, columns[2:], mine)
        else:
            step.top = query(settings, "top-weights", {**params, "limit": str(top)}, engine=engine)


def _refresh_quotes(settings: Settings, engine: Engine, notify: Notify) -> ScrapeResult:
    """The quotes of the last closed session (B3's daily COTAHIST file), for the run's reconciliation.
    Two attempts at most: a failure is reported as the step's, never the run's; a day B3 has not
    published yet is not retried (`ibov scrape quotes --date` fetches it later)."""
    import dataclasses

    from ibovcli import quotes
    from ibovcli.collect import Job
    from ibovcli.cotahist import CotahistName

    result = ScrapeResult(dataset=datasets.QUOTES.name)
    day = quotes.last_closed_session()
    name = CotahistName.for_day(day)
    policy = dataclasses.replace(settings.http_policy(), attempts=2)
    started = time.monotonic()

    def fetch() -> list[Any]:
        notify(f"fetching {name.filename} (the last closed session's quotes)")
        return quotes.fetch_writes(
            name, base_url=settings.quotes_url, policy=policy, notify=notify, started=started
        )

    todo = [Job(day.isoformat(), fetch)]
    try:
        _acquire(todo, result, None)
        _store(engine, todo, result, notify)
    except IbovError as exc:
        result.failures.append(Failure(day.isoformat(), exc))
    return result


def _reconcile_steps(
    settings: Settings, engine: Engine, steps: list[RunStep], notify: Notify
) -> list[RunStep]:
    """One ``reconcile`` step per portfolio stored by the run, when the lake holds quotes: B3's weights
    against the previous session's closes, and the level when that day's closes and level are stored
    (ibovcli.reconcile). Never fails the run."""
    from ibovcli import reconcile

    done = [s for s in steps if s.dataset == datasets.PORTFOLIO.name and s.state in ("stored", "unchanged")]
    out: list[RunStep] = []
    try:
        if not done or not engine.stored_units(datasets.QUOTES.name):
            return out
    except IbovError:
        return out
    for step in done:
        day = str(step.stored["date"])
        try:
            found_days = reconcile.reconcile(settings, step.index, day=day, engine=engine)
        except IbovError as exc:
            out.append(RunStep("reconcile", step.index, "failed", {"date": day}, error=exc))
            continue
        if not found_days:  # the portfolio is not queryable yet (a refine still running on AWS)
            out.append(RunStep("reconcile", step.index, "skipped", {"date": day}, note="no catalog row yet"))
            continue
        check = found_days[0]
        if check.off:
            found = reconcile.culprits(settings, check, engine=engine) if check.weights_off else ()
            note = "; ".join(check.problems())
            if found:
                note += "; largest: " + ", ".join(f"{c.ticker} {c.diff_pp:.4f} pp" for c in found)
            state = "off"
        elif check.weights_checked or check.level_diff_pct is not None:
            parts = []
            if check.weights_checked:
                parts.append(f"{check.weights_checked} weights within {reconcile.WEIGHT_TOLERANCE_PP} pp")
            if check.level_diff_pct is not None:
                parts.append(f"level within {reconcile.LEVEL_TOLERANCE_PCT} %")
            note, state = ", ".join(parts), "checked"
            if check.missing:
                note += f" ({check.missing})"
        else:
            note, state = check.missing or "nothing to check", "skipped"
        notify(f"reconcile {step.index} {day}: {state}: {note}")
        out.append(RunStep("reconcile", step.index, state, {"date": day, **_numbers(check)}, note=note))
    return out


def _numbers(check: Any) -> dict[str, Any]:
    return {
        k: v
        for k, v in check.as_json().items()
        if k in ("level_diff_pct", "max_weight_diff_pp", "weights_checked", "previous_session_date")
    }


def _run_details(steps: list[RunStep]) -> dict[str, Any]:
    failed = [s for s in steps if s.state == "failed" and s.dataset == datasets.PORTFOLIO.name]
    return {"steps": [s.as_json() for s in steps], "failures": [s.as_json() for s in failed]}


def _steps(result: ScrapeResult) -> list[RunStep]:
    from ibovcli import collect

    out = [RunStep(result.dataset, str(s.get("index", "")), "stored", s) for s in result.stored]
    out += [RunStep(result.dataset, str(s.get("index", "")), "unchanged", s) for s in result.unchanged]
    for f in result.failures:
        if isinstance(f.error, collect.PreviewNotCurrent):
            out.append(RunStep(result.dataset, f.what.split()[0], "skipped", note=f.error.message))
        else:
            out.append(RunStep(result.dataset, f.what.split()[0], "failed", error=f.error))
    return out


def _refresh_preview(
    settings: Settings, engine: Engine, index_codes: list[str], notify: Notify
) -> ScrapeResult:
    """The preview of each index's next period, when B3 says one is current (one GetConfigurations
    request per index; the preview itself is requested only then)."""
    from ibovcli.collect import ScrapeRequest

    if not index_codes:
        return ScrapeResult(dataset=datasets.PREVIEW.name)
    request = ScrapeRequest(dataset=datasets.PREVIEW.name, indices=tuple(index_codes))
    return scrape(settings, request, engine=engine, notify=notify)


def _refresh_levels(
    settings: Settings, engine: Engine, index_codes: list[str], notify: Notify
) -> ScrapeResult:
    """The current year's official levels of ``index_codes`` (sessions up to the last closed one)."""
    from ibovcli.collect import ScrapeRequest

    if not index_codes:
        return ScrapeResult(dataset=datasets.LEVELS.name)
    year = datetime.now(UTC).year
    request = ScrapeRequest(dataset=datasets.LEVELS.name, indices=tuple(index_codes), years=(year,))
    return scrape(settings, request, engine=engine, notify=notify)


# -- refine -------------------------------------------------------------------------------------------


def refine(
    settings: Settings, units: Sequence[datasets.Unit], *, notify: Notify = quiet
) -> list[RefineResult]:
    """Refine ``units`` again, on demand (``ibov refine``)."""
    with _engine(settings, None, notify) as engine, logged(engine, "refine", lambda: {}):
        return engine.refine(units, notify)


# -- verify -------------------------------------------------------------------------------------------


@dataclass
class VerifyReport:
    """What ``ibov verify`` found: every unit and index counted in each zone, and what --repair did."""

    checks: list[UnitCheck]
    repaired: list[RefineResult] = field(default_factory=list)
    #: checks that still fail after the repair (damaged raw files cannot be repaired: store them again)
    remaining: list[UnitCheck] = field(default_factory=list)
    #: stored portfolio days whose level or weights B3's quotes do not reproduce (ibovcli.reconcile)
    reconciled_off: list[Any] = field(default_factory=list)
    #: portfolio days reconciled (every input stored), and why reconciling could not run (if so)
    reconciled_days: int = 0
    reconcile_note: str = ""

    @property
    def problems(self) -> list[UnitCheck]:
        return [c for c in self.checks if not c.ok]

    def summary(self) -> str:
        units = {(c.dataset, c.unit) for c in self.checks}
        bad = {(c.dataset, c.unit) for c in self.problems}
        text = f"{len(units)} units checked, {len(bad)} with problems"
        if self.repaired:
            text += (
                f"; repaired {len(self.repaired)}, {len({(c.dataset, c.unit) for c in self.remaining})} left"
            )
        if self.reconciled_days or self.reconciled_off:
            text += (
                f"; {self.reconciled_days} portfolio days reconciled with B3 quotes, "
                f"{len(self.reconciled_off)} off tolerance"
            )
        return text

    def as_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "checks": [c.as_json() for c in self.checks],
            "problems": [c.as_json() for c in self.problems],
            "repaired": [r.as_json() for r in self.repaired],
            "remaining": [c.as_json() for c in self.remaining],
            "reconcile": {
                "days_checked": self.reconciled_days,
                "off": [d.as_json() for d in self.reconciled_off],
                "note": self.reconcile_note,
            },
        }


def verify(settings: Settings, *, repair: bool = False, notify: Notify = quiet) -> VerifyReport:
    """Count every unit in raw/, refined/ and the catalog; with ``repair``, refine again every unit that
    disagrees (on AWS: start the Glue job for it) and check those again."""
    with _engine(settings, None, notify) as engine:
        report = VerifyReport(engine.verify(notify))
        if repair and report.problems:
            units = _units_to_repair(engine, report.problems)
            with logged(engine, "verify --repair", lambda: {"repaired": [str(u) for u in units]}):
                report.repaired = engine.refine(units, notify)
            again = {(c.dataset, c.unit): c for c in engine.verify(quiet)}
            report.remaining = [
                c
                for c in again.values()
                if not c.ok and (c.dataset, c.unit) in {(p.dataset, p.unit) for p in report.problems}
            ]
        _reconcile(settings, engine, report, notify)
        return report


def _units_to_repair(engine: Engine, problems: Sequence[UnitCheck]) -> list[datasets.Unit]:
    """The units to refine again: each failing unit, and for a failing month of the compact copy the
    portfolio days of that month (refining them rebuilds the month)."""
    compact = datasets.COMPACT
    months = {c.unit.split("=", 1)[1] for c in problems if c.dataset == compact.name}
    units = {
        datasets.get(c.dataset).unit(c.unit.split("=", 1)[1]) for c in problems if c.dataset != compact.name
    }
    if months:
        stored = engine.stored_units(compact.source.name)
        units |= {u for u in stored if compact.month_of(u.value) in months}
    return sorted(units, key=lambda u: (u.dataset, u.value))


def _reconcile(settings: Settings, engine: Engine, report: VerifyReport, notify: Notify) -> None:
    """Reconcile every index's stored portfolios with the stored quotes (when any are stored):
    the days off by more than ibovcli.reconcile's tolerances go to ``report.reconciled_off``."""
    from ibovcli import reconcile

    if not engine.stored_units(datasets.QUOTES.name):
        return
    indices = sorted({i for found in engine.stored_units(datasets.PORTFOLIO.name).values() for i in found})
    for index in indices:
        notify(f"reconciling {index} with B3 quotes")
        try:
            off, checked = reconcile.verify_index(settings, index, engine=engine)
        except IbovError as exc:
            report.reconcile_note = f"{index}: {exc.message}"
            continue
        report.reconciled_off += off
        report.reconciled_days += checked


# -- query --------------------------------------------------------------------------------------------


def query(
    settings: Settings,
    name: str,
    params: dict[str, Any],
    *,
    engine: Engine | None = None,
    notify: Notify = quiet,
) -> QueryResult:
    """Run a saved query by name with validated parameters, its dates resolved to stored days first
    (:func:`ibovcli.queries.resolve`, with the engine's day list when a date needs it). When no row
    matches, :attr:`QueryResult.why` says why."""
    q = queries.get(name)
    bound = queries.bind(q, params)
    with _engine(settings, engine, notify) as eng:
        days: dict[str, list[str]] = {}

        def stored(index: str) -> list[str]:
            if index not in days:
                days[index] = eng.stored_days(q.dataset, index)
            return days[index]

        resolved = queries.resolve(q, bound, stored)
        columns, rows = eng.sql(q.sql, resolved.params, what=f"the query {q.name}")
        why = "" if rows else _explain(eng, q, bound, stored)
    return QueryResult(name, bound, columns, rows, resolved.notes, why)


def sql(
    settings: Settings, statement: str, *, engine: Engine | None = None, notify: Notify = quiet
) -> QueryResult:
    """Run one read-only ad-hoc statement (``ibov sql``) on the catalog tables: DuckDB locally, Athena on
    AWS. Tables by name (``ibov_refined``, ``ibov_levels``...) or as ``${dataset}`` tokens."""
    text = queries.adhoc(statement)
    with _engine(settings, engine, notify) as eng:
        try:
            columns, rows = eng.sql(text, {}, what="the statement", verbatim=True)
        except QueryFailed as exc:
            tables = ", ".join(eng.table_names().values())
            raise QueryFailed(exc.message, hint=f"The tables: {tables}.") from None
    why = "`ibov status` shows what the lake holds."
    return QueryResult("sql", {}, columns, rows, why=why, empty="the statement returned no rows")


def export(
    settings: Settings,
    *,
    dataset: str,
    index: str,
    since: str | None,
    until: str | None,
    out: Path,
    fmt: str | None,
    notify: Notify = quiet,
) -> Exported:
    """``ibov export``: the refined rows of ``index`` between two days as one Parquet or CSV file."""
    from ibovcli import collect
    from ibovcli import export as exporting

    first, last = exporting.day("--from", since), exporting.day("--to", until)
    code = collect.check_index(index)
    with _engine(settings, None, notify) as eng:
        return exporting.export(eng, dataset=dataset, index=code, since=first, until=last, out=out, fmt=fmt)


def removal_keys(dataset: str, index: str, dates: Sequence[str], years: Sequence[str]) -> list[str]:
    """The raw keys ``ibov rm`` names: a portfolio by index and day, levels by index and year."""
    from datetime import date as day

    from ibovcli import collect, layout

    code = collect.check_index(index)
    if dataset == datasets.PORTFOLIO.name:
        if years or not dates:
            raise UsageError("the portfolio is removed by day: give --date (repeatable), not --year")
        out = []
        for text in dates:
            try:
                out.append(layout.raw_key(code, day.fromisoformat(text)))
            except ValueError:
                raise UsageError(f"--date must be a date YYYY-MM-DD, got {text!r}") from None
        return out
    if dataset == datasets.LEVELS.name:
        if dates or not years:
            raise UsageError("levels are removed by year: give --year (repeatable), not --date")
        if not all(y.isdigit() and len(y) == 4 for y in years):
            raise UsageError(f"--year must be a year YYYY, got {', '.join(years)}")
        return [layout.levels_raw_key(code, int(y)) for y in years]
    raise UsageError(f"no dataset named {dataset!r}", hint=f"Datasets: {', '.join(datasets.ALL)}.")


def remove(settings: Settings, raw_keys: Sequence[str], *, dry_run: bool, notify: Notify = quiet) -> Removal:
    """Remove stored raw files everywhere (raw, snapshots, refined, catalog), or with ``dry_run`` only
    say what exists and would go."""
    with _engine(settings, None, notify) as eng:
        if dry_run:
            return eng.remove(raw_keys, dry_run=True, notify=notify)
        with logged(eng, "rm", lambda: {"removed": list(raw_keys)}):
            return eng.remove(raw_keys, dry_run=False, notify=notify)


def _explain(
    engine: Engine, q: queries.SavedQuery, bound: dict[str, Any], stored: Callable[[str], list[str]]
) -> str:
    """:func:`_why_empty`, or nothing when the explanation itself cannot be had (the answer stands)."""
    try:
        return _why_empty(engine, q, bound, stored)
    except IbovError:
        return ""


def _why_empty(
    engine: Engine, q: queries.SavedQuery, bound: dict[str, Any], stored: Callable[[str], list[str]]
) -> str:
    """Why a saved query matched nothing, in one sentence, from metadata."""
    import bisect

    from ibovcli.tradingdays import holiday_name

    given = {p.name: bound[p.name] for p in q.params}
    start, end = given.get("from"), given.get("to")
    if isinstance(start, str) and isinstance(end, str) and start > queries.FIRST and end and start > end:
        return f"--from {start} is after --to {end}"
    index = next((str(bound[p.name]) for p in q.params if p.type == "index"), "")
    if q.name in PERIOD_QUERIES:
        return _why_empty_preview(engine, q, bound, stored)
    if q.dataset != datasets.PORTFOLIO.name:
        return f"no {q.dataset} of {index} is stored in that range (`ibov scrape {q.dataset} --help`)"
    found = stored(index) if index else []
    if index and not found:
        return f"no {index} portfolio is stored"
    for p in q.params:
        value = str(bound[p.name])
        if (
            p.type == "date"
            and p.day == "as-given"
            and value not in (queries.LATEST, queries.FIRST, queries.NONE)
            and value not in found
        ):
            i = bisect.bisect_left(found, value)
            near = [d for d in (found[i - 1] if i else None, found[i] if i < len(found) else None) if d]
            holiday = holiday_name(datetime.fromisoformat(value).date())
            reason = f" ({holiday}, a B3 holiday)" if holiday else ""
            nearest = " and ".join(near)
            return (
                f"no {index} portfolio is stored for {value}{reason}; the nearest stored days are {nearest}"
            )
    ticker = next((str(bound[p.name]) for p in q.params if p.type == "ticker"), None)
    if ticker:
        sql = "SELECT count(*) FROM ${portfolio} WHERE index_code = :index AND ticker = :ticker"
        _cols, rows = engine.sql(sql, {"index": index, "ticker": ticker}, what="a membership check")
        if not rows or not rows[0][0]:
            return f"{ticker} is in none of the stored {index} portfolios"
        return f"{ticker} was not in {index} in that range"
    return ""


#: The saved queries over the preview dataset, explained by :func:`_why_empty_preview`.
PERIOD_QUERIES = ("rebalance-preview", "preview-history")


def _why_empty_preview(
    engine: Engine, q: queries.SavedQuery, bound: dict[str, Any], stored: Callable[[str], list[str]]
) -> str:
    index = str(bound["index"])
    sql = "SELECT count(*) FROM ${preview} WHERE index_code = :index"
    _cols, rows = engine.sql(sql, {"index": index}, what="a preview check")
    if not rows or not rows[0][0]:
        return (
            f"no {index} preview is stored (`ibov scrape preview --index {index}`; B3 publishes previews "
            "in the weeks before each rebalance)"
        )
    if q.name == "rebalance-preview":
        if not stored(index):
            return f"no {index} daily portfolio is stored to compare the preview with (`ibov scrape`)"
        return f"no {index} daily portfolio is stored on or before {bound['date']}"
    return f"{bound['ticker']} is in none of the stored {index} previews"


def units(
    settings: Settings, *, dataset: str | None = None, indices: Sequence[str] = (), dates: Sequence[str] = ()
) -> list[datasets.Unit]:
    """The stored units ``ibov refine`` is asked for: of a dataset (or all), holding one of ``indices``,
    or on one of ``dates`` (portfolio days)."""
    from ibovcli import collect

    if dataset is not None and dataset not in datasets.ALL:
        raise UsageError(f"no dataset named {dataset!r}", hint=f"Datasets: {', '.join(datasets.ALL)}.")
    by_day = (datasets.PORTFOLIO.name, datasets.QUOTES.name)
    if dates and dataset not in (None, *by_day):
        raise UsageError("--date names portfolio or quotes days; levels are refined per --index")
    wanted = {collect.check_index(i) for i in indices}
    days = set()
    for d in dates:
        try:
            days.add(datetime.fromisoformat(d).date().isoformat())
        except ValueError:
            raise UsageError(f"--date must be YYYY-MM-DD, got {d!r}") from None
    names = [dataset] if dataset else list(datasets.ALL)
    out = []
    with _engine(settings, None, quiet) as engine:
        for name in names:
            if dates and name not in by_day:
                continue
            for unit, found in engine.stored_units(name).items():
                if wanted and not wanted & set(found):
                    continue
                if days and unit.value not in days:
                    continue
                out.append(unit)
    if not out:
        raise NoData("nothing stored matches", hint="`ibov status` shows what the lake holds.")
    return out


# -- status -------------------------------------------------------------------------------------------


def status(settings: Settings, *, watch: bool = False, notify: Notify = quiet) -> StatusReport:
    """What the lake holds; with ``watch``, first follow the write or run in progress (if any)."""
    with _engine(settings, None, notify) as engine:
        if watch:
            engine.watch(notify)
        return engine.status()
