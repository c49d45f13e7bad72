"""The ``ibov`` command line. Each command parses options, calls one core function and renders.

Heavy modules (boto3, duckdb, pyarrow, pandas, requests) are imported inside the commands, never at
import time, so every command starts fast (``tests/test_cli.py`` checks it). Shared options are declared
once (:mod:`ibovcli.cli_options`). The commands of the other ``cli_*`` modules are named in
:data:`ELSEWHERE`; a command line imports and builds only the command it runs (:func:`build_app`).
"""

from __future__ import annotations

import functools
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ibovcli import __version__
from ibovcli.cli_options import (
    Common,
    FormatOpt,
    FromDateOpt,
    ToDateOpt,
    complete_index,
    debug_requested,
    fail_on,
    output_format,
    shared,
)

#: The commands defined in this module. The whole app (:func:`build_app`) adds those of the other
#: ``cli_*`` modules; a command line builds only the command it runs (:func:`main`).
core = typer.Typer(
    rich_markup_mode=None,
    name="ibov",
    help=(
        "Collect and analyse the composition of B3's stock indices (IBOVESPA first).\n\n"
        "Scrapes B3's data (the day's portfolio of an index, official index levels years back), stores it "
        "raw in a lake, refines it (the portfolio partitioned by day and ticker) and answers saved SQL "
        "questions about it. Runs locally (a lake directory + DuckDB, the default) or on AWS (S3, Lambda, "
        "Glue, Athena).\n\n"
        "Examples:\n\n"
        "\b\n"
        "  ibov run                              # today's IBOV portfolio and levels; refine; summarise\n"
        "  ibov run --from IBOVDia_10-07-25.csv  # the same from a file saved from B3's site\n"
        "  ibov scrape levels --index IBOV --since 2018\n"
        "  ibov query top-weights --limit 5 --json\n"
        "  ibov chart weight-history --ticker PETR4 --out petr4.png\n\n"
        "Environment: IBOV_LAKE_DIR, IBOV_ENGINE, IBOV_B3_URL, IBOV_BUCKET ... (see each command's --help)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

IndexOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--index",
        "-i",
        metavar="CODE",
        help="B3 index code, e.g. IBOV, IBXX, SMLL; repeat for several, or `all` for the 34 B3 publishes "
        "(`ibov indices`). Default: IBOV (or the index named in a --from CSV).",
        show_default=False,
        autocompletion=complete_index,
    ),
]
FromOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--from",
        metavar="PATH",
        help="Read saved files instead of calling B3: files, directories or quoted glob patterns "
        "('saved/IBOVDia_*.csv'), repeatable; the format is detected from the content.",
        show_default=False,
    ),
]


@core.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(f"ibov {__version__}")
        raise typer.Exit(0)


@core.command()
@shared()
def scrape(
    common: Common,
    dataset: Annotated[
        str,
        typer.Argument(
            metavar="[DATASET]",
            help="portfolio (the default: the day's portfolio), levels (official index levels by year), "
            "theoretical (the current 4-month period's theoretical portfolio), preview (the next "
            "period's preview, when B3 says one is current) or quotes (every session's quotes, B3 COTAHIST).",
            show_default=False,
        ),
    ] = "portfolio",
    index: IndexOpt = None,
    from_: FromOpt = None,
    year: Annotated[
        list[int] | None,
        typer.Option(
            "--year",
            metavar="YYYY",
            help="levels: a calendar year; quotes: B3's annual file of that year; repeatable.",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="YYYY|YYYY-MM-DD",
            help="levels: every year from YYYY to this one; quotes: every session from YYYY-MM-DD to the "
            "last closed one.",
            show_default=False,
        ),
    ] = None,
    date_: Annotated[
        list[str] | None,
        typer.Option(
            "--date",
            metavar="YYYY-MM-DD",
            help="quotes: a session's daily file (repeatable); theoretical/preview with --from: the day "
            "the files were collected (default: each file's modification day).",
            show_default=False,
        ),
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            metavar="YYYY-MM",
            help="theoretical/preview with --from: the period's first month (01, 05 or 09); needed for "
            "JSON answers, checked against a CSV's title.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Fetch (or read) B3 data, validate it and store it in the raw zone.

    Storing raw data fires the trigger: on AWS the S3 event starts the Glue job; locally the same
    trigger decision runs here and refines what was written, so it is queryable at once.

    portfolio: the trading date comes from B3's answer, never from the clock (in the evening and on
    weekends B3 already publishes the next session's portfolio, so a Saturday run stores Monday).
    Nothing is written unless every check passes (rows, unique tickers, weights sum to 100,
    quantities sum to the total, a real trading date). With --from, directories and glob patterns
    are read in date order; a file identical to what is stored is reported as unchanged; a failing
    file does not stop the others, and the exit code says whether any failed.

    levels: one request per index and year to B3's index statistics (sessions up to the last closed
    one). A saved answer names neither its index nor its year: give one --index and one --year.

    theoretical / preview: stored with the 4-month period they apply to and the (Brasilia) day they
    were collected; every collection is kept. A fetch takes the period from today (the current one,
    or the next one for a preview); a CSV's title names it; a JSON answer needs --period (and
    defaults to IBOV without --index). A preview is requested only when B3's GetConfigurations says
    one is current; otherwise nothing is stored and the exit code is 8.

    quotes: B3's COTAHIST files (--date: daily files, --year: the annual file, --since: the daily files
    of every session since a day; --from: saved .ZIP or .TXT files, daily, monthly or annual). Each
    session becomes one raw file. A day B3 has not published (yet), or a holiday, is reported as not
    published and not retried (docs/quotes.md).

    Examples:

      ibov scrape                                  # IBOV's portfolio, from B3

      ibov scrape -i IBOV -i SMLL --json

      ibov scrape --from 'saved/*.csv' --lake ./lake

      ibov scrape levels --index IBOV --since 2018

      ibov scrape levels --index IBOV --year 2022 --from IBOV_2022.json

      ibov scrape preview --index IBOV

      ibov scrape theoretical --from IBOV_theoretical.json --period 2025-05 --date 2025-05-10

      ibov scrape quotes --date 2024-11-08 --json

      ibov scrape quotes --from COTAHIST_A2023.ZIP
    """
    from ibovcli import pipeline, render
    from ibovcli.collect import ScrapeRequest

    settings = common.settings()
    request = ScrapeRequest(
        dataset=dataset,
        indices=tuple(index or ()),
        from_paths=tuple(from_ or ()),
        years=tuple(year or ()),
        since=since,
        dates=tuple(date_ or ()),
        period=period,
    )
    with render.progress(_count(request), "reading" if from_ else "fetching") as on_progress:
        result = pipeline.scrape(settings, request, notify=common.notify(), on_progress=on_progress)
    if common.json:
        render.print_json(
            [{**s, "state": "stored"} for s in result.stored]
            + [{**s, "state": "unchanged"} for s in result.unchanged]
        )
    elif result.stored:
        label = {"portfolio": ["date"], "levels": ["year"], "quotes": ["date"]}.get(
            dataset, ["period", "collected_on"]
        )
        columns = [*([] if dataset == "quotes" else ["index"]), *label, "rows", "key"]
        render.print_table(columns, [tuple(s.get(c) for c in columns) for s in result.stored])
    if len(result.stored) + len(result.unchanged) + len(result.failures) > 1:
        render.note(result.summary())
    fail_on(result.failures)


def _count(request: Any) -> int:
    """How many inputs a scrape will acquire (for the progress bar)."""
    from ibovcli import collect

    try:
        if request.from_paths:
            return len(collect.expand_paths(request.from_paths))
        if request.dataset == "quotes":
            return max(1, len(request.years) + len(request.dates))
        n = len(collect.index_codes(request.indices))
        if request.dataset == "levels":
            from datetime import UTC, datetime

            n *= len(collect.levels_years(request, datetime.now(UTC).date()))
        return n
    except Exception:  # the scrape itself reports bad options
        return 0


@core.command()
@shared()
def run(
    common: Common,
    index: IndexOpt = None,
    from_: FromOpt = None,
    top: Annotated[
        int, typer.Option("--top", metavar="N", min=1, max=100, help="Rows in the summary per index.")
    ] = 5,
) -> None:
    """The daily job: scrape -> raw -> trigger -> refine -> catalog -> summary.

    Stores the day's portfolio of each index, then (unless --from) the current year's official levels
    of the same indices, when B3 says one is current the preview of their next 4-month period
    (one GetConfigurations request per index; otherwise the preview step is skipped), and the last
    closed session's quotes (B3 COTAHIST), then reconciles each stored portfolio with the quotes
    (docs/quotes.md); a failure of the levels, preview or quotes step is reported but never fails or
    blocks the portfolio. Locally the trigger decision (the same code the AWS Lambda runs) refines
    each unit written, into refined/ under the lake, and updates the local catalog. With --engine aws
    the uploads trigger the Glue job, which this command follows to the end.

    Without internet access to B3, pass files saved from the site with --from.

    Examples:

      ibov run

      ibov run --from IBOVDia_10-07-25.csv

      ibov run -i IBOV -i IBXX --json
    """
    from ibovcli import pipeline, render
    from ibovcli.collect import ScrapeRequest

    settings = common.settings()
    count = len(ScrapeRequest(indices=tuple(index or ()), from_paths=tuple(from_ or ())).from_paths) or len(
        index or ["IBOV"]
    )
    with render.progress(count, "reading" if from_ else "fetching") as on_progress:
        result = pipeline.run(
            settings,
            indices=index or (),
            from_paths=from_ or (),
            top=top,
            notify=common.notify(),
            on_progress=on_progress,
        )
    if common.json:
        render.print_json([s.as_json() for s in result.steps])
    else:
        for step in result.steps:
            if step.top is not None:
                s = step.stored
                what = (
                    "already stored, unchanged"
                    if step.state == "unchanged"
                    else f"{s.get('rows')} constituents"
                )
                render.print_table(
                    step.top.columns,
                    step.top.rows,
                    title=f"{step.index} {s.get('date')}: {what}; top {len(step.top.rows)}",
                    bar_column="weight_pct",
                )
            elif step.dataset == "quotes" and step.state == "failed" and step.error is not None:
                render.warning(f"quotes not refreshed: {step.error.message}")
            elif step.dataset != "portfolio" and step.state == "failed" and step.error is not None:
                render.warning(f"{step.dataset} of {step.index} not refreshed: {step.error.message}")
            elif step.dataset == "reconcile":
                render.note(f"reconcile {step.index} {step.stored.get('date')}: {step.state}: {step.note}")
            elif step.state == "skipped" and step.note:
                render.note(f"{step.dataset} of {step.index} skipped: {step.note}")
    fail_on(result.failures)


@core.command()
@shared()
def status(
    common: Common,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="First follow the write in progress to its end (aws: the job's active Glue run; local: the "
            "ibov command writing to the lake); exits non-zero if it fails.",
        ),
    ] = False,
) -> None:
    """What the lake holds per dataset and index (first/last, stored, refined, trading days missing) and
    the last runs.

    Examples:

      ibov status

      ibov status --json

      ibov status --engine aws --watch
    """
    from ibovcli import pipeline, render

    report = pipeline.status(common.settings(), watch=watch, notify=common.notify())
    if common.json:
        render.print_json(report.as_json())
        return
    render.status(report)


@core.command()
@shared()
def refine(
    common: Common,
    dataset: Annotated[
        str | None,
        typer.Argument(
            metavar="[DATASET]",
            help="portfolio, levels, theoretical or preview (default: all).",
            show_default=False,
        ),
    ] = None,
    index: IndexOpt = None,
    date: Annotated[
        list[str] | None,
        typer.Option(
            "--date",
            metavar="YYYY-MM-DD",
            help="portfolio, quotes: a session day; repeatable.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Refine stored raw data again, on demand: the refined zone and the catalog are rebuilt from raw.

    Every command that writes already refines what changed; use this after copying raw files into a
    lake by hand, or to redo a unit. Locally it runs here; on AWS it starts the Glue job for each unit
    and follows it.

    Examples:

      ibov refine                        # everything stored

      ibov refine --date 2025-07-10

      ibov refine levels --index IBOV
    """
    from ibovcli import pipeline, render

    settings = common.settings()
    units = pipeline.units(settings, dataset=dataset, indices=index or (), dates=date or ())
    results = pipeline.refine(settings, units, notify=common.notify())
    if common.json:
        render.print_json([r.as_json() for r in results])
    else:
        render.print_table(
            ["dataset", "unit", "rows", "indices", "seconds"],
            [
                (r.unit.dataset, r.unit.folder, r.rows, ", ".join(r.indices), round(r.seconds, 2))
                for r in results
            ],
        )


@core.command()
@shared()
def verify(
    common: Common,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Refine again every unit that disagrees (aws: start the Glue job for it), then check again.",
        ),
    ] = False,
) -> None:
    """Check that the zones agree: per dataset, unit and index, raw rows = refined rows = catalog rows;
    list raw files that cannot be read and units refined from older raw files.

    A full scan: it reads every raw file and every refined file's index column (on AWS, one Athena query
    per dataset). When quotes are stored, every stored portfolio day is also reconciled with them
    (docs/quotes.md): a day whose level or weights are off by more than the tolerance is listed with
    its largest culprits, and counts as a disagreement. Exit 0 when all is well, 5 when something
    disagrees (after --repair: when something still does; a damaged raw file is never deleted: store
    that day again, or remove it with `ibov rm`).

    Examples:

      ibov verify

      ibov verify --repair

      ibov verify --engine aws --json
    """
    from ibovcli import pipeline, render
    from ibovcli.errors import SnapshotError

    report = pipeline.verify(common.settings(), repair=repair, notify=common.notify())
    if common.json:
        render.print_json(report.as_json())
    else:
        shown = report.remaining if repair else report.problems
        if shown:
            render.print_table(
                ["dataset", "unit", "index", "raw_rows", "refined_rows", "catalog_rows", "stale", "damaged"],
                [
                    (
                        c.dataset,
                        c.unit,
                        c.index,
                        c.raw_rows,
                        c.refined_rows,
                        c.catalog_rows,
                        c.stale,
                        "; ".join(f"{k}: {w}" for k, w in c.damaged),
                    )
                    for c in shown
                ],
                title="units whose zones disagree",
            )
        if report.reconciled_off:
            render.print_table(
                ["index", "session_date", "problem", "largest culprits (B3 vs closes, pp)"],
                [
                    (
                        d.index,
                        d.session_date,
                        "; ".join(d.problems()),
                        ", ".join(f"{c.ticker} {c.diff_pp:.4f}" for c in d.culprits),
                    )
                    for d in report.reconciled_off
                ],
                title="portfolio days B3's quotes do not reproduce",
            )
        render.note(report.summary())
    left = report.remaining if repair else report.problems
    if not left and report.reconciled_off:
        raise SnapshotError(
            f"{len(report.reconciled_off)} stored portfolio days are off B3's level or weights by more than "
            "the tolerance",
            hint="`ibov query reconcile` shows every day; docs/quotes.md explains the tolerances.",
        )
    if left:
        raise SnapshotError(
            f"{len({(c.dataset, c.unit) for c in left})} units disagree between raw, refined and the catalog",
            hint="`ibov verify --repair` refines them again; a damaged raw file must be stored again.",
        )


@core.command("sql")
@shared()
def adhoc_sql(
    common: Common,
    statement: Annotated[
        str,
        typer.Argument(metavar="STATEMENT", help="One read-only SQL statement, or - to read it from stdin."),
    ],
    format_: FormatOpt = "table",
) -> None:
    """Run one read-only SQL statement on the catalog tables (DuckDB locally, Athena with --engine aws).

    Tables: ibov_refined (the daily portfolio), ibov_levels (index levels), ibov_compact (the
    portfolio's compact copy, with a month column); `${portfolio}`, `${levels}` and `${compact}` name
    them too. Only a single query is run (SELECT, WITH, VALUES, FROM, SHOW,
    DESCRIBE); anything else is refused with exit 2. No rows: exit 8 (`--json` prints []).

    Examples:

      ibov sql "SELECT dt, count(*) AS n FROM ibov_refined GROUP BY dt ORDER BY dt DESC LIMIT 5"

      ibov sql "SELECT * FROM ibov_levels WHERE index_code = 'IBOV' ORDER BY session_date DESC LIMIT 3" --json

      ibov sql - --format csv < question.sql > answer.csv
    """
    import sys

    from ibovcli import pipeline, render

    fmt = output_format(format_, common.json)
    text = sys.stdin.read() if statement == "-" else statement
    render.query_result(pipeline.sql(common.settings(), text, notify=common.notify()), fmt)


@core.command("export")
@shared()
def export_rows(
    common: Common,
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", metavar="FILE", help="File to write: .parquet or .csv.", show_default=False
        ),
    ],
    index: Annotated[str, typer.Option("--index", "-i", metavar="CODE", help="B3 index code.")] = "IBOV",
    from_: FromDateOpt = None,
    to: ToDateOpt = None,
    dataset: Annotated[
        str, typer.Option("--dataset", "-d", metavar="NAME", help="portfolio or levels.")
    ] = "portfolio",
    format_: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="parquet|csv",
            help="File format (default: from --out's extension).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write the refined rows of an index over a date range to one Parquet or CSV file (for pandas,
    Excel, another database). The file appears whole or not at all; no rows is exit 8 and writes nothing.

    Examples:

      ibov export --index IBOV --from 2025-01-01 --out ibov-2025.parquet

      ibov export --to 2025-06-30 --out ibov.csv

      ibov export --dataset levels --from 2020-01-01 --out ibov-levels.parquet --json
    """
    from ibovcli import pipeline, render

    done = pipeline.export(
        common.settings(),
        dataset=dataset,
        index=index,
        since=from_,
        until=to,
        out=out,
        fmt=format_,
        notify=common.notify(),
    )
    if common.json:
        render.print_json(done.as_json())
    else:
        render.note(f"wrote {done.rows} rows of {done.index} ({done.first} to {done.last}) to {done.path}")
        print(done.path)


@core.command("rm")
@shared()
def remove(
    common: Common,
    dataset: Annotated[
        str,
        typer.Argument(metavar="[DATASET]", help="portfolio (by --date) or levels (by --year)."),
    ] = "portfolio",
    index: Annotated[
        str, typer.Option("--index", "-i", metavar="CODE", help="B3 index code.", show_default=False)
    ] = "",
    date: Annotated[
        list[str] | None,
        typer.Option(
            "--date", metavar="YYYY-MM-DD", help="portfolio: a session day; repeatable.", show_default=False
        ),
    ] = None,
    year: Annotated[
        list[str] | None,
        typer.Option(
            "--year", metavar="YYYY", help="levels: a calendar year; repeatable.", show_default=False
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove an index's stored day (or levels year) everywhere: the raw file, its original bytes, its
    refined rows and catalog rows (on AWS: the S3 objects, then the Glue job refines what is left of the
    day, or the day's refined objects and catalog partitions go when nothing is left).

    Other indices of the same day stay. It first lists what will go and asks; without a terminal, pass
    --yes. Nothing stored there: exit 8.

    Examples:

      ibov rm --index IBOV --date 2025-07-10

      ibov rm levels --index IBOV --year 2022 --yes

      ibov rm -i SMLL --date 2025-07-10 --date 2025-07-11 --yes --json
    """
    import sys

    from ibovcli import pipeline, render
    from ibovcli.errors import NoData, UsageError

    if not index:
        raise UsageError("give the index whose data goes: --index CODE")
    settings = common.settings()
    keys = pipeline.removal_keys(dataset, index, date or (), year or ())
    plan = pipeline.remove(settings, keys, dry_run=True)
    if not plan.keys:
        raise NoData(
            f"nothing of {index.upper()} is stored there ({', '.join(keys)})",
            hint="`ibov status` shows what the lake holds.",
        )
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(
                f"ibov rm would remove {len(plan.keys)} files ({plan.rows} rows): confirm with --yes",
                hint="Without a terminal ibov cannot ask; add --yes.",
            )
        for key in plan.keys:
            render.note(f"  {key}")
        if not typer.confirm(f"remove these {len(plan.keys)} files and their {plan.rows} rows?", err=True):
            render.note("nothing removed")
            return
    done = pipeline.remove(settings, keys, dry_run=False, notify=common.notify())
    if common.json:
        render.print_json(done.as_json())
        return
    render.note(
        f"removed {len(done.keys)} files ({done.rows} rows); refined again: "
        f"{', '.join(str(r.unit) for r in done.refined) or 'none'}; cleared: "
        f"{', '.join(str(u) for u in done.cleared) or 'none'}"
    )


@core.command("indices")
@shared(engine=False)
def list_indices(common: Common) -> None:
    """The index codes B3 publishes (what --index accepts; `all` stands for every one).

    Example:

      ibov indices
    """
    from ibovcli import indices, render

    if common.json:
        render.print_json([{"code": c, "name": n} for c, n in indices.INDICES])
    else:
        render.print_table(["code", "name"], list(indices.INDICES))


#: The commands defined in other modules, imported only by a command line that runs them (or asks for
#: the whole app): name -> (module, attribute, whether it is a group of subcommands).
ELSEWHERE: dict[str, tuple[str, str, bool]] = {
    "query": ("ibovcli.cli_query", "query_app", True),
    "chart": ("ibovcli.cli_chart", "chart_app", True),
    "deploy": ("ibovcli.cli_aws", "deploy", False),
    "destroy": ("ibovcli.cli_aws", "destroy", False),
    "report": ("ibovcli.cli_report", "report", False),
}


def _name(info: Any) -> str:
    return str(info.name or typer.main.get_command_name(info.callback.__name__))


def command_names() -> list[str]:
    """Every top-level command's name, in the order ``ibov --help`` lists them (nothing is imported)."""
    others = sorted(ELSEWHERE, key=lambda name: ELSEWHERE[name][2])  # Typer lists groups last
    return [_name(c) for c in core.registered_commands] + others


def build_app(only: str | None = None) -> typer.Typer:
    """The ibov app with every command, or with ``only`` that one command (and the root options).

    Typer turns every registered command's signature into a Click command before it parses anything,
    so a command line that names its command gets an app holding just that one: the other commands'
    modules are not imported and their options not built (start-up, ``docs/performance.md``).
    """
    import copy
    import importlib

    out = copy.copy(core)
    out.registered_commands = [c for c in core.registered_commands if only in (None, _name(c))]
    out.registered_groups = []
    for name, (module, attribute, group) in ELSEWHERE.items():
        if only not in (None, name):
            continue
        obj = getattr(importlib.import_module(module), attribute)
        if group:
            out.add_typer(obj, name=name)
        else:
            out.command(name)(obj)
    return out


def __getattr__(name: str) -> Any:
    """``ibovcli.cli.app``: the whole app (every command), for the docs, the tests and the benchmarks."""
    if name == "app":
        return _whole_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _whole_app() -> typer.Typer:
    return build_app()


def _command_in(args: list[str]) -> str | None:
    """The top-level command a command line runs, when it names one ibov has (the root options take no
    value); ``None`` for root help, ``--version``, an unknown name or shell completion (then the whole
    app answers, with its usual messages and suggestions)."""
    import os

    if "_IBOV_COMPLETE" in os.environ:
        return None
    for arg in args:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg if arg in command_names() else None
    return None


def _on_signal(signum: int, _frame: Any) -> None:
    """SIGINT and SIGTERM end the command through the same path: what was being written is rolled back,
    the run log says ``interrupted``, one line on stderr, exit 130 or 143."""
    from ibovcli.errors import Interrupted

    if signum == signal.SIGINT:
        raise Interrupted("SIGINT", 130)
    raise Interrupted("SIGTERM", 143)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; turn every failure into one line on stderr and an exit code."""
    from typer import Abort
    from typer._click.exceptions import ClickException

    from ibovcli.errors import IbovError, Interrupted

    args = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        code = build_app(_command_in(args))(args=args, prog_name="ibov", standalone_mode=False)
    except IbovError as exc:
        if debug_requested():
            raise
        _error(exc.message, exc.hint)
        sys.exit(exc.exit_code)
    except ClickException as exc:  # a usage error: unknown option or command, missing value...
        ctx = getattr(exc, "ctx", None)
        where = f"`{ctx.command_path} --help`" if ctx is not None else "`ibov --help`"
        _error(exc.format_message(), f"{where} lists what it accepts.")
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, Abort) as exc:
        if isinstance(exc, Abort) and not isinstance(exc.__context__, KeyboardInterrupt):
            _error("aborted: nothing was changed")
            sys.exit(1)
        _interrupted("SIGINT", 130)
    except Interrupted as exc:
        _interrupted(exc.signal_name, exc.exit_code)
    except BrokenPipeError:
        _quiet_pipe()
    except Exception as exc:
        if debug_requested():
            raise
        _error(
            f"unexpected {type(exc).__name__}: {exc}",
            "Re-run with --debug for the traceback, and report it if it persists.",
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _error(message: str, hint: str = "") -> None:
    from ibovcli import render

    render.error_line(message, hint)


def _interrupted(name: str, code: int) -> None:
    sys.stderr.write(f"interrupted ({name}): nothing partial was left behind\n")
    sys.exit(code)


def _quiet_pipe() -> None:
    """The reader of stdout went away (``ibov query ... | head``): end quietly, as a Unix filter does."""
    import os

    with_devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(with_devnull, sys.stdout.fileno())
    sys.exit(0)
