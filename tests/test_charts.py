"""``ibov chart ...`` writes real, readable PNG/SVG files from the saved queries; errors are one line."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ibovcli import charts
from ibovcli.errors import NoData, UsageError
from ibovcli.settings import Settings
from tests.conftest import run_ibov

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def lake_dir(analysis_lake_dir: Path) -> Path:
    return analysis_lake_dir


def png_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        return im.size


def assert_png(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 20_000, f"{path} is suspiciously small ({len(data)} bytes)"
    return png_size(path)


@pytest.mark.parametrize(
    ("args", "kind", "points", "size"),
    [
        (["weight-history", "--ticker", "VALE3"], "weight-history", 3, (1500, 840)),
        (
            ["weight-history", "-t", "MGLU3", "-i", "SMLL", "--from", "2025-05-01"],
            "weight-history",
            1,
            (1500, 840),
        ),
        (["sectors"], "sectors", 7, (1500, None)),
        (["sectors", "-i", "SMLL", "--date", "2025-04-30"], "sectors", 3, (1500, None)),
        (["concentration"], "concentration", 3, (1500, 1050)),
        (["concentration", "-i", "SMLL", "--to", "2025-04-30"], "concentration", 1, (1500, 1050)),
    ],
)
def test_chart_writes_a_png(
    lake_dir: Path, tmp_path: Path, args: list[str], kind: str, points: int, size: tuple[int, int | None]
) -> None:
    out = tmp_path / "sub" / "chart.png"
    out.parent.mkdir()
    r = run_ibov("chart", *args, "--out", str(out), "--lake", str(lake_dir), "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout) == {"path": str(out), "points": points, "kind": kind}
    width, height = assert_png(out)
    assert width == size[0]
    assert height == size[1] if size[1] else 480 <= height <= 1500


def test_chart_prints_the_path_without_json(lake_dir: Path, tmp_path: Path) -> None:
    r = run_ibov("chart", "sectors", "--out", str(tmp_path / "s.png"), "--lake", str(lake_dir))
    assert r.code == 0, r.stderr
    assert r.stdout == f"{tmp_path / 's.png'}\n"
    assert "7 data points" in r.stderr


def test_chart_writes_svg_when_asked(lake_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.svg"
    r = run_ibov("chart", "concentration", "-o", str(out), "--lake", str(lake_dir))
    assert r.code == 0, r.stderr
    root = ET.parse(out).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert out.stat().st_size > 20_000
    assert PNG_MAGIC not in out.read_bytes()


def test_library_draw_matches_the_query(lake_dir: Path, tmp_path: Path) -> None:
    settings = Settings.load(lake_dir=lake_dir, engine="local")
    chart = charts.draw(settings, "weight-history", tmp_path / "w.png", ticker="PETR4", from_="2025-04-29")
    assert chart.points == 2  # 2025-04-30 and 2025-05-05
    assert chart.as_json() == {"path": str(tmp_path / "w.png"), "kind": "weight-history", "points": 2}
    assert_png(chart.path)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["weight-history", "--ticker", "ZZZZ3"], 8, "no data for ZZZZ3 in IBOV"),
        (
            ["weight-history", "--ticker", "RDOR3", "--to", "2025-04-30"],
            8,
            "no data for RDOR3 in IBOV to 2025-04-30",
        ),
        (["weight-history", "--ticker", "PETR4", "--from", "31/12/2025"], 2, "--from must be a date"),
        (["sectors", "--index", "IBXX"], 8, "no IBXX portfolio is stored"),
        (["sectors", "--date", "2025-05-01"], 8, "no data for IBOV on 2025-05-01"),
        (["concentration", "--from", "2026-01-01"], 8, "no data for IBOV from 2026-01-01"),
        (["sectors", "--out-of", "x"], 2, "No such option: --out-of"),
    ],
)
def test_chart_errors_are_one_line_and_write_nothing(
    lake_dir: Path, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    out = tmp_path / "x.png"
    r = run_ibov("chart", *args, "--out", str(out), "--lake", str(lake_dir))
    assert r.code == code
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], r.stderr
    assert not out.exists()
    assert r.stdout == ""


def test_chart_refuses_an_unknown_image_type(lake_dir: Path, tmp_path: Path) -> None:
    r = run_ibov("chart", "sectors", "--out", str(tmp_path / "x.jpg"), "--lake", str(lake_dir))
    assert r.code == UsageError.exit_code == 2
    assert "cannot tell the image type of 'x.jpg'" in r.stderr and ".png or .svg" in r.stderr
    with pytest.raises(UsageError):
        charts.draw(Settings.load(lake_dir=lake_dir), "sectors", tmp_path / "x.pdf")
    with pytest.raises(UsageError, match="no chart named"):
        charts.draw(Settings.load(lake_dir=lake_dir), "pie", tmp_path / "x.png")


def test_chart_output_is_checked_before_any_work(lake_dir: Path, tmp_path: Path) -> None:
    """A directory, or a folder that does not exist, is refused (exit 2); nothing is created."""
    (tmp_path / "d.png").mkdir()
    for out, message in (
        (tmp_path / "d.png", "is a directory"),
        (tmp_path / "no" / "such" / "x.png", "does not exist"),
    ):
        r = run_ibov("chart", "sectors", "--out", str(out), "--lake", str(lake_dir))
        assert r.code == 2 and message in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not (tmp_path / "no").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.png"]


def test_chart_on_an_empty_lake_is_a_clear_error(lake: Path, tmp_path: Path) -> None:
    with pytest.raises(NoData, match="no IBOV portfolio is stored"):
        charts.draw(Settings.load(lake_dir=lake), "concentration", tmp_path / "x.png")


def test_chart_help_lists_the_three_charts() -> None:
    r = run_ibov("chart", "--help")
    assert r.code == 0
    for name in charts.KINDS:
        assert name in r.stdout


def test_cli_import_stays_light() -> None:
    """Charts and the calendar load matplotlib / holidays only when used."""
    code = "import sys, ibovcli.cli; print(sorted(m for m in ('matplotlib', 'holidays') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_date_ticks_never_crowd_whatever_the_spacing_of_the_days() -> None:
    import itertools
    from datetime import date, timedelta

    from ibovcli.charts import spaced_ticks

    days = [date(2022, 12, 8), date(2023, 8, 21), date(2023, 9, 13), date(2025, 7, 10), date(2025, 7, 11)]
    days += [date(2026, 3, 16) - timedelta(days=i) for i in range(5)]
    kept = spaced_ticks(days)
    span = (max(days) - min(days)).days
    assert kept[-1] == max(days) and kept[0] == min(days)
    assert all((b - a).days / span >= 0.075 for a, b in itertools.pairwise(kept))
    assert spaced_ticks([date(2025, 1, 2)]) == [date(2025, 1, 2)]


def test_percent_labels_get_the_decimals_they_need_to_differ() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    from ibovcli.charts import Drawn

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3, 4], [13.91, 13.93, 13.92, 13.94])
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=100, decimals=1))
    Drawn(fig, "test", 4).render("svg")
    fmt = ax.yaxis.get_major_formatter()
    low, high = ax.get_ylim()
    labels = [fmt(t) for t in ax.get_yticks() if low <= t <= high]
    assert len(set(labels)) == len(labels) > 1, labels
    plt.close(fig)
