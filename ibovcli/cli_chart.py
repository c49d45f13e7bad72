"""``ibov chart ...``: draw charts of the refined data (the drawing lives in :mod:`ibovcli.charts`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ibovcli.cli_options import Common, FromDateOpt, ToDateOpt, shared

chart_app = typer.Typer(
    rich_markup_mode=None,
    name="chart",
    help="Draw charts of the refined data: PNG, or SVG when --out ends in .svg.\n\n"
    "The data comes from the saved queries, so charts work on both engines.",
    no_args_is_help=True,
)

OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        metavar="FILE",
        help="Image file to write, .png or .svg. Default: <chart>-<index>[-<ticker>].png here.",
        show_default=False,
    ),
]
ChartIndexOpt = Annotated[str, typer.Option("--index", "-i", metavar="CODE", help="B3 index code.")]


def _draw(common: Common, kind: str, out: Path | None, **params: Any) -> None:
    """Draw ``kind`` (to ``out``, or ``<kind>-<INDEX>[-<TICKER>].png`` here) and say what was drawn."""
    from ibovcli import charts, render

    name = "-".join([kind, *(str(params[k]).upper() for k in ("index", "ticker") if params.get(k))])
    chart = charts.draw(common.settings(), kind, out or Path(f"{name}.png"), **params)
    if common.json:
        render.print_json(chart.as_json())
    else:
        render.note(f"{chart.kind}: {chart.points} data point{'s' if chart.points != 1 else ''}")
        print(chart.path)


@chart_app.command("weight-history")
@shared()
def weight_history(
    common: Common,
    ticker: Annotated[
        str, typer.Option("--ticker", "-t", metavar="TICKER", help="Ticker, e.g. PETR4.", show_default=False)
    ],
    index: ChartIndexOpt = "IBOV",
    from_date: FromDateOpt = None,
    to_date: ToDateOpt = None,
    out: OutOpt = None,
) -> None:
    """A ticker's weight in an index over time (line), with the last value, high and low marked.

    Examples:

      ibov chart weight-history --ticker PETR4 --out petr4.png

      ibov chart weight-history -t VALE3 -i IBXX --from 2025-01-01 --out vale3.svg
    """
    _draw(common, "weight-history", out, ticker=ticker, index=index, from_=from_date, to=to_date)


@chart_app.command("sectors")
@shared()
def sectors(
    common: Common,
    index: ChartIndexOpt = "IBOV",
    date: Annotated[
        str | None,
        typer.Option(
            "--date",
            metavar="YYYY-MM-DD",
            help="Session date YYYY-MM-DD (default: latest).",
            show_default=False,
        ),
    ] = None,
    out: OutOpt = None,
) -> None:
    """Each sector's weight in an index on a day: horizontal bars, largest on top.

    Examples:

      ibov chart sectors --out sectors.png

      ibov chart sectors -i SMLL --date 2025-05-05 --out smll.svg
    """
    _draw(common, "sectors", out, index=index, date=date)


@chart_app.command("concentration")
@shared()
def concentration(
    common: Common,
    index: ChartIndexOpt = "IBOV",
    from_date: FromDateOpt = None,
    to_date: ToDateOpt = None,
    out: OutOpt = None,
) -> None:
    """How concentrated an index is over time: top-5/top-10 share and the HHI (0-10,000).

    Examples:

      ibov chart concentration --out concentration.png

      ibov chart concentration -i SMLL --from 2025-01-01 --json
    """
    _draw(common, "concentration", out, index=index, from_=from_date, to=to_date)


@chart_app.command("levels")
@shared()
def levels(
    common: Common,
    index: ChartIndexOpt = "IBOV",
    from_date: FromDateOpt = None,
    to_date: ToDateOpt = None,
    log: Annotated[bool, typer.Option("--log", help="Log scale (for spans of many years).")] = False,
    out: OutOpt = None,
) -> None:
    """An index's official closing level over time, its falls from the previous peak shaded.

    Needs the levels dataset (`ibov scrape levels --index CODE --since YYYY`).

    Examples:

      ibov chart levels --index IBOV --from 2018-01-01 --log --out ibov.png

      ibov chart levels -i SMLL --out smll.svg
    """
    _draw(common, "levels", out, index=index, from_=from_date, to=to_date, log=log)


@chart_app.command("rebalance")
@shared()
def rebalance(
    common: Common,
    index: ChartIndexOpt = "IBOV",
    date: Annotated[
        str | None,
        typer.Option(
            "--date",
            metavar="YYYY-MM-DD",
            help="Compare with the daily portfolio in force on this day (default: the latest stored).",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int,
        typer.Option("--limit", metavar="N", min=0, max=100, help="Staying names shown (largest changes)."),
    ] = 10,
    out: OutOpt = None,
) -> None:
    """What the next rebalance changes: the latest stored preview against the daily portfolio.

    Names entering (green) and leaving (red), then the largest weight changes of the staying ones.
    Needs a stored preview (`ibov scrape preview --index CODE`) and a daily portfolio.

    Examples:

      ibov chart rebalance --index IBOV --out rebalance.png

      ibov chart rebalance -i IBOV --date 2025-08-29 --limit 5 --out rebalance.svg
    """
    _draw(common, "rebalance", out, index=index, date=date, limit=limit)


@chart_app.command("contribution")
@shared()
def contribution(
    common: Common,
    index: ChartIndexOpt = "IBOV",
    date: Annotated[
        str | None,
        typer.Option(
            "--date",
            metavar="YYYY-MM-DD",
            help="Stored portfolio day YYYY-MM-DD (default: latest).",
            show_default=False,
        ),
    ] = None,
    top: Annotated[
        int, typer.Option("--top", metavar="N", min=1, max=100, help="Bars before 'others'.")
    ] = 15,
    out: OutOpt = None,
) -> None:
    """What moved an index on a day: the largest contributions to its return (percentage points, with
    index points), the rest summed, and the total against the official return.

    Needs the day's portfolio and the quotes of the day and the previous session
    (`ibov scrape quotes --date D`).

    Examples:

      ibov chart contribution --index IBOV --date 2024-11-08 --out contribution.png
    """
    _draw(common, "contribution", out, index=index, date=date, top=top)
