"""Reconciliation: does every stored portfolio reproduce B3's official level and B3's own weights?

B3 computes an index as ``sum(price x theoretical quantity) / reductor`` (``shared/docs/b3-history.md``
section 4), and the weights (``part``) of session D's portfolio from the closes of the previous
session. So, with the quotes (COTAHIST) of D and D-1 stored:

* **level**: D's closes x D's quantities / D's reductor must equal B3's official level of D, within
  :data:`LEVEL_TOLERANCE_PCT` (0.001 %; on real data the identity held to 0.003 points of 8,012);
* **weights**: D-1's closes x D's quantities, as shares of their sum, must equal B3's weights within
  :data:`WEIGHT_TOLERANCE_PP` (0.001 percentage points: B3 rounds weights to three decimals, and real
  data reproduced them to 0.0009 pp), over the constituents without a corporate-event flag (EJ, ED...:
  B3 uses ex-theoretical prices for them, which the quotes do not carry).

:func:`reconcile` runs the saved query ``reconcile`` (the same SQL on DuckDB and Athena) and returns one
:class:`DayCheck` per stored portfolio day; :func:`culprits` lists a day's constituents whose weight is
the furthest from the one the closes give. ``ibov verify`` calls :func:`verify_index` for every index
with stored portfolios: a day off by more than a tolerance is listed with its largest culprits; a day
whose inputs are not all stored (no quotes, no level) is counted as not checked, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

#: Largest |computed level / official level - 1| x 100 accepted.
LEVEL_TOLERANCE_PCT = 0.001
#: Largest |weight from the previous closes - B3's weight| accepted, in percentage points.
WEIGHT_TOLERANCE_PP = 0.001


@dataclass(frozen=True)
class Culprit:
    """One constituent of a day whose weight is off: B3's weight against the one from the closes."""

    ticker: str
    corporate_event: str | None
    b3_weight_pct: float
    computed_weight_pct: float
    diff_pp: float

    def as_json(self) -> dict[str, Any]:
        return {
            "ticker": self.ticker,
            "corporate_event": self.corporate_event,
            "b3_weight_pct": self.b3_weight_pct,
            "computed_weight_pct": self.computed_weight_pct,
            "diff_pp": self.diff_pp,
        }


@dataclass(frozen=True)
class DayCheck:
    """One row of the ``reconcile`` query, judged against the tolerances."""

    index: str
    session_date: date
    previous_session_date: date | None
    constituents: int
    official_level: float | None
    computed_level: float | None
    level_diff_pct: float | None
    weights_checked: int
    max_weight_diff_pp: float | None
    worst_weight_ticker: str | None
    missing: str | None
    culprits: tuple[Culprit, ...] = field(default=())

    @property
    def level_off(self) -> bool:
        return self.level_diff_pct is not None and abs(self.level_diff_pct) > LEVEL_TOLERANCE_PCT

    @property
    def weights_off(self) -> bool:
        return self.max_weight_diff_pp is not None and self.max_weight_diff_pp > WEIGHT_TOLERANCE_PP

    @property
    def off(self) -> bool:
        """The level or a weight is off by more than its tolerance."""
        return self.level_off or self.weights_off

    @property
    def checked(self) -> bool:
        """Both the level and the weights could be checked (every input was stored)."""
        return self.level_diff_pct is not None and self.weights_checked > 0

    def problems(self) -> list[str]:
        out = []
        if self.level_off:
            out.append(
                f"level {self.computed_level} computed vs {self.official_level} official "
                f"({self.level_diff_pct:+.6f} %, tolerance {LEVEL_TOLERANCE_PCT} %)"
            )
        if self.weights_off:
            out.append(
                f"weight of {self.worst_weight_ticker} off by {self.max_weight_diff_pp:.6f} pp "
                f"(tolerance {WEIGHT_TOLERANCE_PP} pp)"
            )
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "session_date": self.session_date.isoformat(),
            "previous_session_date": self.previous_session_date.isoformat()
            if self.previous_session_date
            else None,
            "constituents": self.constituents,
            "official_level": self.official_level,
            "computed_level": self.computed_level,
            "level_diff_pct": self.level_diff_pct,
            "weights_checked": self.weights_checked,
            "max_weight_diff_pp": self.max_weight_diff_pp,
            "worst_weight_ticker": self.worst_weight_ticker,
            "missing": self.missing,
            "off": self.off,
            "problems": self.problems(),
            "culprits": [c.as_json() for c in self.culprits],
        }


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _day(value: Any) -> date | None:
    if value is None:
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def reconcile(
    settings: Any,
    index: str = "IBOV",
    *,
    day: str | None = None,
    start: str | None = None,
    end: str | None = None,
    engine: Any = None,
) -> list[DayCheck]:
    """One :class:`DayCheck` per stored portfolio day of ``index`` (``day``, or ``start``..``end``,
    default every stored day), from the saved query ``reconcile``."""
    from ibovcli import pipeline

    params = {"index": index}
    if day:
        params["date"] = day
    if start:
        params["from"] = start
    if end:
        params["to"] = end
    result = pipeline.query(settings, "reconcile", params, engine=engine)
    out = []
    for r in result.records():
        out.append(
            DayCheck(
                index=index,
                session_date=_day(r["session_date"]) or date.min,
                previous_session_date=_day(r["previous_session_date"]),
                constituents=int(r["constituents"]),
                official_level=_float(r["official_level"]),
                computed_level=_float(r["computed_level"]),
                level_diff_pct=_float(r["level_diff_pct"]),
                weights_checked=int(r["weights_checked"] or 0),
                max_weight_diff_pp=_float(r["max_weight_diff_pp"]),
                worst_weight_ticker=r["worst_weight_ticker"],
                missing=r["missing"],
            )
        )
    return out


#: The weights of one day's constituents from the previous session's closes, against B3's.
CULPRITS_SQL = """
WITH members AS (
    SELECT t.ticker, t.corporate_event, t.weight_pct, t.theoretical_qty
    FROM ${portfolio} AS t
    WHERE t.index_code = :index AND t.dt = :date
),
valued AS (
    SELECT m.ticker, m.corporate_event, m.weight_pct, q.close * m.theoretical_qty AS value
    FROM members AS m
    LEFT JOIN ${quotes} AS q
        ON q.session_date = CAST(:previous AS DATE)
        AND q.ticker = m.ticker
)
SELECT
    ticker,
    corporate_event,
    CAST(weight_pct AS DOUBLE) AS b3_weight_pct,
    CAST(value AS DOUBLE) / CAST(sum(value) OVER () AS DOUBLE) * 100 AS computed_weight_pct
FROM valued
"""


def culprits(settings: Any, check: DayCheck, *, limit: int = 3, engine: Any = None) -> tuple[Culprit, ...]:
    """The ``limit`` constituents of ``check``'s day whose weight is the furthest from the one the
    previous closes give (flagged ones included, with their flag), largest difference first."""
    from ibovcli import pipeline

    if check.previous_session_date is None or not check.weights_checked:
        return ()
    params = {
        "index": check.index,
        "date": check.session_date.isoformat(),
        "previous": check.previous_session_date.isoformat(),
    }
    with pipeline._engine(settings, engine, lambda _m: None) as eng:
        _cols, rows = eng.sql(CULPRITS_SQL, params, what=f"the weights of {check.index} {check.session_date}")
    found = [
        Culprit(str(t), ev, float(b3), float(c), round(abs(float(c) - float(b3)), 6))
        for t, ev, b3, c in rows
        if c is not None and b3 is not None
    ]
    found.sort(key=lambda c: (-c.diff_pp, c.ticker))
    return tuple(found[:limit])


def verify_index(
    settings: Any, index: str, *, engine: Any = None, limit: int = 3
) -> tuple[list[DayCheck], int]:
    """Every stored portfolio day of ``index`` that is off by more than a tolerance (with its largest
    culprits), and how many days could be checked at all."""
    days = reconcile(settings, index, engine=engine)
    off = []
    for d in days:
        if d.off:
            found = culprits(settings, d, limit=limit, engine=engine) if d.weights_off else ()
            off.append(_with_culprits(d, found))
    return off, sum(1 for d in days if d.checked)


def _with_culprits(d: DayCheck, found: Sequence[Culprit]) -> DayCheck:
    from dataclasses import replace

    return replace(d, culprits=tuple(found))
