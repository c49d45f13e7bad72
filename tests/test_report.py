"""``ibov report``: the page's sections and numbers, what it says when data is missing, that it needs
nothing from the network, ``--publish`` on moto, and the helpers (rebalance search, sparkline, SVG).

The lake (tests/report_lake.py) is the synthetic IBOV history of tests/analysis_lake.py, 80 sessions
from 2025-02-03 to 2025-05-30 (MGLU3 leaves and RDOR3 enters on 2025-05-05; 2025-05-02 is the session
before, 1 May being a holiday), plus IBOV levels from 2023 to the same day.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ibovcli import report
from ibovcli.settings import Settings
from tests import analysis_lake, report_lake
from tests.conftest import run_ibov

SECTIONS = ["freshness", "today-IBOV", "index-IBOV", "moved-IBOV", "changes-IBOV", "tickers-IBOV"]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return report_lake.build(tmp_path_factory.mktemp("report") / "lake")


@pytest.fixture(scope="module")
def page(lake: Path) -> tuple[str, dict[str, Any]]:
    out = lake.parent / "report.html"
    r = run_ibov("report", "--lake", str(lake), "--out", str(out), "--json")
    assert r.code == 0, r.stderr
    return out.read_text(encoding="utf-8"), json.loads(r.stdout)


def section(html: str, sid: str) -> str:
    m = re.search(rf"<section id='{sid}'.*?</section>", html, re.S)
    assert m, f"no section {sid}"
    return m.group(0)


@pytest.mark.slow  # builds the report lake (seconds)
def test_summary_names_the_sections_and_the_file(page: tuple[str, dict[str, Any]], lake: Path) -> None:
    html, summary = page
    assert summary["path"] == str(lake.parent / "report.html")
    assert summary["bytes"] == len(html.encode("utf-8")) == (lake.parent / "report.html").stat().st_size
    assert summary["indices"] == ["IBOV"]
    assert [s["id"] for s in summary["sections"]] == SECTIONS
    shown = {s["id"]: s["shown"] for s in summary["sections"]}
    assert shown == {**dict.fromkeys(SECTIONS, True), "moved-IBOV": "contribution" in _queries()}
    assert summary["charts"] == 3  # sectors, concentration, levels
    assert re.findall(r"<section id='([^']+)'", html) == SECTIONS


def _queries() -> list[str]:
    from ibovcli import queries

    return queries.names()


@pytest.mark.slow  # builds the report lake (seconds)
def test_the_page_needs_nothing_from_outside(page: tuple[str, dict[str, Any]]) -> None:
    html, _ = page
    assert html.startswith("<!doctype html>")
    assert "default-src 'none'" in html  # the browser refuses any request the page could make
    for attr in re.findall(r"""\b(?:src|href|action|srcset)\s*=\s*["']([^"']*)["']""", html):
        assert attr.startswith(("#", "data:")), attr
    assert not re.search(r"url\((?!#)", html)  # only url(#id) (SVG clip paths)
    assert "@import" not in html and "<link rel='stylesheet'" not in html and "<iframe" not in html
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html
    ids = re.findall(r"""\bid=["']([^"']+)["']""", html)
    assert len(ids) == len(set(ids)), "an id is used twice (the inlined SVGs must not collide)"
    # every chart twice (wide, narrow) but the sectors chart (narrow only, in a half column)
    assert len(re.findall(r"<svg[^>]*class=\"chart\"", html)) == 5
    assert html.count("<figure class='chart'") == 3


@pytest.mark.slow  # builds the report lake (seconds)
def test_today_lists_the_largest_weights_of_the_last_session(page: tuple[str, dict[str, Any]]) -> None:
    html, _ = page
    last = analysis_lake.synthetic_history()[("IBOV", date(2025, 5, 30))]
    expected = sorted(last.items(), key=lambda kv: (-float(kv[1]), kv[0]))
    today = section(html, "today-IBOV")
    assert "Session Friday 30 May 2025" in today
    tickers = re.findall(r"<th scope='row'>([A-Z0-9]+)</th>", today)
    assert tickers == [t for t, _ in expected][: report.TOP_ROWS]
    values = re.findall(r"<span class='barval'>([0-9.]+)%</span>", today)
    assert values == [f"{float(w):.3f}" for _, w in expected][: report.TOP_ROWS]
    assert "HHI" in today and "Top 5" in today and "Top 10" in today


@pytest.mark.slow  # builds the report lake (seconds)
def test_changes_find_the_last_rebalance(page: tuple[str, dict[str, Any]]) -> None:
    changes = section(page[0], "changes-IBOV")
    assert "Between <b>2025-05-02</b> and <b>2025-05-05</b>: 1 entered, 1 left." in changes
    assert "Entered: <b>RDOR3</b>" in changes and "Left: <b>MGLU3</b>" in changes


@pytest.mark.slow  # builds the report lake (seconds)
def test_constituents_table_has_a_sparkline_per_member(page: tuple[str, dict[str, Any]]) -> None:
    tickers = section(page[0], "tickers-IBOV")
    assert "15 constituents on 2025-05-30" in tickers and "since 2025-02-03 (every stored day)" in tickers
    assert tickers.count("<svg class='spark'") == 15
    # RDOR3 entered on 2025-05-05: its line starts that far along the 80 sessions (x = 3 + 114 i / 79)
    sessions = sorted(day for _index, day in analysis_lake.synthetic_history())
    i = sessions.index(date(2025, 5, 5))
    rdor3 = re.search(r"RDOR3</th>.*?<polyline points='([0-9.]+),", tickers, re.S)
    assert rdor3 and float(rdor3.group(1)) == pytest.approx(3 + 114 * i / 79, abs=0.06)


@pytest.mark.slow  # builds the report lake (seconds)
def test_level_section_shows_the_levels_returns_and_falls(page: tuple[str, dict[str, Any]]) -> None:
    index = section(page[0], "index-IBOV")
    assert "Close 30 May 2025" in index
    assert "<th scope='row'>2023</th>" in index and "<th scope='row'>2025</th>" in index
    assert "Deepest falls" in index and "data-chart='levels'" in index


@pytest.mark.slow  # builds the report lake (seconds)
def test_what_is_missing_is_said_with_the_command_that_stores_it(tmp_path: Path) -> None:
    lake = analysis_lake.build(tmp_path / "lake")  # portfolios only: no levels
    built = report.build(
        Settings.load(lake_dir=lake, engine="local"), out=tmp_path / "r.html", indices=["IBOV"]
    )
    by_id = {s.id: s for s in built.sections}
    assert not by_id["index-IBOV"].shown
    assert re.match(
        r"No official levels of IBOV are stored\. Store ten years with "
        r"ibov scrape levels --index IBOV --since \d{4}\.$",
        by_id["index-IBOV"].missing[0],
    )
    assert by_id["today-IBOV"].shown and by_id["tickers-IBOV"].shown

    empty = tmp_path / "empty"
    empty.mkdir()
    r = run_ibov("report", "--lake", str(empty), "--index", "SMLL", "--out", str(tmp_path), "--json")
    assert r.code == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["path"] == str(tmp_path / "index.html")  # a folder gets index.html
    missing = {s["id"]: s["missing"] for s in summary["sections"]}
    assert missing["today-SMLL"] == ["No SMLL portfolio is stored. Store today's with ibov run --index SMLL."]
    assert "ibov run --index SMLL" in (tmp_path / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--publish"], "--publish uploads to the data bucket"),
        (["--index", "NOPE1"], "NOPE1"),
    ],
)
def test_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    r = run_ibov("report", "--lake", str(tmp_path), "--out", str(tmp_path / "r.html"), *args)
    assert r.code == 2 and message in r.stderr, r.stderr
    assert not (tmp_path / "r.html").exists()


def test_an_output_folder_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    r = run_ibov("report", "--lake", str(tmp_path), "--out", str(tmp_path / "no" / "r.html"))
    assert r.code == 2 and "does not exist" in r.stderr


# -- --publish on moto ---------------------------------------------------------------------------


class LocalDataAwsBucket:
    """The local engine's data with the AWS engine's bucket: the report's queries run on DuckDB (moto
    cannot run Athena SQL), the upload goes through the AWS engine's S3 client to moto."""

    def __init__(self, local: Any, aws_engine: Any) -> None:
        self._local = local
        self.bucket = aws_engine.bucket
        self.aws = aws_engine.aws

    def __getattr__(self, name: str) -> Any:
        return getattr(self._local, name)


@pytest.fixture
def aws_settings() -> Iterator[tuple[Any, Settings]]:
    from moto import mock_aws

    from ibovcli.aws.clients import Aws
    from ibovcli.engines.aws import AwsEngine
    from tests.aws_helpers import BUCKET, REGION

    with mock_aws():
        aws = Aws.connect(region=REGION)
        aws.s3().create_bucket(Bucket=BUCKET)
        settings = Settings.load(engine="aws", bucket=BUCKET, glue_job="ibov-refine", workgroup="ibov")
        yield AwsEngine(aws, settings, sleep=lambda _s: None), settings


@pytest.mark.slow  # builds the report lake (seconds)
def test_publish_uploads_the_page_privately_and_presigns_a_link(
    aws_settings: tuple[Any, Settings], lake: Path, tmp_path: Path
) -> None:
    from tests.aws_helpers import BUCKET
    from tests.lakes import engine as local_engine

    aws_engine, settings = aws_settings
    local = local_engine(lake)
    try:
        built = report.build(
            settings,
            out=tmp_path / "r.html",
            publish=True,
            expires=3600,
            engine=LocalDataAwsBucket(local, aws_engine),
        )
    finally:
        local.close()
    assert built.location == f"s3://{BUCKET}/report/index.html"
    obj = aws_engine.aws.s3().get_object(Bucket=BUCKET, Key="report/index.html")
    assert obj["ContentType"] == "text/html; charset=utf-8"
    assert obj["Body"].read() == (tmp_path / "r.html").read_bytes()
    assert built.url is not None and BUCKET in built.url and "report/index.html" in built.url
    assert "X-Amz-Expires=3600" in built.url and "X-Amz-Signature=" in built.url
    assert built.as_json()["published"] == {"location": built.location, "url": built.url}
    acl = aws_engine.aws.s3().get_object_acl(Bucket=BUCKET, Key="report/index.html")
    assert all("AllUsers" not in str(g["Grantee"]) for g in acl["Grants"])  # not made public


def test_publish_refuses_a_link_longer_than_a_week(
    aws_settings: tuple[Any, Settings], tmp_path: Path
) -> None:
    from ibovcli.errors import UsageError

    engine, settings = aws_settings
    with pytest.raises(UsageError, match="7 days"):
        report.build(settings, out=tmp_path / "r.html", publish=True, expires=8 * 24 * 3600, engine=engine)


# -- helpers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        (["a", "a", "a", "b", "b"], (2, 3)),
        (["a", "b", "b", "b", "b", "b", "b", "b", "b", "b"], (0, 1)),
        (["a", "b", "c", "c"], (1, 2)),
        (["a", "a", "a"], None),
        (["a"], None),
        (["a", "b"], (0, 1)),
    ],
)
def test_last_rebalance_finds_the_last_change_of_membership(
    members: list[str], expected: tuple[int, int] | None
) -> None:
    days = [f"2025-01-{i + 1:02d}" for i in range(len(members))]
    asked: list[str] = []

    def differs(day: str, latest: str) -> bool:
        asked.append(day)
        return members[days.index(day)] != members[days.index(latest)]

    found = report.last_rebalance(differs, days)
    assert found == (None if expected is None else (days[expected[0]], days[expected[1]]))
    assert len(asked) <= 2 * max(1, len(days)).bit_length()


def test_last_rebalance_asks_few_questions_on_ten_years() -> None:
    days = [str(i) for i in range(2520)]
    asked = []

    def differs(day: str, latest: str) -> bool:
        asked.append(day)
        return int(day) < 2400  # the last rebalance: 2400

    assert report.last_rebalance(differs, days) == ("2399", "2400")
    assert len(asked) <= 16


def test_sparkline_points_by_hand() -> None:
    svg = report.sparkline([1.0, 2.0, 3.0], [0, 1, 2], 2)
    # x: 3 + 114 * i / 2; y: 3 + 22 * (1 - (v - 1) / 2)
    assert "points='3.0,25.0 60.0,14.0 117.0,3.0'" in svg
    assert "<circle cx='117.0' cy='3.0'" in svg
    assert "aria-label='weight from 1.00% to 3.00%'" in svg
    flat = report.sparkline([2.0, 2.0], [1, 2], 2)
    assert "points='60.0,14.0 117.0,14.0'" in flat


def test_inline_svg_scales_and_keeps_ids_apart() -> None:
    doc = (
        b'<?xml version="1.0" encoding="utf-8" standalone="no"?>\n'
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"'
        b' "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
        b'<svg xmlns:xlink="http://www.w3.org/1999/xlink" width="720pt" height="403.2pt" '
        b'viewBox="0 0 720 403.2" xmlns="http://www.w3.org/2000/svg" version="1.1">'
        b'<defs><path id="g1" d="M0 0"/><clipPath id="p9"><rect/></clipPath></defs>'
        b'<use xlink:href="#g1"/><g clip-path="url(#p9)"/></svg>\n'
    )
    out = report.inline_svg(doc, "c1", "levels chart")
    assert out.startswith("<svg ")
    assert 'width="720pt"' not in out and 'height="403.2pt"' not in out
    assert 'viewBox="0 0 720 403.2"' in out and 'width="100%"' in out and 'class="chart"' in out
    assert 'id="c1-g1"' in out and 'xlink:href="#c1-g1"' in out
    assert 'id="c1-p9"' in out and "url(#c1-p9)" in out


# -- the real B3 recordings (../shared/fixtures/b3, read when present, never copied) --------------

REAL = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "b3"
REAL_LEVELS = (
    REAL / "history" / "levels" / "IBOV_2022_enus_indexStatistics_GetPortfolioDay_rec2025-04-07.json"
)


@pytest.mark.slow
@pytest.mark.skipif(not REAL_LEVELS.exists(), reason=f"the real B3 recordings are not in {REAL}")
def test_report_on_a_lake_of_the_real_recordings(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    files = sorted(REAL.glob("IBOVDia_*.csv"))
    r = run_ibov("scrape", "--from", str(REAL / "IBOVDia_*.csv"), "--lake", str(lake))
    assert r.code == 0, r.stderr
    r = run_ibov(
        "scrape", "levels", "--from", str(REAL_LEVELS), "-i", "IBOV", "--year", "2022", "--lake", str(lake)
    )
    assert r.code == 0, r.stderr
    r = run_ibov("report", "--lake", str(lake), "--out", str(tmp_path / "r.html"), "--json")
    assert r.code == 0, r.stderr
    shown = {s["id"]: s["shown"] for s in json.loads(r.stdout)["sections"]}
    assert shown["today-IBOV"] and shown["index-IBOV"] and shown["tickers-IBOV"] and shown["changes-IBOV"]
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert f"{len(files)} stored since" in html
    # B3's CSV download has no sector column: ibov's sector table fills them (ibovcli/sectors.py)
    assert "carries no sectors" not in html and "Financeiro" in html
    assert "Close 29 Dec 2022" in html  # the last session of the 2022 recording


@pytest.mark.slow  # builds the report lake (seconds)
def test_a_section_from_a_query_of_a_later_ibov_is_a_table_of_its_rows(lake: Path) -> None:
    """`contribution` and `rebalance-preview` come with later versions: the page shows any such query's
    rows as a table, or why it has none. top-weights stands in for one here."""
    from tests.lakes import engine

    eng = engine(lake)
    try:
        g = report._Gatherer(Settings.load(lake_dir=lake, engine="local"), eng)
        shown = report._optional(g, "s", "S", "top-weights", "IBOV", "the largest weights")
        assert shown.shown and shown.body.count("<tr>") == 11  # a heading and 10 rows
        assert "<th>weight_pct</th>" in shown.body
        none = report._optional(g, "s", "S", "top-weights", "SMLL", "the largest weights")
        assert not none.shown and none.missing == ("no SMLL portfolio is stored",)
        absent = report._optional(g, "s", "S", "no-such-query", "IBOV", "something new")
        assert (
            not absent.shown and "This ibov has no no-such-query query (something new)" in absent.missing[0]
        )
    finally:
        eng.close()


@pytest.mark.slow  # builds the report lake (seconds)
def test_the_log_level_axis_is_written_like_the_linear_one(lake: Path) -> None:
    """Long spans of levels are drawn on a log scale: labelled 50,000 or 65,000, never 5x10^4."""
    from ibovcli import charts

    drawn = charts.build(Settings.load(lake_dir=lake, engine="local"), "levels", log=True)
    ax = drawn.figure.axes[0]
    drawn.figure.canvas.draw()
    labels = [t.get_text() for t in ax.yaxis.get_ticklabels() if t.get_text()]
    assert labels and all(re.fullmatch(r"\d{1,3}(,\d{3})*", label) for label in labels), labels
    assert not [t.get_text() for t in ax.yaxis.get_ticklabels(minor=True) if t.get_text()]


@pytest.mark.parametrize(
    ("n", "text"), [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"), (21, "21st")]
)
def test_ordinals(n: int, text: str) -> None:
    assert report._ordinal(n) == text


@pytest.mark.slow  # builds the report lake (seconds)
def test_each_index_s_stored_days_are_asked_once_per_report(
    lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every saved query resolving `latest` needs the stored days; on AWS each answer is an S3 listing
    and an Athena metadata query, so the report asks the engine once per dataset and index."""
    from ibovcli.engines.local import LocalEngine

    asked: list[tuple[str, str]] = []
    real = LocalEngine.stored_days

    def counting(self: LocalEngine, dataset: str, index: str) -> list[str]:
        asked.append((dataset, index))
        return real(self, dataset, index)

    monkeypatch.setattr(LocalEngine, "stored_days", counting)
    report.build(Settings.load(lake_dir=lake, engine="local"), out=tmp_path / "r.html", indices=["IBOV"])
    assert asked and len(asked) == len(set(asked)), asked
