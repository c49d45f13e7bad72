"""The report in a real headless Chromium, opened from file:// at a phone's and a desktop's width.

Skipped, with the reason, when no Chromium is installed (``make test`` installs Debian's ``chromium``
when it runs as root with apt-get). Screenshots are kept in ``tmp/artifacts/`` (or
``$IBOV_TEST_ARTIFACTS``). How the browser is driven, and why that way: tests/browser.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests import browser, report_lake
from tests.conftest import run_ibov

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = (390, 1440)
BROWSER = browser.find()
if BROWSER is None:
    pytestmark.append(
        pytest.mark.skip(
            reason="no headless Chromium (chromium, chromium-browser or google-chrome, or IBOV_BROWSER): "
            "`apt-get install chromium` (make test does it when it runs as root)"
        )
    )

PROBE = """
(function(){
  function box(el){ var r = el.getBoundingClientRect(); return {w: r.width, h: r.height}; }
  var out = {width: window.innerWidth, scrollWidth: document.documentElement.scrollWidth,
             height: document.documentElement.scrollHeight, sections: [], charts: [], sparks: [0, 0]};
  document.querySelectorAll('section[data-section]').forEach(function(s){
    out.sections.push({id: s.id, h: box(s).h, missing: s.querySelectorAll('.missing').length});
  });
  document.querySelectorAll('figure.chart').forEach(function(f){
    var shown = Array.prototype.filter.call(f.querySelectorAll('svg.chart'), function(s){
      var b = box(s); return b.w > 0 && b.h > 0; });
    out.charts.push({kind: f.dataset.chart, shown: shown.length, w: shown.length ? box(shown[0]).w : 0,
                     h: shown.length ? box(shown[0]).h : 0, inside: box(f).w <= window.innerWidth});
  });
  document.querySelectorAll('svg.spark').forEach(function(s){
    var b = box(s); out.sparks[0] += 1; if (b.w > 0 && b.h > 0) out.sparks[1] += 1; });
  var table = document.querySelector('table.sortable');
  if (table) {
    var heads = table.querySelectorAll('thead th');
    var weightCol = Array.prototype.findIndex.call(heads, function(th){
      return th.textContent === 'Weight'; });
    function column(i){ return Array.prototype.map.call(table.tBodies[0].rows, function(r){
      return r.cells[i].dataset.v; }); }
    heads[weightCol].click();
    out.ascending = column(weightCol).map(parseFloat);
    heads[weightCol].click();
    out.descending = column(weightCol).map(parseFloat);
    heads[1].click();
    out.byTicker = column(1);
    var input = document.querySelector('input.filter');
    input.value = 'vale';
    input.dispatchEvent(new Event('input'));
    out.filtered = Array.prototype.filter.call(table.tBodies[0].rows, function(r){ return !r.hidden; })
      .map(function(r){ return r.cells[1].dataset.v; });
  }
  console.log('IBOV-PROBE ' + JSON.stringify(out));
})();
"""


def artifacts() -> Path:
    where = Path(os.environ.get("IBOV_TEST_ARTIFACTS") or ROOT / "tmp" / "artifacts")
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The report of the synthetic IBOV lake with levels, built through the CLI."""
    lake = report_lake.build(tmp_path_factory.mktemp("browser") / "lake")
    page = lake.parent / "report.html"
    r = run_ibov("report", "--lake", str(lake), "--out", str(page), "--json")
    assert r.code == 0, r.stderr
    return page, json.loads(r.stdout)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_page_works_in_chromium_at_phone_and_desktop_widths(
    built: tuple[Path, dict[str, Any]], width: int
) -> None:
    assert BROWSER is not None
    page, summary = built
    seen = browser.visit(BROWSER, page, width, probe=PROBE)
    assert seen.errors == [], f"console messages at {width}px: {seen.errors}"
    assert seen.requests == [], f"network requests at {width}px: {seen.requests}"
    probe = seen.probe
    assert probe is not None, "the probe script did not run"
    assert probe["width"] == width
    assert probe["scrollWidth"] <= width, "the page is wider than the screen"
    # every section of the summary is on the page, laid out
    assert [s["id"] for s in probe["sections"]] == [s["id"] for s in summary["sections"]]
    assert all(s["h"] > 40 for s in probe["sections"])
    missing = {s["id"] for s in summary["sections"] if not s["shown"]}
    assert {s["id"] for s in probe["sections"] if s["missing"] and s["id"] in missing} == missing
    # every chart: exactly one of its two drawings shown (narrow on the phone), with a real size
    assert [c["kind"] for c in probe["charts"]] == ["sectors", "concentration", "levels"]
    assert len(probe["charts"]) == summary["charts"]
    for c in probe["charts"]:
        assert c["shown"] == 1 and c["w"] > 300 and c["h"] > 150 and c["inside"], c
    assert probe["sparks"] == [15, 15]
    # the inline script sorts and filters
    assert probe["ascending"] == sorted(probe["ascending"]) and len(probe["ascending"]) == 15
    assert probe["descending"] == sorted(probe["descending"], reverse=True)
    assert probe["byTicker"] == sorted(probe["byTicker"])
    assert probe["filtered"] == ["VALE3"]
    shot = browser.screenshot(BROWSER, page, artifacts() / f"report-{width}.png", width, probe["height"])
    assert shot.stat().st_size > 20_000


def test_the_checks_see_console_errors_and_requests(tmp_path: Path) -> None:
    """The detectors can fail: a page that logs an error and loads an image from a server is caught."""
    assert BROWSER is not None
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!doctype html><html><head><link rel='icon' href='data:,'></head><body>"
        "<img src='http://127.0.0.1:9/pixel.png' alt=''><script>console.error('broken page')</script>"
        "</body></html>",
        encoding="utf-8",
    )
    seen = browser.visit(BROWSER, bad, 390)
    assert any("broken page" in line for line in seen.errors), seen.console
    assert "http://127.0.0.1:9/pixel.png" in seen.requests
