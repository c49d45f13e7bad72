"""The ``ibov`` command line. Each command parses options, calls one core function and renders.

Heavy modules (boto3, duckdb, pyarrow, requests) are imported inside the commands, never at import
time, so ``ibov --help`` stays instant (``tests/test_cli_startup.py`` proves it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ibovcli import __version__

if TYPE_CHECKING:
    from ibovcli.pipeline import QueryResult
    from ibovcli.settings import Settings

app = typer.Typer(
    rich_markup_mode=None,
    name="ibov",
    help=(
        "Collect and analyse the composition of B3's stock indices (IBOVESPA first).\n\n"
        "Scrapes the day's portfolio of an index from B3, stores it raw in a lake partitioned by trading "
        "day, refines it (partitioned by day and ticker) and answers saved SQL questions about it. "
        "Runs locally (a lake directory + DuckDB, the default) or on AWS (S3, Lambda, Glue, Athena).\n\n"
        "Examples:\n\n"
        "\b\n"
        "  ibov run                              # fetch today's IBOV, refine, summarise\n"
        "  ibov run --from IBOVDia_10-07-25.csv  # the same from a file saved from B3's site\n"
        "  ibov query top-weights --limit 5 --json\n"
        "  ibov chart weight-history --ticker PETR4 --out petr4.png\n\n"
        "Environment: IBOV_LAKE_DIR, IBOV_ENGINE, IBOV_B3_URL, IBOV_BUCKET ... (see each command's --help)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# -- options shared by the commands (accepted after the command name) ------------------------------

LakeOpt = Annotated[
    Path | None,
    typer.Option(
        "--lake",
        metavar="DIR",
        help="Lake directory (local engine). Env: IBOV_LAKE_DIR. Default: ~/.local/share/ibov/lake.",
        show_default=False,
    ),
]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine", metavar="local|aws", help="local (default) or aws. Env: IBOV_ENGINE.", show_default=False
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show the full traceback on errors.")]
BucketOpt = Annotated[
    str | None,
    typer.Option(
        "--bucket",
        metavar="NAME",
        help="AWS: data bucket (default: from the stack outputs). Env: IBOV_BUCKET.",
        show_default=False,
    ),
]
StackOpt = Annotated[
    str | None,
    typer.Option(
        "--stack-name",
        metavar="NAME",
        help="AWS: CloudFormation stack name. Env: IBOV_STACK. Default: ibov.",
        show_default=False,
    ),
]
RegionOpt = Annotated[
    str | None,
    typer.Option(
        "--region",
        metavar="REGION",
        help="AWS region (default: boto3's, e.g. AWS_REGION).",
        show_default=False,
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile", metavar="PROFILE", help="AWS profile (default: boto3's chain).", show_default=False
    ),
]
IndexOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--index",
        "-i",
        metavar="CODE",
        help="B3 index code, e.g. IBOV, IBXX, SMLL; repeat for several, or `all` for the 34 B3 "
        "publishes. Default: IBOV (or the index named in a --from CSV).",
        show_default=False,
    ),
]
FromOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--from",
        metavar="FILE",
        help="Read a saved snapshot instead of calling B3: a GetPortfolioDay JSON "
        "(pt-br/en-us, segment 1/2), the site's Download CSV, or the download's base64 body. "
        "Repeat for several files.",
        show_default=False,
    ),
]


def _settings(**flags: Any) -> Settings:
    from ibovcli.settings import Settings

    return Settings.load(**flags)


def _notifier(quiet: bool) -> Any:
    from ibovcli import render

    def notify(msg: str) -> None:
        if not quiet:
            render.note(msg)

    return notify


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(f"ibov {__version__}")
        raise typer.Exit(0)


@app.command()
def scrape(
    index: IndexOpt = None,
    from_: FromOpt = None,
    lake: LakeOpt = None,
    engine: EngineOpt = None,
    bucket: BucketOpt = None,
    stack_name: StackOpt = None,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    json_: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Fetch (or read) an index's portfolio of the day, validate it and store it in the raw zone.

    Storing raw data fires the trigger: on AWS the S3 event starts the Glue job; locally the same
    trigger decision runs here and refines the days written, so they are queryable at once.

    The trading date comes from B3's answer, never from the clock: in the evening and on weekends B3
    already publishes the next session's portfolio, so a Saturday run stores Monday.
    Nothing is written unless every check passes (rows, unique tickers, weights sum to 100,
    quantities sum to the total, a real date).

    Examples:

      ibov scrape                                  # IBOV, from B3

      ibov scrape -i IBOV -i SMLL --json

      ibov scrape --from IBOVDia_10-07-25.csv --lake ./lake
    """
    from ibovcli import pipeline, render

    s = _settings(
        lake_dir=lake, engine=engine, bucket=bucket, stack_name=stack_name, region=region, profile=profile
    )
    with render.progress(_fetch_count(index, from_), "fetching") as on_progress:
        result = pipeline.scrape(
            s, indices=index, from_paths=from_, notify=_notifier(False), on_progress=on_progress
        )
    if json_:
        render.print_json([st.as_json() for st in result.stored])
    elif result.stored:
        render.print_table(
            ["index", "date", "rows", "key"],
            [(st.index, st.date, st.rows, st.key) for st in result.stored],
        )
    _fail_on(result.failures, debug)


@app.command()
def run(
    index: IndexOpt = None,
    from_: FromOpt = None,
    top: Annotated[
        int, typer.Option("--top", metavar="N", min=1, max=100, help="Rows in the summary per index.")
    ] = 5,
    lake: LakeOpt = None,
    engine: EngineOpt = None,
    bucket: BucketOpt = None,
    stack_name: StackOpt = None,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    json_: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """The whole pipeline: scrape -> raw -> trigger -> refine -> catalog -> summary.

    Locally the trigger decision (the same code the AWS Lambda runs) refines each day written, into
    refined/dt=YYYY-MM-DD/ticker=XXXX/ under the lake, and updates the local catalog. With
    --engine aws the upload triggers the Glue job, which this command follows to the end.

    Without internet access to B3, pass a snapshot saved from the site with --from.

    Examples:

      ibov run

      ibov run --from IBOVDia_10-07-25.csv

      ibov run -i IBOV -i IBXX --json
    """
    from ibovcli import pipeline, render

    s = _settings(
        lake_dir=lake, engine=engine, bucket=bucket, stack_name=stack_name, region=region, profile=profile
    )
    with render.progress(_fetch_count(index, from_), "fetching") as on_progress:
        result = pipeline.run(
            s, indices=index, from_paths=from_, top=top, notify=_notifier(False), on_progress=on_progress
        )
    if json_:
        render.print_json(
            {
                "run_id": result.run_id,
                "seconds": round(result.seconds, 3),
                "stored": [st.as_json() for st in result.stored],
                "refined": [r.as_json() for r in result.refined],
                "top": {k: q.records() for k, q in result.top.items()},
                "failures": [f.as_json() for f in result.failures],
            }
        )
    else:
        for r in result.refined:
            render.note(f"refined {r.day}: {r.rows} rows ({', '.join(r.indices)}) in {r.seconds:.2f}s")
        for title, q in result.top.items():
            st = next(x for x in result.stored if f"{x.index} {x.date}" == title)
            render.print_table(
                q.columns,
                q.rows,
                title=f"{st.index} {st.date}: {st.rows} constituents, top {len(q.rows)}",
                bar_column="weight_pct",
            )
    _fail_on(result.failures, debug)


@app.command()
def query(
    name: Annotated[
        str | None, typer.Argument(help="Saved query name; see --list.", show_default=False)
    ] = None,
    list_: Annotated[
        bool, typer.Option("--list", help="List the saved queries and their parameters.")
    ] = False,
    index: Annotated[
        str | None,
        typer.Option("--index", "-i", metavar="CODE", help="Index code (default IBOV).", show_default=False),
    ] = None,
    date: Annotated[
        str | None,
        typer.Option(
            "--date",
            metavar="YYYY-MM-DD",
            help="Session date YYYY-MM-DD (default: latest).",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", metavar="N", help="Number of rows.", show_default=False)
    ] = None,
    ticker: Annotated[
        str | None,
        typer.Option("--ticker", "-t", metavar="TICKER", help="Ticker, e.g. PETR4.", show_default=False),
    ] = None,
    from_date: Annotated[
        str | None,
        typer.Option("--from", metavar="YYYY-MM-DD", help="First date YYYY-MM-DD.", show_default=False),
    ] = None,
    to_date: Annotated[
        str | None,
        typer.Option("--to", metavar="YYYY-MM-DD", help="Last date YYYY-MM-DD.", show_default=False),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", metavar="table|json|csv", help="table, json or csv.")
    ] = "table",
    lake: LakeOpt = None,
    engine: EngineOpt = None,
    bucket: BucketOpt = None,
    stack_name: StackOpt = None,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    json_: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Run a saved SQL query on the refined data (DuckDB locally, Athena on AWS).

    Weights are percentages, in columns named weight_pct.

    Examples:

      ibov query --list

      ibov query top-weights --index IBOV --date 2025-07-10 --limit 5 --json

      ibov query top-weights --format csv > top.csv
    """
    from ibovcli import pipeline, queries, render
    from ibovcli.errors import QueryError

    if fmt not in ("table", "json", "csv"):
        raise QueryError(f"--format must be table, json or csv, not {fmt!r}")
    if json_:
        fmt = "json"
    if list_ or name is None:
        saved = queries.load_all()
        if fmt == "json":
            render.print_json(
                [
                    {
                        "name": q.name,
                        "description": q.description,
                        "params": [
                            {"name": p.name, "type": p.type, "default": p.default, "help": p.help}
                            for p in q.params
                        ],
                    }
                    for q in saved.values()
                ]
            )
        else:
            render.print_table(
                ["name", "description", "parameters"],
                [(q.name, q.description, " ".join(f"--{p.name}" for p in q.params)) for q in saved.values()],
            )
        return
    given = {"index": index, "date": date, "limit": limit, "ticker": ticker, "from": from_date, "to": to_date}
    params = {k: v for k, v in given.items() if v is not None}
    s = _settings(
        lake_dir=lake, engine=engine, bucket=bucket, stack_name=stack_name, region=region, profile=profile
    )
    result = pipeline.query(s, name, params)
    for note in result.notes:
        render.note(note)
    _render_query(result, fmt)


def _render_query(result: QueryResult, fmt: str) -> None:
    from ibovcli import render

    if fmt == "json":
        render.print_json(result.records())
    elif fmt == "csv":
        render.print_csv(result.columns, result.rows)
    else:
        bar = next((c for c in ("weight_pct", "sector_weight_pct") if c in result.columns), None)
        render.print_table(result.columns, result.rows, title=result.name, bar_column=bar)


@app.command()
def status(
    lake: LakeOpt = None,
    engine: EngineOpt = None,
    bucket: BucketOpt = None,
    stack_name: StackOpt = None,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="First follow the run in progress to its end (aws: the job's active Glue run; "
            "local: the ibov command writing to the lake); exits non-zero if it fails.",
        ),
    ] = False,
    json_: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """What the lake holds per index (first/last day, days stored, trading days missing) and the last runs.

    Examples:

      ibov status

      ibov status --json

      ibov status --engine aws --watch
    """
    from ibovcli import pipeline, render

    s = _settings(
        lake_dir=lake, engine=engine, bucket=bucket, stack_name=stack_name, region=region, profile=profile
    )
    info = pipeline.status(s, watch=watch, notify=_notifier(False))
    if json_:
        render.print_json(info)
        return
    render.note(f"engine: {info.get('engine')}  lake: {info.get('lake', '')}")
    if info.get("stack"):  # aws: the CloudFormation stack's state
        render.note(f"stack: {info['stack'].get('name')} {info['stack'].get('status')}")
    render.print_table(
        ["index", "first", "last", "raw_days", "refined_days", "missing", "missing_days"],
        [
            (
                i["index"],
                i["first"],
                i["last"],
                i["raw_days"],
                i["refined_days"],
                i.get("missing"),
                render.day_list(i.get("missing_days") or []),
            )
            for i in info["indices"]
        ],
        title="lake (missing = B3 trading days without a snapshot between first and last)",
    )
    runs = info.get("runs") or []
    if runs:
        render.print_table(
            ["started_at", "command", "state", "duration_s", "error"],
            [
                (r.get("started_at"), r.get("command"), r.get("state"), r.get("duration_s"), r.get("error"))
                for r in runs
            ],
            title="last runs",
        )


def _fetch_count(index: list[str] | None, from_: list[Path] | None) -> int:
    """How many snapshots a scrape/run will acquire (for the progress bar)."""
    from ibovcli import indices

    return len(from_) if from_ else len(indices.expand(index or []))


def _fail_on(failures: list[Any], debug: bool = False) -> None:
    """Exit non-zero (with the first failure's code) when any index or file failed."""
    if not failures:
        return
    if debug:
        raise failures[0].error
    from ibovcli import render

    for f in failures:
        message = f.error.message if f.what in f.error.message else f"{f.what}: {f.error.message}"
        render.error_line(message, f.error.hint)
    raise typer.Exit(failures[0].error.exit_code)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; turn ibov errors into one line on stderr and an exit code."""
    from ibovcli.errors import IbovError

    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or os.environ.get("IBOV_DEBUG", "") not in ("", "0")
    try:
        app(args=args, prog_name="ibov", standalone_mode=True)
    except IbovError as exc:
        if debug:
            raise
        from ibovcli import render

        render.error_line(exc.message, exc.hint)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:
        if debug:
            raise
        from ibovcli import render

        render.error_line(
            f"unexpected {type(exc).__name__}: {exc}",
            "Re-run with --debug for the traceback, and report it if it persists.",
        )
        sys.exit(1)


from ibovcli import cli_aws as _cli_aws  # noqa: E402, F401  (registers deploy/destroy)
from ibovcli import cli_chart as _cli_chart  # noqa: E402, F401  (registers chart)
