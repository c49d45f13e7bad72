"""The quotes charts (registered in :mod:`ibovcli.charts`): ``contribution``, what moved an index on a
day, from the saved query ``contribution`` (so it works on both engines)."""

from __future__ import annotations

from typing import Any

from ibovcli import charts
from ibovcli.charts import BLUE, GRID, INK, MUTED, ORANGE, TEAL, Drawn
from ibovcli.errors import NoData
from ibovcli.settings import Settings


def contribution(
    settings: Settings,
    *,
    index: str = "IBOV",
    date: str | None = None,
    top: int = 15,
    engine: Any = None,
) -> Drawn:
    """Horizontal bars of the ``top`` largest contributions to the index's return on a day (percentage
    points, labelled with index points), the others summed in one bar, and a bar for the total;
    the subtitle gives the official return and the residual when the levels are stored."""
    result = charts._query(settings, "contribution", {"index": index, "date": date}, engine)
    rows = result.records()
    index = result.params["index"]
    usable = [r for r in rows if r["contribution_pct"] is not None]
    if not usable:
        missing = next((r["missing"] for r in rows if r["missing"]), None)
        when = f" on {rows[0]['session_date']}" if rows else (f" on {date}" if date else "")
        raise NoData(
            f"no contribution of {index}{when}" + (f": {missing}" if missing else ""),
            hint=result.why or "`ibov scrape quotes --date D` stores a session's quotes.",
        )
    day = charts._day(usable[0]["session_date"])
    previous = charts._day(usable[0]["previous_session_date"])
    shown = usable[:top]
    rest = usable[top:]
    labels = [str(r["ticker"]) for r in shown]
    values = [charts._num(r["contribution_pct"]) for r in shown]
    points: list[float | None] = [
        None if r["contribution_points"] is None else charts._num(r["contribution_points"]) for r in shown
    ]
    if rest:
        labels.append(f"{len(rest)} others")
        values.append(sum(charts._num(r["contribution_pct"]) for r in rest))
        pts = [r["contribution_points"] for r in rest]
        points.append(None if any(p is None for p in pts) else sum(charts._num(p) for p in pts))
    total = sum(values)
    labels.append("total")
    values.append(total)
    all_points = [r["contribution_points"] for r in usable]
    points.append(None if any(p is None for p in all_points) else sum(charts._num(p) for p in all_points))

    # barh draws bottom-up: the total at the bottom, the largest contribution on top
    labels, values, points = labels[::-1], values[::-1], points[::-1]
    height = max(3.4, 1.4 + 0.34 * len(labels))
    fig, ax = charts._figure(height=height)
    colors = [
        BLUE if i == 0 else "#9aa5b1" if lab.endswith(" others") else (TEAL if v >= 0 else ORANGE)
        for i, (lab, v) in enumerate(zip(labels, values, strict=True))
    ]
    bars = ax.barh(labels, values, color=colors, height=0.66)
    span = max(abs(v) for v in values) or 1.0
    for bar, v, p in zip(bars, values, points, strict=True):
        text = f"{v:+.3f} pp" + ("" if p is None else f"  ({p:+,.1f} pts)")
        x = bar.get_width()
        ax.text(
            x + (span * 0.015 if v >= 0 else -span * 0.015),
            bar.get_y() + bar.get_height() / 2,
            text,
            va="center",
            ha="left" if v >= 0 else "right",
            fontsize=8.5,
            color=INK,
        )
    ax.axvline(0, color=MUTED, linewidth=0.8)
    ax.set_xlim(-span * 1.55, span * 1.55)
    ax.set_xlabel("Contribution to the index's return (percentage points)")
    ax.xaxis.set_major_formatter(charts._formatter(lambda v: f"{v:+.2f}" if v else "0"))
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color=GRID, linewidth=0.8)
    ax.tick_params(axis="y", length=0, labelsize=9)
    ax.spines["left"].set_visible(False)
    official = usable[0]["official_return_pct"]
    residual = usable[0]["residual_pp"]
    sub = f"{previous:%d %b} close → {day:%d %b %Y} close · {len(usable)} constituents · total {total:+.3f}%"
    if official is not None and residual is not None:
        res = charts._num(residual)
        sub += (
            f" · official {charts._num(official):+.3f}% · residual {0.0 if abs(res) < 5e-4 else res:+.3f} pp"
        )
    else:
        sub += " · official level not stored"
    if len(usable) < len(rows):
        sub += f" · {len(rows) - len(usable)} without quotes"
    charts._titles(fig, ax, f"What moved {index} on {day:%d %b %Y}", sub)
    return Drawn(fig, "contribution", len(usable))
