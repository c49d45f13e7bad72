"""Charts of the refined data, drawn with matplotlib (Agg backend, imported only when a chart is drawn).

Every chart reads its data through a saved query (:func:`ibovcli.pipeline.query`), so it works on both
engines: ``weight-history`` -> weight-history.sql, ``sectors`` -> sector-weights.sql,
``concentration`` -> concentration.sql. The file type follows ``out``'s suffix: ``.png`` or ``.svg``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from ibovcli.errors import NoData, UsageError
from ibovcli.settings import Settings

FORMATS = {".png": "png", ".svg": "svg"}
KINDS = ("weight-history", "sectors", "concentration", "levels", "rebalance", "contribution")

INK = "#1b2a3a"
MUTED = "#6b7785"
GRID = "#d9dee4"
BLUE = "#1f5f99"
GREEN = "#2e8b57"
RED = "#c0392b"
TEAL = "#2a9d8f"
ORANGE = "#e07a2f"
WIDTH_IN, HEIGHT_IN, DPI = 10.0, 5.6, 150


@dataclass(frozen=True)
class Drawn:
    """A chart drawn in memory: its matplotlib figure and how many data points it shows."""

    figure: Any
    kind: str
    points: int

    def render(self, fmt: str) -> bytes:
        """The chart as PNG or SVG bytes (reproducible: no creation date inside)."""
        import io

        for ax in self.figure.axes:
            _distinct_percent_labels(ax)
        buf = io.BytesIO()
        self.figure.savefig(buf, format=fmt, facecolor="white", metadata=_metadata(fmt))
        return buf.getvalue()


@dataclass(frozen=True)
class Chart:
    """A chart written to disk: where, and how many data points it shows."""

    path: Path
    kind: str
    points: int

    def as_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "kind": self.kind, "points": self.points}


def build(settings: Settings, kind: str, **params: Any) -> Drawn:
    """Draw chart ``kind`` (one of :data:`KINDS`) in memory; ``params`` are the chart's options."""
    charts: dict[str, Callable[..., Drawn]] = {
        "weight-history": weight_history,
        "sectors": sectors,
        "concentration": concentration,
        "levels": levels,
        "rebalance": rebalance,
    }
    if kind == "contribution":
        from ibovcli import charts_quotes

        charts["contribution"] = charts_quotes.contribution
    if kind not in charts:
        raise UsageError(f"no chart named {kind!r}; known: {', '.join(KINDS)}")
    return charts[kind](settings, **params)


def draw(settings: Settings, kind: str, out: Path, **params: Any) -> Chart:
    """Draw chart ``kind`` into the file ``out`` (PNG or SVG, from its suffix), written atomically."""
    from ibovcli.outputs import write_output

    fmt = _format(out)  # checked before any query runs
    drawn = build(settings, kind, **params)
    write_output(out, drawn.render(fmt))
    return Chart(out, kind, drawn.points)


# -- the charts -----------------------------------------------------------------------------------


def weight_history(
    settings: Settings,
    *,
    ticker: str,
    index: str = "IBOV",
    from_: str | None = None,
    to: str | None = None,
    engine: Any = None,
) -> Drawn:
    """A ticker's weight in an index over time, with its last value, high and low marked."""
    result = _query(
        settings, "weight-history", {"ticker": ticker, "index": index, "from": from_, "to": to}, engine
    )
    rows = result.records()
    ticker, index = result.params["ticker"], result.params["index"]
    if not rows:
        raise NoData(
            f"no data for {ticker} in {index}{_window(from_, to)}",
            hint=result.why or f"`ibov query top-weights --index {index}` lists the index's members.",
        )
    days = [_day(r["session_date"]) for r in rows]
    weights = [_num(r["weight_pct"]) for r in rows]
    company = str(rows[-1].get("company") or "")

    fig, ax = _figure()
    ax.plot(days, weights, color=BLUE, linewidth=2.0, marker="o" if len(rows) <= 40 else None, markersize=4)
    if len(rows) > 1:
        ax.fill_between(days, weights, min(weights), color=BLUE, alpha=0.08, linewidth=0)
    hi = max(range(len(weights)), key=lambda i: weights[i])
    lo = min(range(len(weights)), key=lambda i: weights[i])
    if len(rows) > 2 and hi != lo:
        for i, label, va, dy in ((hi, "high", "bottom", 10), (lo, "low", "top", -10)):
            if i == len(rows) - 1:
                continue
            # near either end, align the label inwards so that it stays clear of the last-value label
            ha = "right" if i > 0.85 * len(rows) else "left" if i < 0.1 * len(rows) else "center"
            ax.annotate(
                f"{label} {weights[i]:.2f}%\n{days[i]:%d %b}",
                (days[i], weights[i]),
                xytext=(0, dy),
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=8.5,
                color=MUTED,
            )
    _label_last(ax, days[-1], weights[-1], f"{weights[-1]:.3f}%", BLUE)
    ax.set_ylabel("Weight in the index (%)")
    _percent_axis(ax, decimals=1)
    _date_axis(ax, days)
    ax.margins(x=0.02, y=0.18)
    delta = rows[-1].get("delta_weight_pct")
    change = (
        f", {_num(delta):+.3f} pp since {_day(rows[-1]['previous_date']):%d %b}" if delta is not None else ""
    )
    _titles(
        fig,
        ax,
        f"{ticker} weight in {index}" + (f" ({company})" if company else ""),
        f"{_span(days)} · last {weights[-1]:.3f}%{change}",
    )
    return Drawn(fig, "weight-history", len(rows))


def sectors(
    settings: Settings,
    *,
    index: str = "IBOV",
    date: str | None = None,
    engine: Any = None,
) -> Drawn:
    """Horizontal bars of each sector's weight in an index on a day, largest on top."""
    result = _query(settings, "sector-weights", {"index": index, "date": date}, engine)
    rows = result.records()
    index = result.params["index"]
    if not rows:
        when = f" on {date}" if date and date != "latest" else ""
        raise NoData(
            f"no data for {index}{when}", hint=result.why or "`ibov status` shows what the lake holds."
        )
    rows = sorted(rows, key=lambda r: _num(r["sector_weight_pct"]))  # barh draws bottom-up
    names = [str(r["sector"]) for r in rows]
    weights = [_num(r["sector_weight_pct"]) for r in rows]
    members = [int(r["sector_members"]) for r in rows]
    day = _day(rows[0]["session_date"])

    height = max(3.2, 1.2 + 0.42 * len(rows))
    fig, ax = _figure(height=height)
    colors = [BLUE if i == len(rows) - 1 else "#7fa6c9" for i in range(len(rows))]
    bars = ax.barh(names, weights, color=colors, height=0.66)
    top = max(weights)
    for bar, w, n in zip(bars, weights, members, strict=True):
        ax.text(
            bar.get_width() + top * 0.012,
            bar.get_y() + bar.get_height() / 2,
            f"{w:.1f}%  ·  {n} {'stock' if n == 1 else 'stocks'}",
            va="center",
            fontsize=9,
            color=INK,
        )
    ax.set_xlim(0, top * 1.28)
    ax.set_xlabel("Weight in the index (%)")
    _percent_axis(ax, axis="x", decimals=0)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color=GRID, linewidth=0.8)
    ax.tick_params(axis="y", length=0, labelsize=9.5)
    ax.spines["left"].set_visible(False)
    _titles(
        fig,
        ax,
        f"{index} sector weights, {day:%d %b %Y}",
        f"{len(rows)} sectors · {sum(members)} constituents · largest: {names[-1]} {weights[-1]:.1f}%",
    )
    return Drawn(fig, "sectors", len(rows))


def concentration(
    settings: Settings,
    *,
    index: str = "IBOV",
    from_: str | None = None,
    to: str | None = None,
    engine: Any = None,
) -> Drawn:
    """Share of the 5 and 10 largest constituents (top panel) and the HHI (bottom panel) over time."""
    result = _query(settings, "concentration", {"index": index, "from": from_, "to": to}, engine)
    rows = result.records()
    index = result.params["index"]
    if not rows:
        raise NoData(
            f"no data for {index}{_window(from_, to)}",
            hint=result.why or "`ibov status` shows what the lake holds.",
        )
    days = [_day(r["session_date"]) for r in rows]
    top5 = [_num(r["top5_weight_pct"]) for r in rows]
    top10 = [_num(r["top10_weight_pct"]) for r in rows]
    hhi = [_num(r["hhi"]) for r in rows]
    members = int(rows[-1]["members"])
    marker = "o" if len(rows) <= 40 else None

    fig, (ax1, ax2) = _figure(panels=2)
    ax1.plot(days, top10, color=TEAL, linewidth=2.0, marker=marker, markersize=3.5, label="10 largest")
    ax1.plot(days, top5, color=BLUE, linewidth=2.0, marker=marker, markersize=3.5, label="5 largest")
    ax1.set_ylabel("Share of the index (%)")
    _percent_axis(ax1, decimals=0)
    ax1.margins(y=0.25)
    low, high = ax1.get_ylim()
    ax1.set_ylim(low, min(high, 101.0))  # no share above 100%
    if top10[-1] - top5[-1] < 0.01:
        _label_last(ax1, days[-1], top5[-1], f"top 5 = top 10: {top5[-1]:.1f}%", BLUE)
    else:
        close = (top10[-1] - top5[-1]) < 0.08 * (ax1.get_ylim()[1] - ax1.get_ylim()[0])
        _label_last(ax1, days[-1], top10[-1], f"top 10: {top10[-1]:.1f}%", TEAL, dy=7 if close else 0)
        _label_last(ax1, days[-1], top5[-1], f"top 5: {top5[-1]:.1f}%", BLUE, dy=-7 if close else 0)

    ax2.plot(days, hhi, color=ORANGE, linewidth=2.0, marker=marker, markersize=3.5)
    ax2.fill_between(days, hhi, min(hhi), color=ORANGE, alpha=0.08, linewidth=0)
    equal = 10000 / hhi[-1] if hhi[-1] else 0
    _label_last(ax2, days[-1], hhi[-1], f"HHI {hhi[-1]:,.0f}\n≈ {equal:.1f} equal weights", ORANGE)
    ax2.set_ylabel("HHI (0–10,000)")
    ax2.yaxis.set_major_formatter(_formatter(lambda v: f"{v:,.0f}"))
    ax2.margins(y=0.25)
    _date_axis(ax2, days)
    _titles(
        fig,
        ax1,
        f"{index} concentration",
        f"{_span(days)} · {members} constituents on the last day · "
        "HHI = sum of squared weights in % (10,000 = a single stock)",
    )
    return Drawn(fig, "concentration", len(rows))


def levels(
    settings: Settings,
    *,
    index: str = "IBOV",
    from_: str | None = None,
    to: str | None = None,
    log: bool = False,
    engine: Any = None,
) -> Drawn:
    """An index's official closing level over time, its falls from the running peak shaded; ``log`` draws
    the level on a log scale (for spans of many years)."""
    result = _query(settings, "index-levels", {"index": index, "from": from_, "to": to}, engine)
    rows = [r for r in result.records() if r["current_scale"]]
    index = result.params["index"]
    if not rows:
        raise NoData(
            f"no levels of {index}{_window(from_, to)}",
            hint=result.why or f"`ibov scrape levels --index {index} --since 2018` stores them.",
        )
    days = [_day(r["session_date"]) for r in rows]
    values = [_num(r["level"]) for r in rows]
    peaks: list[float] = []
    for v in values:
        peaks.append(max(v, peaks[-1]) if peaks else v)
    falls = [(v / p - 1) * 100 for v, p in zip(values, peaks, strict=True)]
    deepest = min(range(len(falls)), key=lambda i: falls[i])

    fig, ax = _figure()
    ax.plot(days, values, color=BLUE, linewidth=1.6 if len(rows) > 60 else 2.0)
    ax.fill_between(
        days, values, peaks, color=ORANGE, alpha=0.22, linewidth=0, label="below the previous peak"
    )
    if log:
        from matplotlib.ticker import LogLocator, NullFormatter

        ax.set_yscale("log")
        # ticks at 1, 2 and 5 x 10^n, written like the linear axis (not 2 x 10^5)
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(_formatter(lambda v: f"{v:,.0f}"))
    if falls[deepest] < -0.5:
        ax.annotate(
            f"deepest fall {falls[deepest]:.1f}%\n{days[deepest]:%d %b %Y}",
            (days[deepest], values[deepest]),
            xytext=(0, -14),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=8.5,
            color=MUTED,
        )
    _label_last(ax, days[-1], values[-1], f"{values[-1]:,.0f}", BLUE)
    ax.set_ylabel("Closing level" + (" (log scale)" if log else ""))
    _date_axis(ax, days)
    ax.margins(x=0.02, y=0.12)
    ax.legend(loc="upper left", frameon=False, fontsize=8.5)
    change = (values[-1] / values[0] - 1) * 100
    _titles(
        fig,
        ax,
        f"{index} official closing level",
        f"{_span(days)} · {change:+.1f}% over the span · deepest fall {falls[deepest]:.1f}% · source: B3",
    )
    return Drawn(fig, "levels", len(rows))


def rebalance(
    settings: Settings,
    *,
    index: str = "IBOV",
    date: str | None = None,
    limit: int = 10,
    engine: Any = None,
) -> Drawn:
    """The latest stored preview against the daily portfolio (the saved query rebalance-preview): the
    names entering (green) and leaving (red), then the ``limit`` largest weight changes of the staying
    ones, as horizontal bars of the change in weight (percentage points)."""
    result = _query(settings, "rebalance-preview", {"index": index, "date": date}, engine)
    rows = result.records()
    index = result.params["index"]
    if not rows:
        raise NoData(
            f"no preview of {index} to compare with its portfolio",
            hint=result.why or f"`ibov scrape preview --index {index}` stores the current preview.",
        )
    entering = [r for r in rows if r["change"] == "entering"]
    leaving = [r for r in rows if r["change"] == "leaving"]
    staying = sorted(
        (r for r in rows if r["change"] == "staying" and _num(r["delta_weight_pct"]) != 0),
        key=lambda r: (-abs(_num(r["delta_weight_pct"])), r["ticker"]),
    )[: max(limit, 0)]
    shown = entering + leaving + staying
    labels = [
        f"{r['ticker']}  (in)"
        if r["change"] == "entering"
        else f"{r['ticker']}  (out)"
        if r["change"] == "leaving"
        else r["ticker"]
        for r in shown
    ]
    deltas = [_num(r["delta_weight_pct"]) for r in shown]
    colors = [
        GREEN if r["change"] == "entering" else RED if r["change"] == "leaving" else BLUE for r in shown
    ]
    height = max(3.2, min(HEIGHT_IN * 1.6, 1.4 + 0.32 * max(len(shown), 1)))
    fig, ax = _figure(height=height)
    ys = list(range(len(shown)))[::-1]
    if shown:
        ax.barh(ys, deltas, color=colors, height=0.7)
        ax.set_yticks(ys, labels)
        span = max(abs(d) for d in deltas) or 1.0
        for y, d, r in zip(ys, deltas, shown, strict=True):
            if r["change"] == "staying":
                text = (
                    f"{d:+.3f}  ({_num(r['current_weight_pct']):.3f} → {_num(r['preview_weight_pct']):.3f})"
                )
            else:
                text = f"{d:+.3f}"
            ax.annotate(
                text,
                (d, y),
                xytext=(4 if d >= 0 else -4, 0),
                textcoords="offset points",
                ha="left" if d >= 0 else "right",
                va="center",
                fontsize=8,
                color=INK,
            )
        ax.set_xlim(-span * 1.6, span * 1.6)
    else:
        ax.text(0.5, 0.5, "no weight changes", transform=ax.transAxes, ha="center", color=MUTED)
        ax.set_yticks([])
    ax.axvline(0, color=MUTED, linewidth=0.8)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color=GRID, linewidth=0.8)
    ax.set_xlabel("Change in weight (percentage points): preview − current")
    first = rows[0]
    day = first["portfolio_date"]
    _titles(
        fig,
        ax,
        f"{index} next rebalance: preview {first['period']} vs the portfolio of {day}",
        f"{len(entering)} entering · {len(leaving)} leaving · {first['n_staying']} staying "
        f"(the {len(staying)} largest weight changes shown) · preview collected on "
        f"{first['preview_collected_on']} · source: B3",
    )
    return Drawn(fig, "rebalance", len(shown))


# -- helpers --------------------------------------------------------------------------------------


def _query(settings: Settings, name: str, params: dict[str, Any], engine: Any) -> Any:
    from ibovcli import pipeline

    given = {k: v for k, v in params.items() if v is not None}
    return pipeline.query(settings, name, given, engine=engine)


def _format(out: Path) -> str:
    from ibovcli.outputs import check_output

    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise UsageError(
            f"cannot tell the image type of {out.name!r}",
            hint="Give --out a name ending in .png or .svg.",
        )
    check_output(out)
    return fmt


def _window(from_: str | None, to: str | None) -> str:
    parts = []
    if from_ and from_ not in ("first", "earliest"):
        parts.append(f"from {from_}")
    if to and to != "latest":
        parts.append(f"to {to}")
    return (" " + " ".join(parts)) if parts else ""


def _day(value: Any) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float | Decimal) else float(str(value))


def _span(days: list[date]) -> str:
    sessions = f"{len(days)} session{'s' if len(days) != 1 else ''}"
    if days[0] == days[-1]:
        return f"{days[0]:%d %b %Y} · {sessions}"
    return f"{days[0]:%d %b %Y} – {days[-1]:%d %b %Y} · {sessions}"


def _figure(*, height: float = HEIGHT_IN, panels: int = 1) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, height if panels == 1 else HEIGHT_IN * 1.25), dpi=DPI)
    fig.set_layout_engine("constrained", h_pad=0.12, w_pad=0.12)
    if panels == 1:
        axes = fig.subplots()
        _style(axes)
    else:
        axes = fig.subplots(panels, 1, sharex=True, height_ratios=[3, 2])
        for ax in axes:
            _style(ax)
    return fig, axes


def _style(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(MUTED)
    ax.tick_params(colors=INK, labelsize=9)
    ax.yaxis.label.set_color(INK)
    ax.xaxis.label.set_color(INK)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)


def _titles(fig: Any, ax: Any, title: str, subtitle: str) -> None:
    fig.suptitle(title, x=0.01, ha="left", fontsize=14, fontweight="bold", color=INK)
    ax.set_title(subtitle, loc="left", fontsize=9.5, color=MUTED, pad=10)


def _formatter(fn: Callable[[float], str]) -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: fn(v))


def _percent_axis(ax: Any, *, axis: str = "y", decimals: int = 1) -> None:
    from matplotlib.ticker import PercentFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(PercentFormatter(xmax=100, decimals=decimals))


def _distinct_percent_labels(ax: Any) -> None:
    """Percent axes get as many decimals as their ticks need to read differently (a narrow range
    would otherwise print "13.9%" four times), at most three."""
    from matplotlib.ticker import PercentFormatter

    for axis, (low, high) in ((ax.yaxis, ax.get_ylim()), (ax.xaxis, ax.get_xlim())):
        formatter = axis.get_major_formatter()
        if not isinstance(formatter, PercentFormatter):
            continue
        ticks = [t for t in axis.get_majorticklocs() if min(low, high) <= t <= max(low, high)]
        for decimals in range(int(formatter.decimals or 0), 4):
            if len({f"{t:.{decimals}f}" for t in ticks}) == len(ticks):
                formatter.decimals = decimals
                break


def spaced_ticks(days: list[date], *, min_gap: float = 0.075) -> list[date]:
    """The stored days that get a labelled tick: the last one always, then earlier ones only when at least
    ``min_gap`` of the axis away from every kept one, so that labels never overlap however the stored
    days are spaced (two consecutive sessions, then a gap of two years)."""
    distinct = sorted(set(days))
    if len(distinct) < 2:
        return distinct
    span = (distinct[-1] - distinct[0]).days or 1
    kept = [distinct[-1]]
    for d in reversed(distinct[:-1]):
        if (kept[-1] - d).days / span >= min_gap:
            kept.append(d)
    return sorted(kept)


def _date_axis(ax: Any, days: list[date]) -> None:
    import matplotlib.dates

    mdates: Any = matplotlib.dates  # its functions carry no type annotations

    distinct = sorted(set(days))
    if len(distinct) <= 12:
        # Few sessions: a tick on each one, so that no weekend or holiday looks like data.
        ax.set_xticks(spaced_ticks(distinct))
        years = {d.year for d in distinct}
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b" if len(years) == 1 else "%d %b\n%Y"))
        if len(distinct) == 1:
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %Y"))
    else:
        locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=True))
    ax.set_xlabel("Session date")


def _label_last(ax: Any, day: date, value: float, text: str, color: str, dy: float = 0) -> None:
    ax.plot([day], [value], marker="o", markersize=6, color=color, zorder=5)
    ax.annotate(
        text,
        (day, value),
        xytext=(8, dy),
        textcoords="offset points",
        va="center",
        ha="left",
        fontsize=9,
        fontweight="bold",
        color=color,
        annotation_clip=False,
    )


def _metadata(fmt: str) -> dict[str, Any]:
    # Reproducible files: no creation date (PNG's "Software" and SVG's "Date" would change every run).
    if fmt == "svg":
        return {"Date": None, "Creator": "ibov"}
    return {"Software": "ibov"}
