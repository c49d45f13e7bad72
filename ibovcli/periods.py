"""B3's 4-month portfolio periods (Jan-Apr, May-Aug, Sep-Dec), Brasília's today and the next rebalance.

Kept apart from :mod:`ibovcli.previews` (which parses and fetches B3's period portfolios) so that
``ibov status`` reads the next rebalance without importing the parsers and the HTTP code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from ibovcli.errors import ConfigError

FIRST_MONTHS = (1, 5, 9)
#: B3 is in Brasília (UTC-3, no daylight saving since 2019): the collection day is Brasília's.
BRASILIA = timezone(timedelta(hours=-3), "BRT")


class BadPeriod(ConfigError, ValueError):
    """A period given by the user is not one of B3's 4-month periods."""

    hint = "Pass --period YYYY-MM with the period's first month: 01 (Jan-Apr), 05 (May-Aug) or 09 (Sep-Dec)."


_MONTH_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})(?:\.\.(\d{1,2}))?\s*$")


@dataclass(frozen=True, order=True)
class Period:
    """One of B3's 4-month portfolio periods: Jan-Apr, May-Aug or Sep-Dec of ``year``.

    Its :attr:`label` is ``"2025-01..04"``: first month and last month, zero-padded, so labels sort in
    time order as text and read as a range. :meth:`from_month` accepts ``"2025-01"`` and the label.
    """

    year: int
    first_month: int

    def __post_init__(self) -> None:
        if self.first_month not in FIRST_MONTHS:
            raise BadPeriod(
                f"a B3 period starts in January, May or September, not in month {self.first_month}"
            )
        if not 1990 <= self.year <= 2999:
            raise BadPeriod(f"year {self.year} is out of range")

    @property
    def last_month(self) -> int:
        return self.first_month + 3

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.first_month:02d}..{self.last_month:02d}"

    @property
    def month(self) -> str:
        """``"2025-01"``: the form ``--period`` takes."""
        return f"{self.year:04d}-{self.first_month:02d}"

    def __str__(self) -> str:
        return self.label

    @classmethod
    def from_month(cls, text: str) -> Period:
        """``"2025-05"`` (or the label ``"2025-05..08"``) -> May-Aug 2025; other months are refused."""
        m = _MONTH_RE.match(text)
        if not m:
            raise BadPeriod(f"period {text!r} is not YYYY-MM (e.g. 2025-05 for May-Aug 2025)")
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise BadPeriod(f"period {text!r} has no month {month}")
        if month not in FIRST_MONTHS:
            first = max(f for f in FIRST_MONTHS if f <= month)
            raise BadPeriod(
                f"period {text!r} does not start a B3 period (January, May or September); "
                f"month {month:02d} is in {year:04d}-{first:02d}"
            )
        period = cls(year, month)
        if m.group(3) is not None and int(m.group(3)) != period.last_month:
            raise BadPeriod(f"period {text!r} does not end in month {period.last_month:02d}")
        return period

    @classmethod
    def containing(cls, d: date) -> Period:
        """The period whose portfolio is in force on ``d``: periods switch on :attr:`starts_on` (a
        Monday), so the days of January before its first Monday belong to the previous Sep-Dec."""
        period = cls(d.year, max(f for f in FIRST_MONTHS if f <= d.month))
        return period if d >= period.starts_on else period.previous()

    def next(self) -> Period:
        if self.first_month == 9:
            return Period(self.year + 1, 1)
        return Period(self.year, self.first_month + 4)

    def previous(self) -> Period:
        if self.first_month == 1:
            return Period(self.year - 1, 9)
        return Period(self.year, self.first_month - 4)

    @property
    def starts_on(self) -> date:
        """The first Monday of :attr:`first_month`: the day B3's rule makes the portfolio take effect."""
        first = date(self.year, self.first_month, 1)
        return first + timedelta(days=-first.weekday() % 7)

    def first_session(self) -> date:
        """The first B3 trading day on or after :attr:`starts_on` (e.g. Tue 2 Jan 2024, since Mon 1 Jan
        is a holiday). Inferred from the rule, not from B3's notices; imports ``holidays`` lazily."""
        from ibovcli import tradingdays

        d = self.starts_on
        while not tradingdays.is_trading_day(d):
            d += timedelta(days=1)
        return d


def brasilia_today(now: datetime | None = None) -> date:
    """Today's date in Brasília (B3's time zone)."""
    return (now or datetime.now(UTC)).astimezone(BRASILIA).date()


@dataclass(frozen=True)
class NextRebalance:
    """When an index's portfolio is next replaced, seen from ``today``."""

    index: str
    today: date
    period: Period
    first_session: date
    #: B3 trading days after today up to and including the new portfolio's first session
    trading_days_to_go: int
    #: whether a preview of :attr:`period` is stored for the index
    preview_stored: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "next_period": self.period.label,
            "starts_on": self.period.starts_on.isoformat(),
            "first_session": self.first_session.isoformat(),
            "trading_days_to_go": self.trading_days_to_go,
            "preview_stored": self.preview_stored,
        }


def next_rebalance(index: str, today: date, preview_periods: Iterable[str] = ()) -> NextRebalance:
    """The next rebalance of ``index`` after ``today`` and whether its preview is stored
    (``preview_periods``: the labels of the stored preview periods of the index)."""
    from ibovcli import tradingdays

    period = Period.containing(today).next()
    first = period.first_session()
    to_go = len(tradingdays.trading_days(today + timedelta(days=1), first))
    return NextRebalance(index, today, period, first, to_go, period.label in set(preview_periods))
