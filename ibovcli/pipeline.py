"""The pipeline, engine-agnostic: acquire -> validate -> write raw -> trigger -> refine -> query.

The CLI calls one function of this module per command. Engines (local, aws) implement :class:`Engine`.
"""

from __future__ import annotations

import contextlib
import functools
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from ibovcli import b3, quality, queries, schema, trigger
from ibovcli.errors import IbovError, LakeBusy, SnapshotError
from ibovcli.settings import Settings

Notify = Callable[[str], None]


def _quiet(_msg: str) -> None:
    return None


@dataclass(frozen=True)
class Stored:
    """One snapshot written to the raw zone."""

    index: str
    date: date
    rows: int
    key: str
    source: str
    source_format: str
    sha256: str

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "date": self.date.isoformat(),
            "rows": self.rows,
            "key": self.key,
            "source": self.source,
            "format": self.source_format,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class Failure:
    """An index (or file) that could not be stored, and why."""

    what: str
    error: IbovError

    def as_json(self) -> dict[str, Any]:
        return {"what": self.what, "error": self.error.message, "exit_code": self.error.exit_code}


@dataclass(frozen=True)
class Refined:
    """One refine job's outcome (a local run or a Glue job run)."""

    day: date
    rows: int
    indices: tuple[str, ...]
    seconds: float
    run_id: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "rows": self.rows,
            "indices": list(self.indices),
            "seconds": round(self.seconds, 3),
            "run_id": self.run_id,
        }


@dataclass(frozen=True)
class QueryResult:
    name: str
    params: dict[str, Any]
    columns: list[str]
    rows: list[tuple[Any, ...]]
    #: why a date matched no stored day (see :func:`ibovcli.queries.resolve`), for stderr
    notes: tuple[str, ...] = ()

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]


@dataclass
class ScrapeResult:
    stored: list[Stored] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    refined: list[Refined] = field(default_factory=list)


@dataclass
class RunResult:
    stored: list[Stored]
    failures: list[Failure]
    refined: list[Refined]
    top: dict[str, QueryResult]
    seconds: float
    run_id: str


class Engine(Protocol):
    name: str
    #: True when writing raw data runs the trigger (and so the refine) in this process, as the local
    #: engine does; False when the platform does it (S3 -> Lambda -> Glue) and :meth:`process` follows it.
    triggers_in_process: bool

    def lock(self) -> contextlib.AbstractContextManager[None]: ...

    def write_raw(self, p: b3.Portfolio) -> str: ...

    def process(self, keys: list[str], notify: Notify) -> list[Refined]: ...

    def run_query(
        self, q: queries.SavedQuery, params: dict[str, Any]
    ) -> tuple[list[str], list[tuple[Any, ...]]]: ...

    def index_days(self, index: str) -> list[str]:
        """The days of ``index`` the saved queries can read (ISO, sorted), from metadata only."""
        ...

    def status(self) -> dict[str, Any]: ...

    def watch(self, notify: Notify) -> None: ...

    def log_run(self, entry: dict[str, Any]) -> None: ...


class LocalEngine:
    """Local lake + DuckDB; the trigger decision runs in-process and hands jobs to a local runner."""

    name = "local"
    bucket = "local"
    triggers_in_process = True

    def __init__(self, settings: Settings) -> None:
        from ibovcli.local import LocalLake

        self.settings = settings
        self.lake = LocalLake(settings.lake_dir, table=settings.table or schema.REFINED_TABLE)

    def lock(self) -> contextlib.AbstractContextManager[None]:
        return self.lake.lock(self.settings.lock_timeout)

    def write_raw(self, p: b3.Portfolio) -> str:
        return self.lake.write_raw(p)

    def process(self, keys: list[str], notify: Notify) -> list[Refined]:
        out = []
        for req in trigger.refine_requests(trigger.s3_event(self.bucket, keys)):
            notify(f"refining {req.day} (local runner, args {req.job_arguments()})")
            r = self.lake.refine_day(req.day)
            out.append(Refined(r.day, r.rows, r.indices, r.seconds, run_id=f"local-{uuid.uuid4().hex[:8]}"))
        return out

    def run_query(
        self, q: queries.SavedQuery, params: dict[str, Any]
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        return self.lake.query(queries.duckdb_statement(q, f'"{self.lake.table}"'), params)

    def index_days(self, index: str) -> list[str]:
        """The index's days in the local catalog (one DISTINCT over the catalog table, no file read)."""
        sql = f'SELECT DISTINCT dt FROM "{self.lake.table}" WHERE index_code = $index ORDER BY dt'  # nosec B608
        _columns, rows = self.lake.query(sql, {"index": index})
        return [str(r[0]) for r in rows]

    def status(self) -> dict[str, Any]:
        refined = self.lake.refined_days()
        indices = index_entries(self.lake.raw_inventory(), {k: len(v) for k, v in refined.items()})
        return {
            "engine": "local",
            "lake": str(self.lake.root),
            "indices": indices,
            "runs": self.lake.runs(10),
        }

    def watch(self, notify: Notify) -> None:
        """Wait for the ibov command writing to the lake, if any, to finish."""
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(self.lake.lock(timeout=0))
            except LakeBusy:
                notify(f"an ibov command is writing to {self.lake.root}; waiting for it to finish")
                stack.enter_context(self.lake.lock(self.settings.lock_timeout))
                notify("it finished")
            else:
                notify("no ibov command is writing to the lake")

    def log_run(self, entry: dict[str, Any]) -> None:
        self.lake.log_run(entry)


def index_entries(raw: dict[str, list[date]], refined_days: dict[str, int]) -> list[dict[str, Any]]:
    """Per index: first and last stored day, days stored, and the B3 trading days missing between."""
    from ibovcli.tradingdays import missing_days

    out = []
    for index in sorted(set(raw) | set(refined_days)):
        days = sorted(raw.get(index, []))
        missing = missing_days(days)
        out.append(
            {
                "index": index,
                "first": days[0].isoformat() if days else None,
                "last": days[-1].isoformat() if days else None,
                "raw_days": len(days),
                "refined_days": refined_days.get(index, 0),
                "missing": len(missing),
                "missing_days": [d.isoformat() for d in missing],
            }
        )
    return out


def get_engine(settings: Settings) -> Engine:
    """The engine the settings ask for; heavy modules are imported here, not at CLI start."""
    if settings.engine == "aws":
        from ibovcli.aws.engine import AwsEngine  # type: ignore[import-not-found,unused-ignore]

        engine: Engine = AwsEngine.from_settings(settings)
        return engine
    return LocalEngine(settings)


# ----------------------------------------------------------------------------------------------
# acquire


def read_snapshot(path: Path, index: str | None) -> b3.Portfolio:
    """Parse a saved snapshot file (any accepted format)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SnapshotError(f"no such file: {path}", hint="Check the path given to --from.") from None
    except IsADirectoryError:
        raise SnapshotError(
            f"{path} is a directory, not a snapshot file", hint="Pass a file to --from."
        ) from None
    except OSError as exc:
        raise SnapshotError(
            f"cannot read {path}: {exc.strerror}", hint="Check the file's permissions."
        ) from None
    return b3.parse_snapshot(data, index=index, source=f"file:{path.name}")


def fetch(settings: Settings, index: str, notify: Notify, started: float | None = None) -> b3.Portfolio:
    from ibovcli.fetch import HttpPolicy, fetch_portfolio

    policy = HttpPolicy(
        read_timeout=settings.http_timeout,
        connect_timeout=min(10.0, settings.http_timeout),
        deadline=settings.http_deadline,
        verify_tls=not settings.b3_insecure,
    )
    notify(f"fetching {index} from {settings.b3_url}")
    return fetch_portfolio(
        index,
        base_url=settings.b3_url,
        policy=policy,
        page_size=settings.b3_page_size,
        on_event=notify,
        started=started,
    )


def _sources(indices: list[str], from_paths: list[Path]) -> Iterator[tuple[str, Acquire]]:
    from ibovcli import indices as b3_indices

    if from_paths:
        if b3_indices.ALL in indices:
            raise SnapshotError(
                "--index all fetches every index from B3; it cannot name the index of a --from file",
                hint="Leave --index out for CSV files, or give the file's index code.",
            )
        if len(indices) > 1:
            raise SnapshotError(
                "--index takes one code with --from (the CSV title or --index names the index)",
                hint="Run once per file, or leave --index out for CSV files.",
            )
        explicit = indices[0] if indices else None
        for path in from_paths:
            yield str(path), functools.partial(_read_source, path, explicit)
    else:
        started = time.monotonic()  # IBOV_HTTP_DEADLINE bounds the whole command, not each index
        for index in b3_indices.expand(indices) or ["IBOV"]:
            yield index, functools.partial(_fetch_source, index, started)


Acquire = Callable[[Settings, Notify], b3.Portfolio]


def _read_source(path: Path, index: str | None, _settings: Settings, _notify: Notify) -> b3.Portfolio:
    return read_snapshot(path, index)


def _fetch_source(index: str, started: float, settings: Settings, notify: Notify) -> b3.Portfolio:
    return fetch(settings, index, notify, started)


def scrape(
    settings: Settings,
    *,
    indices: list[str] | None = None,
    from_paths: list[Path] | None = None,
    engine: Engine | None = None,
    notify: Notify = _quiet,
    on_progress: Callable[[str, bool], None] | None = None,
) -> ScrapeResult:
    """Acquire, validate and store each requested snapshot; carries on past failures.

    Called on its own (``engine`` not given), the attempt is recorded in the run log.
    """
    standalone = engine is None
    engine = engine or get_engine(settings)
    result = ScrapeResult()
    started, started_at = time.monotonic(), datetime.now(UTC)
    try:
        _scrape_into(result, settings, engine, indices, from_paths, notify, on_progress)
    finally:
        if standalone:
            _log(engine, "scrape", started, started_at, None, result.stored, result.refined, result.failures)
    return result


def _scrape_into(
    result: ScrapeResult,
    settings: Settings,
    engine: Engine,
    indices: list[str] | None,
    from_paths: list[Path] | None,
    notify: Notify,
    on_progress: Callable[[str, bool], None] | None,
) -> None:
    for what, acquire in _sources([i.upper() for i in indices or []], list(from_paths or [])):
        try:
            p = quality.validate(acquire(settings, notify))
            with engine.lock():
                key = engine.write_raw(p)
            result.stored.append(
                Stored(p.index, p.session_date, len(p.holdings), key, p.source, p.source_format, p.sha256)
            )
            notify(f"stored {p.index} {p.session_date}: {len(p.holdings)} rows -> {key}")
            if on_progress:
                on_progress(what, True)
        except IbovError as exc:
            result.failures.append(Failure(what, exc))
            if on_progress:
                on_progress(what, False)
    if result.stored and engine.triggers_in_process:
        # the local mirror of S3 -> Lambda: the same trigger decision, run here, right after the writes
        with engine.lock():
            result.refined = engine.process([s.key for s in result.stored], notify)


def _log(
    engine: Engine,
    command: str,
    started: float,
    started_at: datetime,
    error: IbovError | None,
    stored: list[Stored],
    refined: list[Refined],
    failures: list[Failure],
) -> None:
    """Append one entry to the engine's run log; logging never hides the real outcome."""
    first_failure = error or (failures[0].error if failures else None)
    with contextlib.suppress(Exception):
        engine.log_run(
            {
                "command": command,
                "engine": engine.name,
                "started_at": started_at.isoformat(timespec="seconds"),
                "duration_s": round(time.monotonic() - started, 3),
                "state": "failed" if first_failure else "succeeded",
                "error": first_failure.message if first_failure else None,
                "stored": [s.as_json() for s in stored],
                "refined": [r.as_json() for r in refined],
                "failures": [f.as_json() for f in failures],
            }
        )


def run(
    settings: Settings,
    *,
    indices: list[str] | None = None,
    from_paths: list[Path] | None = None,
    top: int = 5,
    notify: Notify = _quiet,
    on_progress: Callable[[str, bool], None] | None = None,
) -> RunResult:
    """The main job: scrape, trigger the refine of each day written, then summarise."""
    engine = get_engine(settings)
    run_id = uuid.uuid4().hex[:12]
    started = time.monotonic()
    started_at = datetime.now(UTC)
    stored: list[Stored] = []
    failures: list[Failure] = []
    refined: list[Refined] = []
    error: IbovError | None = None
    try:
        scraped = scrape(
            settings,
            indices=indices,
            from_paths=from_paths,
            engine=engine,
            notify=notify,
            on_progress=on_progress,
        )
        stored, failures, refined = scraped.stored, scraped.failures, scraped.refined
        if stored and not engine.triggers_in_process:
            refined = engine.process([s.key for s in stored], notify)
        summary: dict[str, QueryResult] = {}
        for s in stored:
            summary[f"{s.index} {s.date}"] = query(
                settings,
                "top-weights",
                {"index": s.index, "date": s.date.isoformat(), "limit": str(top)},
                engine=engine,
            )
        return RunResult(stored, failures, refined, summary, time.monotonic() - started, run_id)
    except IbovError as exc:
        error = exc
        raise
    finally:
        _log(engine, "run", started, started_at, error, stored, refined, failures)


def query(
    settings: Settings, name: str, params: dict[str, Any], *, engine: Engine | None = None
) -> QueryResult:
    """Run a saved query by name with validated parameters, its dates resolved to stored days first
    (:func:`ibovcli.queries.resolve`, with the engine's day list when a date needs it)."""
    q = queries.get(name)
    bound = queries.bind(q, params)
    engine = engine or get_engine(settings)
    resolved = queries.resolve(q, bound, engine.index_days)
    columns, rows = engine.run_query(q, resolved.params)
    return QueryResult(name, bound, columns, rows, resolved.notes)


def status(settings: Settings, *, watch: bool = False, notify: Notify = _quiet) -> dict[str, Any]:
    """What the lake holds; with ``watch``, first follow the run in progress (if any) to its end."""
    engine = get_engine(settings)
    if watch:
        engine.watch(notify)
    return engine.status()
