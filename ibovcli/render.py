"""Rendering of results: Rich on a terminal, plain text when piped, JSON/CSV for machines.

Data goes to stdout; talk (progress, warnings, errors) goes to stderr.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

_no_color = bool(os.environ.get("NO_COLOR"))
out = Console(no_color=_no_color, highlight=False, soft_wrap=True)
err = Console(stderr=True, no_color=_no_color, highlight=False)


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
    if not out.is_terminal:
        if title:
            err.print(escape(title))
        sys.stdout.write("\t".join(columns) + "\n")
        for r in rows:
            sys.stdout.write("\t".join(text(v) for v in r) + "\n")
        sys.stdout.flush()
        return
    table = Table(title=escape(title) if title else None, title_justify="left")
    numeric = [
        bool(rows) and all(isinstance(r[i], int | float | Decimal) or r[i] is None for r in rows)
        for i in range(len(columns))
    ]
    for name, is_num in zip(columns, numeric, strict=True):
        table.add_column(escape(name), justify="right" if is_num else "left")
    bar_at = columns.index(bar_column) if bar_column in columns else None
    scale = 0.0
    if bar_at is not None:
        scale = max((float(r[bar_at] or 0) for r in rows), default=0.0)
        table.add_column("", justify="left", no_wrap=True)
    for r in rows:
        cells = [escape(text(v)) for v in r]
        if bar_at is not None:
            width = round(24 * float(r[bar_at] or 0) / scale) if scale > 0 else 0
            cells.append("[cyan]" + "█" * width + "[/cyan]")
        table.add_row(*cells)
    out.print(table)


def error_line(message: str, hint: str = "") -> None:
    """One line on stderr: the problem, then what to try."""
    tail = f" [dim](hint: {escape(hint)})[/dim]" if hint else ""
    err.print(f"[bold red]error:[/bold red] {escape(message)}{tail}", soft_wrap=True)


def note(message: str) -> None:
    err.print(f"[dim]{escape(message)}[/dim]")


def day_list(days: list[str], most: int = 5) -> str:
    """``'2025-04-29, 2025-05-02'``; after ``most`` days, ``'... (+N more)'``."""
    shown = ", ".join(days[:most])
    return f"{shown}, ... (+{len(days) - most} more)" if len(days) > most else shown
