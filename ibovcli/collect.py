"""What to acquire for a scrape: one :class:`Job` per B3 request or input file, for every dataset.

A job fetches (or reads) its bytes, parses them with the dataset's parser, checks B3's invariants and
turns the result into raw files (:mod:`ibovcli.rawfiles`); nothing here writes to a lake. The pipeline
runs the jobs, then stores what they produced under one lock.
"""

from __future__ import annotations

import glob
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ibovcli import datasets, indices, rawfiles
from ibovcli.errors import IbovError, NoData, UsageError
from ibovcli.rawfiles import RawWrite
from ibovcli.settings import Settings

Notify = Callable[[str], None]

#: The first year of official IBOV levels B3 serves.
FIRST_LEVELS_YEAR = 1968


@dataclass(frozen=True)
class ScrapeRequest:
    """What ``ibov scrape [DATASET]`` was asked for (each dataset refuses the options it does not take)."""

    dataset: str = datasets.PORTFOLIO.name
    indices: tuple[str, ...] = ()
    from_paths: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    #: levels: a year YYYY; day-based datasets: a day YYYY-MM-DD
    since: str | None = None
    dates: tuple[str, ...] = ()
    #: period datasets: the period's first month, YYYY-MM
    period: str | None = None

    def given(self) -> list[str]:
        """The dataset-specific options that were given, as their flags."""
        flags = {"years": "--year", "since": "--since", "dates": "--date", "period": "--period"}
        return [flag for field, flag in flags.items() if getattr(self, field)]

    def refuse(self, *flags: str) -> None:
        """:class:`UsageError` when one of ``flags`` was given: this dataset does not take it."""
        extra = [f for f in self.given() if f in flags]
        if extra:
            raise UsageError(
                f"{', '.join(extra)}: not an option of `ibov scrape {self.dataset}`",
                hint="`ibov scrape --help` says which options each dataset takes.",
            )


@dataclass
class Job:
    """One thing to acquire: a B3 request or an input file."""

    what: str
    acquire: Callable[[], list[RawWrite]]
    #: a file's path (bulk imports are stored in date order, once read)
    path: str | None = None
    writes: list[RawWrite] = field(default_factory=list)


def jobs(
    settings: Settings, request: ScrapeRequest, notify: Notify, *, today: date | None = None
) -> list[Job]:
    """The jobs of ``request`` (:class:`UsageError` for options that contradict each other)."""
    if request.dataset not in COLLECTORS:
        raise UsageError(f"no dataset named {request.dataset!r}", hint=f"Datasets: {', '.join(COLLECTORS)}.")
    today = today or datetime.now(UTC).date()
    started = time.monotonic()  # IBOV_HTTP_DEADLINE bounds the whole command, not each request
    return COLLECTORS[request.dataset](settings, request, notify, started, today)


# -- inputs -------------------------------------------------------------------------------------------


def expand_paths(given: Sequence[str]) -> list[Path]:
    """``--from`` values as files: a file as is, a directory's files (not hidden, sorted), a quoted glob
    pattern expanded by ibov (``'saved/IBOVDia_*.csv'``). A value that names nothing is refused."""
    out: list[Path] = []
    for value in given:
        path = Path(value).expanduser()
        if path.is_dir():
            out += sorted(p for p in path.iterdir() if not p.name.startswith(".") and not p.is_dir())
        elif path.exists() or path.is_symlink():
            out.append(path)
        elif glob.has_magic(value):
            found = sorted(Path(p) for p in glob.glob(str(path)) if not Path(p).is_dir())
            if not found:
                raise UsageError(f"--from {value!r} matches no file")
            out += found
        else:
            out.append(path)  # reading it reports the missing file, as one failure among the others
    unique: dict[Path, None] = dict.fromkeys(out)
    return list(unique)


def read_file(path: Path, settings: Settings) -> bytes:
    """A user-given input file's bytes (regular files only, up to the input size cap)."""
    from ibovcli.safeio import read_input

    return read_input(path, max_bytes=settings.max_input_bytes)


def check_index(code: str) -> str:
    """An index code B3 publishes (exit 2 otherwise, with the nearest code as a suggestion)."""
    text = code.strip().upper()
    if text == indices.ALL:
        return text
    if text in indices.codes():
        return text
    import difflib

    shown = code if len(code) <= 40 else code[:40] + "..."
    close = difflib.get_close_matches(text, indices.codes(), n=1, cutoff=0.6)
    hint = f"Did you mean {close[0]}? " if close else ""
    raise UsageError(
        f"unknown index code {shown!r}", hint=f"{hint}`ibov indices` lists the codes B3 publishes."
    )


def index_codes(given: Sequence[str], *, default: str = "IBOV") -> list[str]:
    return indices.expand([check_index(c) for c in given]) or [default]


# -- portfolio ----------------------------------------------------------------------------------------


def _portfolio_jobs(
    settings: Settings, request: ScrapeRequest, notify: Notify, started: float, today: date
) -> list[Job]:
    from ibovcli import b3, quality

    request.refuse("--year", "--since", "--date", "--period")
    if request.from_paths:
        if indices.ALL in [c.strip().upper() for c in request.indices]:
            raise UsageError(
                "--index all fetches every index from B3; it cannot name the index of a --from file",
                hint="Leave --index out for CSV files, or give the file's index code.",
            )
        if len(request.indices) > 1:
            raise UsageError(
                "--index takes one code with --from (the CSV title or --index names the index)",
                hint="Run once per index, or leave --index out for CSV files.",
            )
        explicit = check_index(request.indices[0]) if request.indices else None

        def read(path: Path) -> list[RawWrite]:
            p = b3.parse_snapshot(read_file(path, settings), index=explicit, source=f"file:{path.name}")
            return [rawfiles.portfolio(quality.validate(p, max_rows=settings.max_rows))]

        return [Job(str(p), _bind(read, p), path=str(p)) for p in expand_paths(request.from_paths)]

    def fetch(index: str) -> list[RawWrite]:
        from ibovcli.fetch import fetch_portfolio

        notify(f"fetching {index} from {_host(settings.b3_url)}")
        p = fetch_portfolio(
            index,
            base_url=settings.b3_url,
            policy=settings.http_policy(),
            page_size=settings.b3_page_size,
            on_event=notify,
            started=started,
        )
        return [rawfiles.portfolio(quality.validate(p, max_rows=settings.max_rows))]

    return [Job(index, _bind(fetch, index)) for index in index_codes(request.indices)]


# -- levels -------------------------------------------------------------------------------------------


def levels_years(request: ScrapeRequest, today: date) -> list[int]:
    """The years asked for: ``--year`` (repeatable) or ``--since YYYY`` (to this year)."""
    if request.years and request.since is not None:
        raise UsageError("give --year or --since, not both")
    since = None
    if request.since is not None:
        if not request.since.isdigit() or len(request.since) != 4:
            raise UsageError(f"--since takes a year YYYY for levels, got {request.since!r}")
        since = int(request.since)
    years = list(request.years) or (list(range(since, today.year + 1)) if since else [])
    if not years:
        raise UsageError(
            "`ibov scrape levels` needs --year YYYY (repeatable) or --since YYYY",
            hint="For example: ibov scrape levels --index IBOV --since 2018",
        )
    for year in years:
        if not FIRST_LEVELS_YEAR <= year <= today.year:
            raise UsageError(f"--year {year} is outside {FIRST_LEVELS_YEAR}..{today.year}")
    return sorted(set(years))


def _levels_jobs(
    settings: Settings, request: ScrapeRequest, notify: Notify, started: float, today: date
) -> list[Job]:
    from ibovcli import levels

    request.refuse("--date", "--period")
    if request.from_paths and (len(request.indices) != 1 or len(request.years) != 1 or request.since):
        raise UsageError(
            "a saved levels answer names neither its index nor its year: give one --index and one --year "
            "with --from"
        )
    years = levels_years(request, today)
    if request.from_paths:
        if (
            len(request.indices) != 1
            or indices.ALL in [c.upper() for c in request.indices]
            or len(years) != 1
        ):
            raise UsageError(
                "a saved levels answer names neither its index nor its year: give one --index and one --year "
                "with --from"
            )
        index = check_index(request.indices[0])
        year = years[0]
        paths = expand_paths(request.from_paths)
        if len(paths) != 1:
            raise UsageError("give one levels file per --index/--year")

        def read(path: Path) -> list[RawWrite]:
            y = levels.parse_levels(
                read_file(path, settings), index=index, year=year, source=f"file:{path.name}"
            )
            return [rawfiles.levels(y)]

        return [Job(str(paths[0]), _bind(read, paths[0]), path=str(paths[0]))]

    def fetch(index: str, year: int) -> list[RawWrite]:
        notify(f"fetching {index} levels of {year} from {_host(settings.b3_url)}")
        y = levels.fetch_levels(
            index,
            year,
            base_url=settings.b3_url,
            policy=settings.http_policy(),
            on_event=notify,
            started=started,
        )
        return [rawfiles.levels(y)]

    return [
        Job(f"{index} {year}", _bind(fetch, index, year))
        for index in index_codes(request.indices)
        for year in years
    ]


# -- theoretical / preview ------------------------------------------------------------------------


class PreviewNotCurrent(NoData):
    """B3's GetConfigurations says no preview of the index's next period is current."""

    hint = "B3 publishes previews in the weeks before the first Monday of January, May and September."


def collection_day(request: ScrapeRequest, path: Path | None) -> date:
    """The Brasilia day a collection was made: ``--date``, else (a file) its modification day."""
    from ibovcli import periods

    if request.dates:
        try:
            return date.fromisoformat(request.dates[0])
        except ValueError:
            raise UsageError(f"--date must be YYYY-MM-DD, got {request.dates[0]!r}") from None
    if path is None:
        return periods.brasilia_today()
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return periods.brasilia_today()
    return periods.brasilia_today(datetime.fromtimestamp(mtime, UTC))


def _period_jobs(
    settings: Settings, request: ScrapeRequest, notify: Notify, started: float, today: date
) -> list[Job]:
    from ibovcli import b3, periods, previews

    kind: previews.Kind = "preview" if request.dataset == "preview" else "theoretical"
    request.refuse("--year", "--since")
    if len(request.dates) > 1:
        raise UsageError("give one --date (the day the files were collected)")
    try:
        period = periods.Period.from_month(request.period) if request.period else None
    except periods.BadPeriod as exc:
        raise UsageError(f"--period: {exc.message}", hint=periods.BadPeriod.hint) from None
    if request.from_paths:
        if indices.ALL in [c.strip().upper() for c in request.indices] or len(request.indices) > 1:
            raise UsageError(
                "--index takes one code with --from (a CSV title names its index; JSON defaults to IBOV)",
                hint=f"Run `ibov scrape {kind} --from FILE` once per index.",
            )
        explicit = check_index(request.indices[0]) if request.indices else None

        def read(path: Path) -> list[RawWrite]:
            data = read_file(path, settings)
            collected_on = collection_day(request, path)
            source = f"file:{path.name}"
            if b3.read_body(data).kind == "csv":
                p = previews.parse_period_portfolio(data, kind=kind, index=None, period=None, source=source)
                if explicit is not None and explicit != p.index:
                    raise UsageError(f"{path.name} is a {p.index} {kind} but --index {explicit} was given")
                if period is not None and period != p.period:
                    raise UsageError(
                        f"{path.name} is for the period {p.period.label} (its title) but --period "
                        f"{period.month} ({period.label}) was given",
                        hint="Leave --period out for CSV files: the title names the period.",
                    )
            else:
                if period is None:
                    raise UsageError(
                        "a JSON answer does not say which 4-month period it is for",
                        hint="Pass --period YYYY-MM, the period's first month (e.g. 2025-05 for May-Aug).",
                    )
                p = previews.parse_period_portfolio(
                    data, kind=kind, index=explicit or "IBOV", period=period, source=source
                )
            return [rawfiles.period(previews.validate(p), collected_on)]

        return [Job(str(p), _bind(read, p), path=str(p)) for p in expand_paths(request.from_paths)]
    if request.dates or period is not None:
        raise UsageError(
            "--date and --period describe --from files; a fetch is collected today, for "
            + ("the current period" if kind == "theoretical" else "the next period"),
        )

    def fetch(index: str) -> list[RawWrite]:
        policy = settings.http_policy()
        if kind == "preview":
            notify(f"asking {_host(settings.b3_url)} whether a preview of {index} is current")
            current = previews.fetch_preview_status(
                index, base_url=settings.b3_url, policy=policy, on_event=notify, started=started
            )
            if not current.has_preview:
                raise PreviewNotCurrent(
                    f"no preview of {index}'s next period is current (B3's GetConfigurations says none); "
                    "nothing was requested or stored"
                )
        notify(f"fetching {index} {kind} from {_host(settings.b3_url)}")
        p = previews.fetch_period_portfolio(
            kind,
            index,
            base_url=settings.b3_url,
            policy=policy,
            page_size=settings.b3_page_size,
            on_event=notify,
            started=started,
        )
        return [rawfiles.period(previews.validate(p), periods.brasilia_today(p.collected_at))]

    return [Job(f"{index} {kind}", _bind(fetch, index)) for index in index_codes(request.indices)]


# -- quotes -------------------------------------------------------------------------------------------


def _quotes_jobs(
    settings: Settings, request: ScrapeRequest, notify: Notify, started: float, today: date
) -> list[Job]:
    """COTAHIST files: ``--date`` / ``--since`` daily files, ``--year`` annual files, or ``--from``
    saved files (:mod:`ibovcli.quotes`); every session a file holds is one raw file."""
    from ibovcli import quotes
    from ibovcli.cotahist import CotahistName

    request.refuse("--period")
    if request.indices:
        raise UsageError("quotes are not per index: leave --index out (`ibov scrape quotes --help`)")
    if request.from_paths:
        if request.dates or request.years or request.since:
            raise UsageError("--from reads the files given; leave --date, --year and --since out")

        def read(path: Path) -> list[RawWrite]:
            return quotes.read_writes(path, max_daily_bytes=settings.max_input_bytes)

        return [Job(str(p), _bind(read, p), path=str(p)) for p in expand_paths(request.from_paths)]
    if request.years and (request.dates or request.since):
        raise UsageError("give --year, or --date/--since, not both")
    names: list[CotahistName] = [CotahistName.for_year(y) for y in quotes.check_years(request.years, today)]
    if not request.years:
        names = [CotahistName.for_day(d) for d in quotes.days_asked(request.dates, request.since, today)]
    if not names:
        raise UsageError(
            "`ibov scrape quotes` needs --date YYYY-MM-DD (repeatable), --since YYYY-MM-DD, --year YYYY "
            "or --from FILE",
            hint="For example: ibov scrape quotes --date 2024-11-08",
        )

    def fetch(name: CotahistName) -> list[RawWrite]:
        notify(f"fetching {name.filename} from {_host(settings.quotes_url)}")
        return quotes.fetch_writes(
            name,
            base_url=settings.quotes_url,
            policy=settings.http_policy(),
            notify=notify,
            started=started,
        )

    return [Job(str(n.first_day if n.kind == "daily" else n.year), _bind(fetch, n)) for n in names]


# -- helpers ------------------------------------------------------------------------------------------

Collector = Callable[[Settings, ScrapeRequest, Notify, float, date], list[Job]]
#: How each dataset's jobs are made (a dataset without an entry cannot be scraped).
COLLECTORS: dict[str, Collector] = {
    datasets.PORTFOLIO.name: _portfolio_jobs,
    datasets.LEVELS.name: _levels_jobs,
    datasets.THEORETICAL.name: _period_jobs,
    datasets.PREVIEW.name: _period_jobs,
    datasets.QUOTES.name: _quotes_jobs,
}


def _bind(fn: Callable[..., list[RawWrite]], *args: Any) -> Callable[[], list[RawWrite]]:
    def call() -> list[RawWrite]:
        return fn(*args)

    return call


def _host(url: str) -> str:
    """The host of a URL, for progress lines (never its credentials or path)."""
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or "B3"


def run_job(job: Job) -> IbovError | None:
    """Acquire ``job``'s raw files into ``job.writes``; the error instead, if it failed."""
    try:
        job.writes = job.acquire()
    except IbovError as exc:
        return exc
    return None


def order_key(job: Job) -> tuple[str, str]:
    """Bulk imports are stored in date order (then by name), whatever the order of the files."""
    first = job.writes[0].describe if job.writes else {}
    label = first.get("date") or first.get("year") or first.get("period") or ""
    return (f"{label}_{first.get('collected_on', '')}", job.what)


def iter_writes(jobs_done: Sequence[Job]) -> Iterator[tuple[Job, RawWrite]]:
    for job in sorted(jobs_done, key=order_key):
        for w in job.writes:
            yield job, w
