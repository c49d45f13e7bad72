"""``ibov report``: one self-contained HTML page about the stored indices (built by :mod:`ibovcli.report`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ibovcli.cli_options import Common, shared


@shared()
def report(
    common: Common,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            metavar="PATH",
            help="The HTML file to write, or a folder (then PATH/index.html).",
            show_default=False,
        ),
    ],
    index: Annotated[
        list[str] | None,
        typer.Option(
            "--index",
            "-i",
            metavar="CODE",
            help="B3 index code; repeat for several. Default: every index with a stored portfolio (or IBOV).",
            show_default=False,
        ),
    ] = None,
    publish: Annotated[
        bool,
        typer.Option(
            "--publish",
            help="aws: also upload the page to the data bucket (report/index.html, private) and print a "
            "presigned URL to open it.",
        ),
    ] = False,
    expires: Annotated[
        int,
        typer.Option(
            "--expires", metavar="SECONDS", help="With --publish: how long the URL works (max 7 days)."
        ),
    ] = 7 * 24 * 3600,
) -> None:
    """Write one self-contained HTML page (no network needed to open it: every chart, style and script
    is inside) with, per index: freshness, today's weights, sectors and concentration, the official
    level with drawdowns and returns, what moved it, the last rebalance and the preview, and a sortable
    table of the constituents with sparklines. A section whose data is not stored says which command
    stores it. Readable on a phone and a desktop.

    Examples:

      ibov report --out report.html

      ibov report -i IBOV -i SMLL --out site/ --json

      ibov report --engine aws --publish --out report.html
    """
    from ibovcli import render
    from ibovcli import report as report_mod

    result = report_mod.build(
        common.settings(), out=out, indices=index or (), publish=publish, expires=expires
    )
    if common.json:
        render.print_json(result.as_json())
        return
    shown = sum(1 for s in result.sections if s.shown)
    render.note(
        f"{len(result.sections)} sections ({shown} with data), {result.charts} charts, "
        f"{result.bytes / 1024:,.0f} KiB in {result.seconds:.1f} s"
    )
    for s in result.sections:
        for line in s.missing:
            render.note(f"{s.title}: {line}")
    print(result.path)
    if result.url:
        render.note(f"published to {result.location}; the link below works for {expires} s")
        print(result.url)
