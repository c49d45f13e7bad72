"""Rendering of results: Rich on a terminal, plain text when piped, JSON/CSV for machines.

Data goes to stdout; talk (progress, warnings, errors) goes to stderr. Rich is imported only when a
terminal is there to draw on (its import costs about 40 ms, a fifth of a command's start-up): piped
output and notes are plain text.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

#: Widest and narrowest bar drawn next to a weight column on a terminal (in characters).
BAR_WIDTH, MIN_BAR_WIDTH = 24, 8


def __getattr__(name: str) -> Any:
    """``out`` and ``err``, the Rich consoles, made on first use (tests may set their own)."""
    if name in ("out", "err"):
        from rich.console import Console

        no_color = bool(os.environ.get("NO_COLOR"))
        console = (
            Console(no_color=no_color, highlight=False, soft_wrap=True)
            if name == "out"
            else Console(stderr=True, no_color=no_color, highlight=False)
        )
        globals()[name] = console
        return console
    raise AttributeError(name)


def _terminal(name: str) -> bool:
    """Whether stdout (``out``) or stderr (``err``) is a terminal to draw on."""
    console = globals().get(name)
    if console is not None:
        return bool(console.is_terminal)
    stream = sys.stdout if name == "out" else sys.stderr
    forced = os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE") == "1"
    return bool(forced) or (hasattr(stream, "isatty") and stream.isatty())


_MARKUP_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")


def escape(text: str) -> str:
    """``text`` safe to print as Rich markup: what ``rich.markup.escape`` does, without importing Rich
    (commands whose output is piped never load it)."""
    text = _MARKUP_TAG.sub(lambda m: f"{m.group(1)}{m.group(1)}\\{m.group(2)}", text)
    if text.endswith("\\") and not text.endswith("\\\\"):
        return text + "\\"
    return text


def _console(name: str) -> Any:
    return globals()[name] if name in globals() else __getattr__(name)


def _talk(markup: str, plain: str) -> None:
    """One line on stderr: with Rich's colours on a terminal, plain text otherwise."""
    if _terminal("err"):
        _console("err").print(markup, soft_wrap=True)
    else:
        sys.stderr.write(plain + "\n")
        sys.stderr.flush()


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if len(value.as_tuple().digits) <= 15 else str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(value), ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def print_csv(columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([text(v) for v in r])
    sys.stdout.write(buf.getvalue())
    sys.stdout.flush()


def print_table(
    columns: list[str],
    rows: list[tuple[Any, ...]],
    *,
    title: str | None = None,
    bar_column: str | None = None,
) -> None:
    """A Rich table on a terminal (with bars for ``bar_column``), tab-separated text when piped."""
    if not _terminal("out"):
        if title:
            _talk(escape(title), title)
        sys.stdout.write("\t".join(columns) + "\n")
        for r in rows:
            sys.stdout.write("\t".join(text(v) for v in r) + "\n")
        sys.stdout.flush()
        return
    from rich import box
    from rich.table import Table

    out = _console("out")
    numeric = [
        bool(rows) and all(isinstance(r[i], int | float | Decimal) or r[i] is None for r in rows)
        for i in range(len(columns))
    ]
    layout = _layout(columns, rows, numeric, bar=bar_column in columns, width=out.width)
    table = Table(
        title=escape(title) if title else None,
        title_justify="left",
        box=box.HEAVY_HEAD if layout.boxed else box.SIMPLE_HEAD,
        padding=(0, 1) if layout.boxed else (0, 0),
        show_edge=layout.boxed,
    )
    for header, is_num, is_short, fixed in zip(
        layout.headers, numeric, layout.short, layout.widths, strict=True
    ):
        table.add_column(
            escape(header),
            justify="right" if is_num else "left",
            no_wrap=is_short and layout.fits and fixed is None,
            width=fixed,  # a folded header wraps inside its column's values' width
            overflow="ellipsis" if is_short else "fold",
        )
    bar_at = columns.index(bar_column) if bar_column in columns and layout.bar_width else None
    scale = 0.0
    if bar_at is not None:
        scale = max((float(r[bar_at] or 0) for r in rows), default=0.0)
        table.add_column("", justify="left", no_wrap=True, width=layout.bar_width)
    for r in rows:
        cells = [escape(text(v)) for v in r]
        if bar_at is not None:
            width = round(layout.bar_width * float(r[bar_at] or 0) / scale) if scale > 0 else 0
            cells.append("[cyan]" + "█" * max(width, 0) + "[/cyan]")
        table.add_row(*cells)
    out.print(table, soft_wrap=False)  # fit the terminal: wrap long text cells, never the lines


@dataclass(frozen=True)
class _Layout:
    headers: list[str]
    short: list[bool]
    boxed: bool
    fits: bool
    bar_width: int
    widths: list[int | None]


def _layout(
    columns: list[str], rows: list[tuple[Any, ...]], numeric: list[bool], *, bar: bool, width: int
) -> _Layout:
    """How to fit a table in ``width`` columns without cutting numbers, dates or tickers.

    In order: boxed with full headers and bars; boxed with headers wrapped at their underscores
    ("delta weight pct") and bars; the same two without bars; compact (no borders). Long text (company,
    sector) wraps in every layout. Only when even the compact table is too wide does Rich shrink
    every column.
    """
    cells = [max((len(text(r[i])) for r in rows), default=0) for i in range(len(columns))]
    short = [is_num or w <= 12 for is_num, w in zip(numeric, cells, strict=True)]

    def needed(fold: bool, wrap_to: int) -> list[int]:
        return [
            (max([w, *map(len, name.split("_"))]) if fold else max(len(name), w))
            if is_short
            else min(max(len(name), w), wrap_to)
            for name, w, is_short in zip(columns, cells, short, strict=True)
        ]

    full = needed(False, 16)
    boxed_full = sum(w + 3 for w in full) + 1  # padding and a border per column, and the last border
    spare = width - boxed_full - 3
    free: list[int | None] = [None] * len(columns)
    if bar and spare >= MIN_BAR_WIDTH:
        return _Layout(list(columns), short, True, True, min(BAR_WIDTH, spare), free)
    folded = needed(True, 12)
    headers = [name.replace("_", " ") for name in columns]
    fixed: list[int | None] = [w if is_short else None for w, is_short in zip(folded, short, strict=True)]
    spare = width - sum(w + 3 for w in needed(True, 10)) - 4
    if bar and spare >= MIN_BAR_WIDTH:
        return _Layout(headers, short, True, True, min(BAR_WIDTH, spare), fixed)
    if boxed_full <= width:
        return _Layout(list(columns), short, True, True, 0, free)
    if sum(w + 3 for w in folded) + 1 <= width:
        return _Layout(headers, short, True, True, 0, fixed)
    if sum(w + 1 for w in folded) <= width:
        return _Layout(headers, short, False, True, 0, fixed)
    return _Layout(headers, short, False, False, 0, free)


def error_line(message: str, hint: str = "") -> None:
    """One line on stderr: the problem, then what to try."""
    if not _terminal("err"):
        _talk("", f"error: {message}" + (f" (hint: {hint})" if hint else ""))
        return
    tail = f" [dim](hint: {escape(hint)})[/dim]" if hint else ""
    _talk(f"[bold red]error:[/bold red] {escape(message)}{tail}", "")


def note(message: str) -> None:
    _talk(f"[dim]{escape(message)}[/dim]" if _terminal("err") else "", message)


def day_list(days: list[str], most: int = 5) -> str:
    """``'2025-04-29, 2025-05-02'``; after ``most`` days, ``'... (+N more)'``."""
    shown = ", ".join(days[:most])
    return f"{shown}, ... (+{len(days) - most} more)" if len(days) > most else shown


@contextlib.contextmanager
def progress(total: int, what: str) -> Iterator[Callable[[str, bool], None] | None]:
    """A progress bar on stderr for ``total`` steps, when there are several and stderr is a terminal.

    Yields the callback that reports each finished step (``name, ok``), or None when there is no bar.
    """
    if total < 2 or not _terminal("err"):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    err = _console("err")
    failed = 0
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"),
    )
    with Progress(*columns, console=err) as bar:
        task = bar.add_task(what, total=total, last="")

        def step(name: str, ok: bool) -> None:
            nonlocal failed
            failed += 0 if ok else 1
            tail = f"  [red]{failed} failed[/red]" if failed else ""
            bar.update(task, advance=1, last=f"{escape(name)} {'ok' if ok else '[red]failed[/red]'}{tail}")

        yield step


def warning(message: str) -> None:
    """A problem that does not fail the command, on stderr."""
    _talk(f"[yellow]warning:[/yellow] {escape(message)}" if _terminal("err") else "", f"warning: {message}")


def query_result(result: Any, fmt: str) -> None:
    """A saved query's rows as a table, JSON or CSV; its notes on stderr. No rows is :class:`NoData`
    (exit 8), after ``[]`` for JSON and the header for CSV."""
    from ibovcli.errors import NoData

    for line in result.notes:
        note(line)
    if fmt == "json":
        print_json(result.records())
    elif fmt == "csv":
        print_csv(result.columns, result.rows)
    elif result.rows:
        bar = next((c for c in ("weight_pct", "sector_weight_pct") if c in result.columns), None)
        print_table(result.columns, result.rows, title=result.name, bar_column=bar)
    if not result.rows:
        raise NoData(
            result.empty or f"{result.name} matched no stored data",
            hint=result.why or "`ibov status` shows what the lake holds.",
        )


def _grouped(lines: list[str]) -> list[str]:
    """``CODE: text`` lines, those of more than four indices with the same text said once
    (``34 indices, AGFS to UTIL: last session ...``): every index in the table below."""
    by_text: dict[str, list[str]] = {}
    for line in lines:
        code, _, text = line.partition(": ")
        by_text.setdefault(text, []).append(code)
    out = []
    for text, codes in by_text.items():
        if len(codes) > 4:
            out.append(f"{len(codes)} indices, {codes[0]} to {codes[-1]}: {text}")
        else:
            out += [f"{code}: {text}" for code in codes]
    return out


def status(report: Any) -> None:
    """``ibov status`` for people: freshness first, then coverage per dataset, pending refines, runs."""
    note(f"engine: {report.engine}  lake: {report.location}")
    if report.stack:
        note(f"stack: {report.stack.get('name')} {report.stack.get('status')}")
    for line in _grouped(report.freshness()):
        _talk(escape(line) if _terminal("err") else "", line)
    portfolio = report.of("portfolio")
    if portfolio:
        print_table(
            ["index", "first", "last", "days", "refined", "missing", "missing_days"],
            [
                (c.index, c.first, c.last, c.stored, c.refined, len(c.missing), day_list(list(c.missing)))
                for c in portfolio
            ],
            title="portfolio (missing = B3 trading days without a snapshot between first and last)",
        )
    levels = report.of("levels")
    if levels:
        print_table(
            ["index", "first", "last", levels[0].unit, "refined", "missing", "missing_sessions"],
            [
                (c.index, c.first, c.last, c.stored, c.refined, len(c.missing), day_list(list(c.missing)))
                for c in levels
            ],
            title="levels (official closing levels; missing = trading days without a level in between)",
        )
    for name in ("theoretical", "preview"):
        found = report.of(name)
        if found:
            print_table(
                ["index", "first_period", "last_period", "collections", "refined"],
                [(c.index, c.first, c.last, c.stored, c.refined) for c in found],
                title=f"{name} (4-month periods; every collection is kept)",
            )
    rebalances = report.rebalances()
    if rebalances:
        print_table(
            ["index", "next_period", "first_session", "trading_days_to_go", "preview_stored"],
            [
                (r.index, r.period.label, r.first_session.isoformat(), r.trading_days_to_go, r.preview_stored)
                for r in rebalances
            ],
            title="next rebalance (first session of the next 4-month portfolio)",
        )
    quotes = report.of("quotes")
    if quotes:
        print_table(
            ["first", "last", "sessions", "refined", "missing", "missing_sessions"],
            [
                (c.first, c.last, c.stored, c.refined, len(c.missing), day_list(list(c.missing)))
                for c in quotes
            ],
            title="quotes (B3 COTAHIST; missing = trading days without quotes in between)",
        )
    if not report.coverage:
        note("nothing stored yet: `ibov run` stores today's portfolio")
    if report.pending:
        warning(
            f"raw data not refined yet: {', '.join(report.pending)} (the next write or `ibov refine` does it)"
        )
    if report.runs:
        print_table(
            ["started_at", "command", "state", "duration_s", "error"],
            [(r.started_at, r.command, r.state, r.duration_s, r.error) for r in report.runs],
            title="last runs",
        )
