"""Checks a parsed snapshot must pass before anything is written (B3's own invariants)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from ibovcli import layout
from ibovcli.b3 import Portfolio
from ibovcli.errors import SnapshotError

WEIGHT_TOLERANCE = Decimal("0.01")
#: B3 publishes the next session's portfolio the evening before; over a long holiday weekend that is
#: at most a few days ahead. Anything further in the future is not a real snapshot.
MAX_DAYS_AHEAD = 7
FIRST_YEAR = 1990
#: The most constituents a snapshot may have (IBOV has about 85, the broadest index, IGCX, about 250; B3
#: lists about 540 stocks in all). Refining costs memory per ticker partition: 2,000 rows peak at about
#: 350 MB, 10,000 at 1.1 GB; IBOV_MAX_ROWS raises the cap.
MAX_ROWS = 2000


def problems(p: Portfolio, *, today: date | None = None, max_rows: int = MAX_ROWS) -> list[str]:
    """Every problem found in ``p``, as short sentences; empty when the snapshot is sound."""
    if len(p.holdings) > max_rows:
        return [f"{len(p.holdings):,} rows: more than the {max_rows:,} any B3 index has (IBOV_MAX_ROWS)"]
    out: list[str] = []
    today = today or p.collected_at.date()
    if p.session_date.year < FIRST_YEAR:
        out.append(f"session date {p.session_date} is before {FIRST_YEAR}")
    if p.session_date > today + timedelta(days=MAX_DAYS_AHEAD):
        out.append(f"session date {p.session_date} is more than {MAX_DAYS_AHEAD} days after collection")
    if p.session_date.weekday() >= 5:
        out.append(f"session date {p.session_date} is a {p.session_date:%A}, not a trading day")
    else:
        from ibovcli.tradingdays import holiday_name

        holiday = holiday_name(p.session_date)
        if holiday:
            out.append(f"session date {p.session_date} is a B3 holiday ({holiday}), not a trading day")
    n = len(p.holdings)
    if n == 0:
        out.append("the portfolio has no rows")
    if p.total_records is not None and n != p.total_records:
        out.append(f"{n} rows but page.totalRecords says {p.total_records} (missing pages?)")
    seen: set[str] = set()
    for i, h in enumerate(p.holdings, start=1):
        if not h.cod:
            out.append(f"row {i} has an empty ticker")
        elif not layout.is_ticker(h.cod):
            out.append(f"row {i} ticker {h.cod!r} is not a B3 ticker")
        elif h.cod in seen:
            out.append(f"ticker {h.cod} is duplicated")
        seen.add(h.cod)
        if not h.asset:
            out.append(f"row {i} ({h.cod}) has an empty company name")
        if not h.type.strip():
            out.append(f"row {i} ({h.cod}) has an empty type")
        if h.qty < 0:
            out.append(f"row {i} ({h.cod}) has a negative quantity {h.qty}")
        if h.part < 0:
            out.append(f"row {i} ({h.cod}) has a negative weight {h.part}")
        if h.part > 100:
            out.append(f"row {i} ({h.cod}) has a weight over 100%: {h.part}")
    if n:
        weights = sum((h.part for h in p.holdings), Decimal(0))
        if abs(weights - 100) > WEIGHT_TOLERANCE:
            out.append(f"weights sum to {weights}, not 100 ± {WEIGHT_TOLERANCE}")
        qty = sum(h.qty for h in p.holdings)
        if qty != p.total_qty:
            out.append(f"quantities sum to {qty:,} but the header total is {p.total_qty:,}")
    if p.total_qty < 0:
        out.append(f"the total quantity is negative: {p.total_qty}")
    if p.reductor <= 0:
        out.append(f"the reductor must be positive, got {p.reductor}")
    return out


def validate(p: Portfolio, *, today: date | None = None, max_rows: int = MAX_ROWS) -> Portfolio:
    """Return ``p`` if it is sound; raise :class:`SnapshotError` with the first problem otherwise."""
    found = problems(p, today=today, max_rows=max_rows)
    if found:
        more = (
            f" (and {len(found) - 1} more problem{'s' if len(found) > 2 else ''})" if len(found) > 1 else ""
        )
        raise SnapshotError(f"{p.index} {p.session_date}: {found[0]}{more}")
    return p


#: A JSON answer names no index: when its tickers overlap the claimed index's nearest stored day by less
#: than this share (of the smaller set), the claim is refused. Indices nested in others (IBOV in IBXX)
#: cannot be told apart this way; unrelated ones (IBOV and SMLL share almost nothing) can.
MIN_OVERLAP = 0.5
#: ... and only against a stored day this close (three years: membership drifts a few names per rebalance).
MAX_OVERLAP_GAP_DAYS = 1100


def looks_like(
    index: str, tickers: Sequence[str], day: date, stored_day: date, stored: Sequence[str]
) -> None:
    """Refuse ``tickers`` as ``index``'s portfolio of ``day`` when they share too little with what the
    lake holds of ``index`` on ``stored_day`` (:class:`SnapshotError`, exit 5)."""
    if not tickers or not stored or abs((day - stored_day).days) > MAX_OVERLAP_GAP_DAYS:
        return
    common = len(set(tickers) & set(stored))
    share = common / min(len(set(tickers)), len(set(stored)))
    if share < MIN_OVERLAP:
        raise SnapshotError(
            f"these {len(tickers)} constituents do not look like {index}'s: only {common} of them are in "
            f"{index} on {stored_day.isoformat()} ({share:.0%})",
            hint="A JSON answer does not name its index: check --index (`ibov indices` lists the codes).",
        )
