"""B3 trading days: weekdays that are not B3 (BVMF) market holidays.

The holiday list is the ``holidays`` package's financial calendar for B3 (market code ``BVMF``):
national holidays, Carnival Monday and Tuesday, Good Friday, Corpus Christi, Christmas Eve and the
last business day of the year. For 1990-2040 it is read from a table generated from the package
(``tools/b3_calendar.py``; a test checks they agree), which spares each command the package's import.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

#: The ``holidays`` financial market code of B3 (Brasil, Bolsa, Balcão).
MARKET = "BVMF"


@functools.lru_cache(maxsize=64)
def _holidays(year: int) -> Any:
    """``{date: name}`` of the year: from the generated table (``ibovcli/b3_holidays.py``, checked
    against the package by the tests), or from the ``holidays`` package outside the table's years."""
    from ibovcli import b3_holidays

    if b3_holidays.FIRST_YEAR <= year <= b3_holidays.LAST_YEAR:
        prefix = f"{year:04d}-"
        return {date.fromisoformat(d): n for d, n in b3_holidays.HOLIDAYS.items() if d.startswith(prefix)}
    import holidays

    return holidays.financial_holidays(MARKET, years=year)


def holiday_name(d: date) -> str | None:
    """The B3 holiday on ``d`` (e.g. ``'Carnival'``), or None."""
    name = _holidays(d.year).get(d)
    return str(name) if name else None


def is_trading_day(d: date) -> bool:
    """True when B3 holds a session on ``d``: a weekday that is not a B3 holiday."""
    return d.weekday() < 5 and d not in _holidays(d.year)


def trading_days(start: date, end: date) -> list[date]:
    """B3 trading days in ``[start, end]``, in order (empty when ``end < start``)."""
    return list(_trading_days(start, end))


@functools.lru_cache(maxsize=256)
def _trading_days(start: date, end: date) -> tuple[date, ...]:
    """Computed once per span and command (``status`` asks for the same spans index after index)."""
    out = []
    d = start
    while d <= end:
        if is_trading_day(d):
            out.append(d)
        d += timedelta(days=1)
    return tuple(out)


def holidays_between(start: date, end: date) -> list[date]:
    """B3's holidays in ``[start, end]`` (weekdays or not), in order."""
    return sorted(d for year in range(start.year, end.year + 1) for d in _holidays(year) if start <= d <= end)


def missing_days(present_days: Iterable[date]) -> list[date]:
    """Trading days between the first and the last of ``present_days`` that are not among them."""
    present = set(present_days)
    if not present:
        return []
    return [d for d in trading_days(min(present), max(present)) if d not in present]
