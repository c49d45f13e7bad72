"""Tables on a terminal: bars next to the weights, values never cut, plain text when piped."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from rich.console import Console

from ibovcli import render

COLUMNS = ["session_date", "weight_rank", "ticker", "company", "sector", "weight_pct"]
ROWS = [
    ("2025-05-05", 1, "VALE3", "VALE", "Materiais Básicos", Decimal("21.000")),
    ("2025-05-05", 2, "ITUB4", "ITAUUNIBANCO", "Financeiro", Decimal("14.000")),
    ("2025-05-05", 3, "PETR4", "PETROBRAS", "Petróleo, Gás e Biocombustíveis", Decimal("10.500")),
]
WIDE = [
    "session_date",
    "ticker",
    "company",
    "weight_rank",
    "index_members",
    "weight_pct",
    "previous_date",
    "delta_weight_pct",
]
WIDE_ROWS = [("2025-04-30", "PETR4", "PETROBRAS", 3, 12, Decimal("12.000"), "2025-04-28", Decimal("-0.125"))]


class Screen(io.StringIO):
    def getvalue(self) -> str:
        return re.sub(r"\x1b\[[0-9;]*m", "", super().getvalue())  # what the eye sees


def terminal(monkeypatch: pytest.MonkeyPatch, width: int) -> io.StringIO:
    buf = Screen()
    console = Console(file=buf, width=width, force_terminal=True, no_color=True, highlight=False)
    monkeypatch.setattr(render, "out", console)
    return buf


@pytest.mark.parametrize("width", [80, 100, 160])
def test_weights_get_bars_proportional_to_the_value(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    buf = terminal(monkeypatch, width)
    render.print_table(COLUMNS, ROWS, title="top-weights", bar_column="weight_pct")
    lines = buf.getvalue().splitlines()
    assert all(len(line) <= width for line in lines)
    bars = [line.count("█") for line in lines if "█" in line]
    assert len(bars) == 3
    assert bars[0] >= render.MIN_BAR_WIDTH and bars[0] <= render.BAR_WIDTH
    assert bars[0] > bars[1] > bars[2] > 0  # 21 > 14 > 10.5
    assert bars[1] == round(bars[0] * 14 / 21)
    text = buf.getvalue()
    for value in ("21.000", "14.000", "10.500", "2025-05-05", "ITAUUNIBANCO", "VALE3"):
        assert value in text
    assert "…" not in text


@pytest.mark.parametrize("width", [72, 80, 100])
def test_wide_tables_fold_headers_not_values(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    buf = terminal(monkeypatch, width)
    render.print_table(WIDE, WIDE_ROWS, bar_column="weight_pct")
    text = buf.getvalue()
    assert all(len(line) <= width for line in text.splitlines())
    for value in ("2025-04-30", "2025-04-28", "PETROBRAS", "12.000", "-0.125"):
        assert value in text
    assert "…" not in text


def test_piped_output_is_tab_separated(capsys: pytest.CaptureFixture[str]) -> None:
    render.print_table(COLUMNS, ROWS, title="top-weights", bar_column="weight_pct")
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "\t".join(COLUMNS)
    assert out.splitlines()[1] == "2025-05-05\t1\tVALE3\tVALE\tMateriais Básicos\t21.000"
    assert "█" not in out
    assert "top-weights" in err


def test_day_list_is_short() -> None:
    days = [f"2025-05-{d:02d}" for d in range(1, 9)]
    assert render.day_list(days[:2]) == "2025-05-01, 2025-05-02"
    assert render.day_list(days).endswith("2025-05-05, ... (+3 more)")
    assert render.day_list([]) == ""


def test_escape_is_riches_without_importing_rich() -> None:
    from rich.markup import escape as rich_escape

    from ibovcli.render import escape

    for text in (
        "[bold]x[/bold]",
        "a\\[b]",
        "x\\",
        "plain",
        "[1, 2]",
        "p\\\\[red]",
        "[/]",
        "[#ff0000]x",
        "[@click]",
    ):
        assert escape(text) == rich_escape(text), text


def test_status_says_a_freshness_shared_by_many_indices_once() -> None:
    from ibovcli.render import _grouped

    same = "last session 2025-05-13, 3 trading days ago"
    lines = [f"{code}: {same}" for code in ("AGFS", "IBOV", "IBXX", "SMLL", "UTIL")]
    lines.append("IDIV: last session 2025-05-12, 4 trading days ago")
    assert _grouped(lines) == [
        f"5 indices, AGFS to UTIL: {same}",
        "IDIV: last session 2025-05-12, 4 trading days ago",
    ]
    assert _grouped(lines[:4]) == lines[:4]  # four or fewer: each on its own line
