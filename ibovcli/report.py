"""``ibov report``: one self-contained HTML page (no network at all) about one or more indices.

The data comes from the saved queries (:func:`ibovcli.pipeline.query`) and the engine's status, so the
page is the same on both engines; the charts are the ones ``ibov chart`` draws (:func:`ibovcli.charts.build`),
inlined as SVG. The page is built with the standard library only (string templates and
:func:`html.escape`): no template engine, no web fonts, no script or style from anywhere else; a
Content-Security-Policy forbids every request, so a page that tried one would say so in the console.

Each section is shown when its data is stored; otherwise it says what is missing and the exact command
that stores it. Sections whose query lives in another ibov version (``contribution``,
``rebalance-preview``) are detected by name (:func:`ibovcli.queries.names`).
"""

from __future__ import annotations

import html
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ibovcli.errors import IbovError, NoData, UsageError
from ibovcli.settings import Settings

#: where ``--publish`` puts the page in the data bucket
PUBLISH_KEY = "report/index.html"
CONTENT_TYPE = "text/html; charset=utf-8"
#: points per sparkline at most (the index-weights query keeps every Nth stored day)
SPARK_POINTS = 120
TOP_ROWS = 15
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Section:
    """One part of the page: ``shown`` when its data is stored, else ``missing`` says what to run."""

    id: str
    title: str
    body: str
    shown: bool
    missing: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "shown": self.shown, "missing": list(self.missing)}


@dataclass(frozen=True)
class Report:
    """The page written to ``path``: its sections, size, how long it took, where it was published."""

    path: Path
    indices: tuple[str, ...]
    sections: tuple[Section, ...]
    bytes: int
    seconds: float
    charts: int
    url: str | None = None
    location: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": str(self.path),
            "indices": list(self.indices),
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "charts": self.charts,
            "sections": [s.as_json() for s in self.sections],
        }
        if self.url is not None:
            out["published"] = {"location": self.location, "url": self.url}
        return out


# -- the core function ----------------------------------------------------------------------------


def build(
    settings: Settings,
    *,
    out: Path,
    indices: Sequence[str] = (),
    publish: bool = False,
    expires: int = 7 * 24 * 3600,
    engine: Any = None,
    now: datetime | None = None,
) -> Report:
    """Gather the data of ``indices`` (default: every index with a stored portfolio, else IBOV), write
    the page to ``out`` (a file, or ``out/index.html`` for a directory) and, with ``publish`` (aws),
    upload it to the data bucket and presign a URL valid ``expires`` seconds."""
    from ibovcli import collect, pipeline
    from ibovcli import indices as indices_mod
    from ibovcli.outputs import check_output, write_output

    target = out / "index.html" if out.is_dir() else out
    check_output(target)
    if publish and settings.engine != "aws":
        raise UsageError("--publish uploads to the data bucket", hint="Add --engine aws.")
    wanted = [collect.check_index(i) for i in indices]
    started = time.perf_counter()
    if publish and not 1 <= expires <= 7 * 24 * 3600:
        raise UsageError("--expires must be between 1 second and 7 days (604800 s)")
    url = location = None
    with pipeline._engine(settings, engine, lambda _m: None) as eng:
        status = eng.status()
        if not wanted or indices_mod.ALL in wanted:
            wanted = sorted({c.index for c in status.of("portfolio") if c.last}) or ["IBOV"]
        gather = _Gatherer(settings, eng)
        sections = [_freshness(status, wanted, gather, now)]
        for index in wanted:
            sections += [
                _today(gather, index),
                _levels(gather, index),
                _moved(gather, index),
                _changes(gather, index),
                _tickers(gather, index),
            ]
        page = _page(sections, wanted, status, now or datetime.now(UTC))
        data = page.encode("utf-8")
        write_output(target, data)
        if publish:
            location, url = _publish(eng, data, expires)
    return Report(
        target,
        tuple(wanted),
        tuple(sections),
        len(data),
        time.perf_counter() - started,
        gather.charts,
        url,
        location,
    )


def _publish(engine: Any, data: bytes, expires: int) -> tuple[str, str]:
    """Upload the page to the AWS engine's data bucket; its s3:// location and a presigned URL."""
    from ibovcli.aws import s3
    from ibovcli.aws.clients import aws_errors

    bucket = engine.bucket
    with aws_errors(f"publishing the report to s3://{bucket}/{PUBLISH_KEY}"):
        url = s3.publish_page(
            engine.aws.s3(), engine.aws.session, bucket, PUBLISH_KEY, data, CONTENT_TYPE, expires
        )
    return f"s3://{bucket}/{PUBLISH_KEY}", url


# -- gathering ------------------------------------------------------------------------------------


class _StoredDaysOnce:
    """The engine, with each index's stored days asked once per report (every saved query resolving
    ``latest`` asks again; on AWS each answer is an S3 listing and an Athena metadata query). The
    report only reads, so the answer cannot change while it is built."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._days: dict[tuple[str, str], list[str]] = {}

    def stored_days(self, dataset: str, index: str) -> list[str]:
        if (dataset, index) not in self._days:
            self._days[(dataset, index)] = self._engine.stored_days(dataset, index)
        return self._days[(dataset, index)]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


class _Gatherer:
    """Runs saved queries and draws charts on one open engine; counts the charts it inlined."""

    def __init__(self, settings: Settings, engine: Any) -> None:
        from ibovcli import queries

        self.settings = settings
        self.engine = _StoredDaysOnce(engine)
        self.names = set(queries.names())
        self.charts = 0

    def query(self, name: str, **params: Any) -> Any:
        from ibovcli import pipeline

        return pipeline.query(self.settings, name, params, engine=self.engine)

    def records(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """The query's rows, or [] when the index has no stored day at all."""
        try:
            return list(self.query(name, **params).records())
        except NoData:
            return []

    def chart(self, kind: str, *, compact: bool = False, **params: Any) -> str:
        """The chart ``ibov chart`` draws, as drawn (wide screens) and redrawn narrower with its titles
        wrapped (phones): the page's CSS shows one of them. ``compact``: the narrow one only, for a
        half-width column."""
        from ibovcli import charts

        drawn = charts.build(self.settings, kind, engine=self.engine, **params)
        self.charts += 1
        label = f"{kind} chart"
        wide = "" if compact else inline_svg(drawn.render("svg"), f"c{self.charts}w", label)
        narrow = inline_svg(narrowed(drawn).render("svg"), f"c{self.charts}n", label)
        if compact:
            return f"<figure class='chart' data-chart='{_e(kind)}'>{narrow}</figure>"
        return (
            f"<figure class='chart' data-chart='{_e(kind)}'><div class='wide-chart'>{wide}</div>"
            f"<div class='narrow-chart'>{narrow}</div></figure>"
        )

    def dataset_of(self, name: str) -> str:
        from ibovcli import queries

        return queries.get(name).dataset


#: a phone's chart: this wide (inches), drawn at 1 pt = 1 CSS px on a 390 px screen
NARROW_IN = 5.0


def narrowed(drawn: Any) -> Any:
    """The same figure, NARROW_IN wide and a little shorter, titles wrapped to the figure's width:
    matplotlib lays it out again when it renders (constrained layout), so ticks and labels stay readable
    where the wide figure would be scaled down to a third."""
    fig = drawn.figure
    _width, height = fig.get_size_inches()
    for text in fig.texts:
        text.set_wrap(True)
    for ax in fig.axes:
        for loc in ("left", "center", "right"):
            title = getattr(ax, f"_{loc}_title", None) if loc != "center" else ax.title
            if title is not None:
                title.set_wrap(True)
    fig.set_size_inches(NARROW_IN, max(3.6, height * 0.85))
    return drawn


def inline_svg(svg: bytes, prefix: str, label: str) -> str:
    """matplotlib's SVG file as an element to put in a page: no XML prolog or DOCTYPE, ids made unique
    with ``prefix`` (several charts share one document), width 100% of its box and the height following
    the viewBox, so that it scales down on a phone."""
    text = svg.decode("utf-8")
    start = text.find("<svg")
    if start < 0:
        raise ValueError("not an SVG document")
    text = text[start:]
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = re.sub(r'(href="#|url\(#)([^")]+)', lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", text)
    head_end = text.find(">")
    head = text[:head_end]
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)
    head += f' width="100%" class="chart" role="img" aria-label="{html.escape(label)}"'
    return head + text[head_end:]


# -- sections ---------------------------------------------------------------------------------------


def _missing(section_id: str, title: str, lines: Sequence[str]) -> Section:
    body = "".join(f'<p class="missing">{line}</p>' for line in lines)
    return Section(section_id, title, body, False, tuple(_plain(line) for line in lines))


def _cmd(command: str) -> str:
    return f"<code>{html.escape(command)}</code>"


def _plain(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _freshness(status: Any, indices: Sequence[str], gather: _Gatherer, now: datetime | None) -> Section:
    today = (now or datetime.now(UTC)).date()
    ages = {line.split(":", 1)[0]: line.split(", ", 1)[1] for line in status.freshness(today) if ", " in line}
    cards = []
    for index in indices:
        port = next((c for c in status.of("portfolio") if c.index == index), None)
        lev = next((c for c in status.of("levels") if c.index == index), None)
        if port is None or not port.last:
            last = _fact(
                "Last session", '<span class="bad">none stored</span>', _cmd(f"ibov run --index {index}")
            )
            missing = ""
        else:
            last = _fact("Last session", _e(port.last), _e(ages.get(index, "")))
            gaps = port.missing
            missing = _fact(
                "Trading days missing",
                '<span class="good">none</span>' if not gaps else f'<span class="bad">{len(gaps)}</span>',
                f"{port.stored} stored since {_e(port.first)}"
                + (": " + _e(", ".join(gaps[:4]) + (" …" if len(gaps) > 4 else "")) if gaps else ""),
            )
        levels = (
            _fact("Official levels up to", _e(lev.last), f"{lev.stored} {_e(lev.unit)} stored")
            if lev is not None and lev.last
            else _fact(
                "Official levels",
                '<span class="bad">none stored</span>',
                _cmd(f"ibov scrape levels --index {index} --since {today.year - 10}"),
            )
        )
        cards.append(f"<h3>{_e(index)}</h3><div class='tiles'>{last}{missing}{levels}</div>")
    runs = list(status.runs)
    run_line = ""
    if runs:
        r = runs[-1]
        state_class = "good" if r.state == "succeeded" else "bad"
        run_line = (
            f"<p>Last run: <b>{_e(r.command)}</b> {_e(r.started_at)} — "
            f"<span class='{state_class}'>{_e(r.state)}</span>"
            + (f" <span class='muted'>({_e(r.error)})</span>" if r.error else "")
            + "</p>"
        )
    pending = (
        f"<p class='bad'>{len(status.pending)} raw unit(s) changed since their last refine: "
        f"{_cmd('ibov refine')}</p>"
        if status.pending
        else ""
    )
    if "contribution" in gather.names:
        recon = "<p class='muted'>Reconciliation of the latest day: see <i>What moved it</i> below.</p>"
    else:
        recon = (
            "<p class='missing'>Reconciliation of the latest day with the index level needs the "
            "<code>contribution</code> query (the quotes dataset), which this ibov does not have yet.</p>"
        )
    body = (
        f"<p class='muted'>Engine <b>{_e(status.engine)}</b>, lake <code>{_e(status.location)}</code></p>"
        f"{''.join(cards)}{run_line}{pending}{recon}"
    )
    return Section("freshness", "Freshness and trust", body, True)


def _today(g: _Gatherer, index: str) -> Section:
    sid, title = f"today-{index}", f"{index} today"
    top = g.records("top-weights", index=index, limit=str(TOP_ROWS))
    if not top:
        return _missing(
            sid,
            title,
            [f"No {index} portfolio is stored. Store today's with {_cmd(f'ibov run --index {index}')}."],
        )
    day = _day(top[0]["session_date"])
    biggest = max(_f(r["weight_pct"]) for r in top)
    has_sectors = any(r.get("sector") for r in top)
    trs = "".join(
        f"<tr><td class='num'>{r['weight_rank']}</td><th scope='row'>{_e(r['ticker'])}</th>"
        f"<td class='wide'>{_e(r['company'])}</td>"
        + (f"<td class='wide muted'>{_e(r.get('sector') or '')}</td>" if has_sectors else "")
        + f"<td><div class='barcell'><span class='track'><span class='bar' "
        f"style='width:{_f(r['weight_pct']) / biggest * 100:.1f}%'></span></span>"
        f"<span class='barval'>{_f(r['weight_pct']):.3f}%</span></div></td></tr>"
        for r in top
    )
    conc = g.records("concentration", index=index)
    tiles = ""
    if conc:
        last = conc[-1]
        ago = _year_before(conc, _day(last["session_date"]))
        tiles = "<div class='tiles'>" + "".join(
            _tile(label, _f(last[key]), _f(ago[key]) if ago else None, fmt, unit, since)
            for label, key, fmt, unit in (
                ("HHI", "hhi", "{:,.0f}", ""),
                ("Equal-weight equivalent", "effective_members", "{:.1f}", ""),
                ("Top 5", "top5_weight_pct", "{:.1f}", "%"),
                ("Top 10", "top10_weight_pct", "{:.1f}", "%"),
            )
            for since in [f"since {_day(ago['session_date']):%d %b %Y}" if ago else ""]
        )
        tiles += "</div>"
    if has_sectors:
        sectors = g.chart("sectors", index=index, compact=True)
    else:
        sectors = (
            f"<p class='missing'>The {index} portfolio of {day:%d %b %Y} carries no sectors (a CSV "
            f"saved from B3's site has none; {_cmd(f'ibov run --index {index}')} stores B3's answer, "
            "which has them).</p>"
        )
    body = (
        f"<p class='muted'>Session {day:%A %d %B %Y} · the {len(top)} largest of "
        f"{_e(conc[-1]['members']) if conc else '?'} constituents</p>{tiles}"
        "<div class='grid2'><div><h3>Top weights</h3><div class='scroll'><table class='top'><thead><tr>"
        "<th class='num'>#</th><th>Ticker</th><th class='wide'>Company</th>"
        + ("<th class='wide'>Sector</th>" if has_sectors else "")
        + f"<th>Weight</th></tr></thead><tbody>{trs}</tbody></table></div></div>"
        f"<div><h3>Sector weights</h3>{sectors}</div></div>"
        f"{g.chart('concentration', index=index)}"
    )
    return Section(sid, title, body, True)


def _levels(g: _Gatherer, index: str) -> Section:
    sid, title = f"index-{index}", f"{index} level, drawdowns and returns"
    rows = [r for r in g.records("index-levels", index=index) if r["current_scale"]]
    if not rows:
        year = date.today().year - 10
        return _missing(
            sid,
            title,
            [
                f"No official levels of {index} are stored. Store ten years with "
                f"{_cmd(f'ibov scrape levels --index {index} --since {year}')}."
            ],
        )
    first, last = _day(rows[0]["session_date"]), _day(rows[-1]["session_date"])
    chart = g.chart("levels", index=index, log=(last - first).days > 5 * 366)
    values = [_f(r["level"]) for r in rows]
    peak = max(values)
    day_change = rows[-1].get("change_pct")
    ytd = rows[-1].get("ytd_change_pct")
    tiles = (
        "<div class='tiles'>"
        + _tile(f"Close {last:%d %b %Y}", values[-1], None, "{:,.2f}", "", "")
        + (_tile("Day", _f(day_change), None, "{:+.2f}", "%", "") if day_change is not None else "")
        + (_tile("Year to date", _f(ytd), None, "{:+.2f}", "%", "") if ytd is not None else "")
        + _tile("Below the peak", (values[-1] / peak - 1) * 100, None, "{:.1f}", "%", f"peak {peak:,.0f}")
        + "</div>"
    )
    falls = g.records("drawdown", index=index, limit="5")
    fall_rows = "".join(
        f"<tr><td>{_day(r['peak_date']):%d %b %y}</td><td class='num wide'>{_f(r['peak_level']):,.0f}</td>"
        f"<td>{_day(r['trough_date']):%d %b %y}</td><td class='num neg'>{_f(r['drawdown_pct']):.1f}%</td>"
        f"<td>{_recovered(r['recovery_date'])}</td></tr>"
        for r in falls
    )
    falls_html = (
        "<div class='scroll'><table class='nowrap falls'><thead><tr><th>Peak</th>"
        "<th class='num wide'>Level</th><th>Trough</th>"
        f"<th class='num'>Fall</th><th>Recovered</th></tr></thead><tbody>{fall_rows}</tbody></table></div>"
    )
    body = (
        f"{tiles}{chart}<h3>Returns by month and year (%)</h3>{_returns_grid(g, index)}"
        f"<h3>Deepest falls</h3>{falls_html}"
    )
    return Section(sid, title, body, True)


def _recovered(value: Any) -> str:
    return f"{_day(value):%d %b %y}" if value else "<i>not yet</i>"


def _returns_grid(g: _Gatherer, index: str) -> str:
    months = g.records("index-returns", index=index, by="month")
    years = {
        str(r["period"]): _f(r["return_pct"]) for r in g.records("index-returns", index=index, by="year")
    }
    cells: dict[str, dict[int, float]] = {}
    for r in months:
        y, m = str(r["period"]).split("-")
        cells.setdefault(y, {})[int(m)] = _f(r["return_pct"])
    head = "".join(f"<th class='num'>{m}</th>" for m in MONTHS)
    body = "".join(
        f"<tr><th scope='row'>{y}</th>"
        + "".join(_ret_cell(cells[y].get(m)) for m in range(1, 13))
        + _ret_cell(years.get(y), strong=True)
        + "</tr>"
        for y in sorted(cells, reverse=True)
    )
    return (
        "<div class='scroll'><table class='returns'><thead><tr><th>Year</th>"
        f"{head}<th class='num'>Year</th></tr></thead><tbody>{body}</tbody></table></div>"
    )


def _ret_cell(value: float | None, strong: bool = False) -> str:
    if value is None:
        return "<td></td>"
    alpha = min(abs(value) / (25 if strong else 10), 1) * 0.55 + 0.05
    color = f"rgba(42,157,143,{alpha:.2f})" if value >= 0 else f"rgba(224,122,47,{alpha:.2f})"
    text = f"<b>{value:+.1f}</b>" if strong else f"{value:+.1f}"
    return f"<td class='num' style='background:{color}'>{text}</td>"


def _moved(g: _Gatherer, index: str) -> Section:
    sid, title = f"moved-{index}", f"What moved {index}"
    return _optional(
        g,
        sid,
        title,
        "contribution",
        index,
        "the latest session's contribution of each constituent to the index's change",
    )


def _optional(g: _Gatherer, sid: str, title: str, name: str, index: str, what: str) -> Section:
    """A section whose saved query may not exist in this ibov: a table of its rows, or what is missing."""
    if name not in g.names:
        return _missing(
            sid,
            title,
            [
                f"This ibov has no <code>{name}</code> query ({what}); a later version adds it "
                f"({_cmd('ibov query --list')} shows the queries this one has)."
            ],
        )
    from ibovcli import queries

    params = {"index": index} if queries.get(name).param("index") else {}
    try:
        result = g.query(name, **params)
    except IbovError as exc:  # no data, or a query that needs more than an index
        return _missing(sid, title, [_e(exc.message)])
    if not result.rows:
        if result.why:  # the query says why, with the command that helps
            return _missing(sid, title, [f"{_e(result.why)}."])
        dataset = g.dataset_of(name)
        command = _cmd(f"ibov scrape {dataset} --index {index}")
        return _missing(sid, title, [f"No {dataset} of {index} is stored: {command} stores it."])
    return Section(sid, title, _generic_table(result.columns, result.rows[:30]), True)


def _generic_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='num'>{_fmt_num(v)}</td>"
            if isinstance(v, int | float | Decimal) and not isinstance(v, bool)
            else f"<td>{_e('' if v is None else v)}</td>"
            for v in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def _changes(g: _Gatherer, index: str) -> Section:
    sid, title = f"changes-{index}", f"{index} changes"
    days = g.engine.stored_days("portfolio", index)
    if not days:
        return _missing(
            sid, title, [f"No {index} portfolio is stored: {_cmd(f'ibov run --index {index}')} stores one."]
        )
    found = last_rebalance(lambda a, b: _membership_changed(g, index, a, b), list(days))
    if found is None:
        rebalance = (
            f"<p class='muted'>The membership is the same on every stored day ({_e(days[0])} to "
            f"{_e(days[-1])}): no rebalance seen yet.</p>"
        )
    else:
        before, after = found
        diff = g.records("rebalance-diff", index=index, **{"from": before, "to": after})
        rebalance = _diff_html(diff, before, after)
    preview = _optional(
        g, f"{sid}-preview", "preview", "rebalance-preview", index, "B3's preview of the next rebalance"
    )
    body = f"<h3>Last rebalance</h3>{rebalance}<h3>Next rebalance preview</h3>{preview.body}"
    return Section(sid, title, body, True, preview.missing)


def last_rebalance(differs: Callable[[str, str], bool], days: list[str]) -> tuple[str, str] | None:
    """The last two consecutive stored days whose memberships differ, as (before, after), found with
    ``differs(day, latest)`` (membership on ``day`` differs from the latest one's): galloping back from
    the latest day, then bisecting, so about 2 log2(days) comparisons. None when no stored day differs."""
    latest = len(days) - 1
    same = latest  # a day known to have the latest membership
    step = 1
    changed = None
    while True:
        i = max(latest - step, 0)
        if i == same:
            return None
        if differs(days[i], days[latest]):
            changed = i
            break
        same = i
        if i == 0:
            return None
        step *= 2
    while same - changed > 1:
        mid = (changed + same) // 2
        if differs(days[mid], days[latest]):
            changed = mid
        else:
            same = mid
    return days[changed], days[same]


def _membership_changed(g: _Gatherer, index: str, day: str, latest: str) -> bool:
    rows = g.records("rebalance-diff", index=index, **{"from": day, "to": latest})
    return any(r["change"] in ("entered", "left") for r in rows)


def _diff_html(diff: list[dict[str, Any]], before: str, after: str) -> str:
    entered = [r for r in diff if r["change"] == "entered"]
    left = [r for r in diff if r["change"] == "left"]
    moved = sorted(
        (r for r in diff if r["change"] == "changed"), key=lambda r: -abs(_f(r["delta_weight_pct"]))
    )[:8]

    def names(rs: list[dict[str, Any]]) -> str:
        return ", ".join(
            f"<b>{_e(r['ticker'])}</b> <span class='muted'>{_e(r['company'])}</span>" for r in rs
        )

    moved_rows = "".join(
        f"<tr><th scope='row'>{_e(r['ticker'])}</th><td class='num wide'>{_f(r['from_weight_pct']):.3f}%</td>"
        f"<td class='num'>{_f(r['to_weight_pct']):.3f}%</td>"
        f"<td class='num {'pos' if _f(r['delta_weight_pct']) >= 0 else 'neg'}'>"
        f"{_f(r['delta_weight_pct']):+.3f}</td></tr>"
        for r in moved
    )
    return (
        f"<p>Between <b>{_e(before)}</b> and <b>{_e(after)}</b>: "
        f"{len(entered)} entered, {len(left)} left.</p>"
        f"<ul><li>Entered: {names(entered) or '—'}</li><li>Left: {names(left) or '—'}</li></ul>"
        + (
            "<div class='scroll'><table><thead><tr><th>Largest changes</th><th class='num wide'>Before</th>"
            f"<th class='num'>After</th><th class='num'>pp</th></tr></thead><tbody>{moved_rows}</tbody>"
            "</table></div>"
            if moved_rows
            else ""
        )
    )


def _tickers(g: _Gatherer, index: str) -> Section:
    sid, title = f"tickers-{index}", f"{index} constituents"
    days = g.engine.stored_days("portfolio", index)
    if not days:
        return _missing(
            sid, title, [f"No {index} portfolio is stored: {_cmd(f'ibov run --index {index}')} stores one."]
        )
    every = max(1, math.ceil(len(days) / SPARK_POINTS))
    rows = g.records("index-weights", index=index, every=str(every))
    series: dict[str, list[tuple[int, float]]] = {}
    latest: dict[str, dict[str, Any]] = {}
    for r in rows:
        back = int(r["days_back"])
        series.setdefault(r["ticker"], []).append((back, _f(r["weight_pct"])))
        if back == 0:
            latest[r["ticker"]] = r
    span = max((b for s in series.values() for b, _ in s), default=0)
    first_day = days[max(0, len(days) - 1 - span)]
    has_sectors = any(r.get("sector") for r in latest.values())
    trs = []
    for ticker, r in sorted(latest.items(), key=lambda kv: int(kv[1]["weight_rank"])):
        points = sorted(series[ticker], key=lambda p: -p[0])
        w = _f(r["weight_pct"])
        change = w - points[0][1]
        trs.append(
            f"<tr><td class='num' data-v='{r['weight_rank']}'>{r['weight_rank']}</td>"
            f"<th scope='row' data-v='{_e(ticker)}'>{_e(ticker)}</th>"
            f"<td class='wide' data-v='{_e(r['company'])}'>{_e(r['company'])}</td>"
            + (
                f"<td class='wide' data-v='{_e(r.get('sector') or '')}'>{_e(r.get('sector') or '')}</td>"
                if has_sectors
                else ""
            )
            + f"<td class='num' data-v='{w:.3f}'>{w:.3f}%</td>"
            f"<td class='num {'pos' if change >= 0 else 'neg'}' data-v='{change:.3f}'>{change:+.2f}</td>"
            f"<td>{sparkline([p[1] for p in points], [span - p[0] for p in points], span)}</td></tr>"
        )
    body = (
        f"<p class='muted'>{len(latest)} constituents on {_e(days[-1])}; sparklines: weight since "
        f"{_e(first_day)} ({'every stored day' if every == 1 else f'every {_ordinal(every)} stored day'}); "
        "click a heading to sort.</p>"
        f"<input type='search' class='filter' placeholder='Filter: ticker, company or sector' "
        f"aria-label='Filter the {_e(index)} constituents'>"
        "<div class='scroll'><table class='tickers sortable'><thead><tr>"
        "<th class='num' data-type='num'>#</th><th data-type='text'>Ticker</th>"
        "<th class='wide' data-type='text'>Company</th>"
        + ("<th class='wide' data-type='text'>Sector</th>" if has_sectors else "")
        + "<th class='num' data-type='num'>Weight</th>"
        "<th class='num' data-type='num' title='change in percentage points since the first day shown'>"
        "Δ pp</th>"
        f"<th>History</th></tr></thead><tbody>{''.join(trs)}</tbody></table></div>"
    )
    return Section(sid, title, body, bool(latest))


def sparkline(
    values: Sequence[float], xs: Sequence[int], span: int, width: int = 120, height: int = 28
) -> str:
    """A small inline SVG line of ``values`` at positions ``xs`` (0..``span``), last point marked."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    rng = (hi - lo) or 1.0
    pad = 3.0

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / span if span else 1.0)

    def y(v: float) -> float:
        return pad + (height - 2 * pad) * (1 - (v - lo) / rng) if hi > lo else height / 2

    pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in zip(xs, values, strict=True))
    lx, ly = x(xs[-1]), y(values[-1])
    return (
        f"<svg class='spark' viewBox='0 0 {width} {height}' width='{width}' height='{height}' "
        "preserveAspectRatio='none' "
        f"role='img' aria-label='weight from {values[0]:.2f}% to {values[-1]:.2f}%'>"
        f"<polyline points='{pts}' fill='none' stroke='#1f5f99' stroke-width='1.4'/>"
        f"<circle cx='{lx:.1f}' cy='{ly:.1f}' r='2.2' fill='#1f5f99'/></svg>"
    )


# -- small helpers ----------------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _f(value: Any) -> float:
    return float(value) if isinstance(value, int | float | Decimal) else float(str(value))


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st ..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _fmt_num(value: Any) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return f"{_f(value):,.4g}" if abs(_f(value)) < 1000 else f"{_f(value):,.2f}"


def _year_before(rows: list[dict[str, Any]], day: date) -> dict[str, Any] | None:
    """The last row a year or more before ``day``, else the first row (None for a single row)."""
    if len(rows) < 2:
        return None
    target = date(day.year - 1, day.month, min(day.day, 28))
    older = [r for r in rows if _day(r["session_date"]) <= target]
    return older[-1] if older else rows[0]


def _fact(label: str, value: str, note: str) -> str:
    """A tile of already-escaped HTML."""
    return (
        f"<div class='tile'><span class='label'>{_e(label)}</span><span class='value small'>{value}</span>"
        f"<span class='trend'>{note}</span></div>"
    )


def _tile(label: str, value: float, before: float | None, fmt: str, unit: str, note: str) -> str:
    trend = ""
    if before is not None:
        delta = value - before
        arrow = "▲" if delta > 0 else "▼" if delta < 0 else "="
        trend = f"<span class='trend'>{arrow} {fmt.format(abs(delta))}{unit} {_e(note)}</span>"
    elif note:
        trend = f"<span class='trend'>{_e(note)}</span>"
    return (
        f"<div class='tile'><span class='label'>{_e(label)}</span>"
        f"<span class='value'>{fmt.format(value)}{unit}</span>{trend}</div>"
    )


# -- the page ---------------------------------------------------------------------------------------

_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)

_STYLE = """
:root{--ink:#1b2a3a;--muted:#6b7785;--grid:#d9dee4;--blue:#1f5f99;--teal:#2a9d8f;--orange:#e07a2f;--bg:#f6f7f9}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header,main,footer{max-width:1200px;margin:0 auto;padding:0 16px}
header{padding-top:20px}
h1{font-size:1.6rem;margin:0 0 4px}
h2{font-size:1.25rem;margin:0 0 8px}
h3{font-size:1rem;margin:18px 0 6px}
nav{display:flex;flex-wrap:wrap;gap:6px;margin:12px 0}
nav a{font-size:.85rem;padding:3px 10px;border-radius:999px;background:#fff;border:1px solid var(--grid);
color:var(--blue);text-decoration:none}
nav a.off{color:var(--muted)}
section{background:#fff;border:1px solid var(--grid);border-radius:10px;padding:16px;margin:14px 0}
section.off{background:transparent;border-style:dashed}
.muted{color:var(--muted)}
.missing{color:#7a4a14;background:#fff6e8;border-left:3px solid var(--orange);padding:6px 10px;margin:6px 0}
.good{color:#1d7a4f;font-weight:600}
.bad{color:#b3471d;font-weight:600}
.pos{color:#1d7a4f}
.neg{color:#b3471d}
code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef1f4;padding:1px 4px;
border-radius:4px;overflow-wrap:anywhere}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{padding:5px 8px;border-bottom:1px solid var(--grid);text-align:left;vertical-align:middle}
thead th{font-size:.8rem;color:var(--muted);font-weight:600;white-space:nowrap}
table.nowrap td{white-space:nowrap}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.returns,table.falls{max-width:900px}
table.returns td,table.returns th{padding:4px 5px;font-size:.8rem}
.barcell{display:flex;align-items:center;gap:6px;min-width:150px}
.track{flex:1;min-width:60px}
.bar{display:block;height:12px;background:var(--blue);border-radius:2px;opacity:.85}
.barval{flex:none;width:4.6em;text-align:right;font-variant-numeric:tabular-nums;font-size:.85rem}
figure.chart{margin:6px 0}
.wide-chart svg.chart{max-width:1000px;margin:0 auto}
.narrow-chart{display:none}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:10px 0}
.tile{border:1px solid var(--grid);border-radius:8px;padding:8px 10px;display:flex;flex-direction:column}
.tile .label{font-size:.75rem;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
.tile .value{font-size:1.35rem;font-weight:700;font-variant-numeric:tabular-nums}
.tile .value.small{font-size:1.1rem}
.tile .trend{font-size:.78rem;color:var(--muted)}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:20px;align-items:start}
.grid2>div{min-width:0}
svg.chart{display:block;width:100%;height:auto;max-width:100%}
svg.spark{display:block}
input.filter{width:100%;max-width:360px;font:inherit;padding:6px 10px;border:1px solid var(--grid);
border-radius:6px;margin:4px 0 8px}
table.sortable thead th[data-type]{cursor:pointer;user-select:none}
table.sortable thead th[aria-sort=ascending]::after{content:" ▲"}
table.sortable thead th[aria-sort=descending]::after{content:" ▼"}
h2.index{font-size:1.4rem;margin:28px 0 0;padding-top:8px;border-top:2px solid var(--ink)}
footer{color:var(--muted);font-size:.8rem;padding-bottom:24px}
@media (max-width:760px){
 .grid2{grid-template-columns:1fr}
 .wide{display:none}
 section{padding:12px;border-radius:8px}
 header,main,footer{padding:0 10px}
 body{font-size:14px}
 .tile .value{font-size:1.15rem}
 .tiles{grid-template-columns:repeat(2,1fr)}
 .wide-chart{display:none}
 .narrow-chart{display:block}
 svg.spark{width:84px;height:26px}
}
"""

# Sorting and filtering the constituents tables: no library, no request.
_SCRIPT = """
(function(){
  document.querySelectorAll('table.sortable').forEach(function(table){
    var body = table.tBodies[0];
    table.querySelectorAll('thead th[data-type]').forEach(function(th, col){
      th.tabIndex = 0;
      function sort(){
        var asc = th.getAttribute('aria-sort') !== 'ascending';
        table.querySelectorAll('thead th').forEach(function(o){ o.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        var num = th.dataset.type === 'num';
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function(a, b){
          var x = a.cells[col].dataset.v, y = b.cells[col].dataset.v;
          var d = num ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
          return asc ? d : -d;
        });
        rows.forEach(function(r){ body.appendChild(r); });
      }
      th.addEventListener('click', sort);
      th.addEventListener('keydown', function(e){
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sort(); }
      });
    });
  });
  document.querySelectorAll('input.filter').forEach(function(input){
    var table = input.parentNode.querySelector('table.sortable');
    input.addEventListener('input', function(){
      var q = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function(r){
        r.hidden = q !== '' && r.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  });
})();
"""


def _page(sections: Sequence[Section], indices: Sequence[str], status: Any, now: datetime) -> str:
    nav = "".join(f"<a href='#{s.id}'{'' if s.shown else ' class=off'}>{_e(s.title)}</a>" for s in sections)
    parts = []
    current = None
    for s in sections:
        index = s.id.split("-", 1)[1] if "-" in s.id else None
        if index and index != current and len(indices) > 1:
            parts.append(f"<h2 class='index'>{_e(index)}</h2>")
        current = index or current
        cls = "" if s.shown else " class='off'"
        parts.append(
            f"<section id='{s.id}' data-section='{s.id}'{cls}><h2>{_e(s.title)}</h2>{s.body}</section>"
        )
    title = f"ibov report: {', '.join(indices)}"
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{_CSP}\">"
        f"<title>{_e(title)}</title><link rel='icon' href='data:,'><style>{_STYLE}</style></head><body>"
        f"<header><h1>{_e(title)}</h1><p class='muted'>Built {now:%Y-%m-%d %H:%M} UTC by ibov from the "
        f"{_e(status.engine)} lake. Data: B3 (portfolios, official index levels).</p>"
        f"<nav>{nav}</nav></header>"
        f"<main>{''.join(parts)}</main>"
        "<footer>One self-contained file: no script, style, font or image comes from anywhere else. "
        f"Rebuild it with <code>ibov report --out report.html</code>.</footer>"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


__all__ = ["Report", "Section", "build", "inline_svg", "last_rebalance", "sparkline"]
