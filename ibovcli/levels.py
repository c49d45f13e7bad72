"""B3's official daily index levels, one calendar year per request: data model, parser and fetcher.

Source (shared/docs/b3-history.md section 2): ``GET {base}/indexStatisticsProxy/IndexCall/GetPortfolioDay/
<token>``, where the token is standard base64 of ``{"language":"pt-br","index":"IBOV","year":2022}``. Not
to be confused with ``indexProxy/indexCall/GetPortfolioDay`` (the daily portfolio, :mod:`ibovcli.b3`):
the two services share the method name only.

The answer is a 31 x 12 grid, ``{"min": {...}, "max": {...}, "results": [{"day": 1..31, "rateValue1"
.. "rateValue12"}]}``: ``rateValueN`` of the row ``day`` is the close of month N, day ``day``, as text
with two decimals (``"101.005,64"`` in pt-br, ``"101,005.64"`` in en-us); ``null`` or ``""`` means no
session. ``min`` and ``max`` are not data: they are each month's extremes, checked against the grid.

Rules of :func:`parse_levels` (each one is refused with a :class:`SnapshotError` naming the cell):

* numbers are exact ``Decimal`` with two places; the language is detected from the values' decimal
  separator and a file mixing both is refused;
* an impossible date (30 February, 31 April, 29 February of a common year) holding a value, a value on
  a Saturday or Sunday, a value after ``today``, a zero or negative level;
* ``min``/``max`` that contradict the month's grid extremes (a month without sessions: null or absent);
* ``"results": null`` is B3's answer for an unknown index or a year without data (:class:`NoLevels`,
  also raised for a grid without any value); an empty body is its answer to a malformed request.

A value on a weekday that the B3 calendar (:mod:`ibovcli.tradingdays`) calls a holiday is kept and
listed in :attr:`LevelsYear.holidays_with_value`: B3's own answer is the better witness of a session.

**Values before 1997-03-03 are kept exactly as B3 reports them: they are not adjusted** for the
divisions by 10 of the index in that era, so the series jumps at each rescaling. Anyone comparing
levels across those dates must adjust them (B3 published an adjusted 1968-1997 series separately).

Parsing is pure (bytes in, a dataclass out); :func:`fetch_levels` is the only I/O, through
:func:`ibovcli.fetch.get`.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from ibovcli import fetch, tradingdays
from ibovcli.b3 import json_loads, unwrap_json
from ibovcli.errors import SnapshotError

Language = Literal["pt-br", "en-us"]

LEVELS_PATH = "/indexStatisticsProxy/IndexCall/GetPortfolioDay/"
#: The first year B3 has levels for (IBOV, 1968); other indices start later and answer "results": null.
FIRST_YEAR = 1968
#: Levels before this session are B3's unadjusted values (see the module docstring).
UNADJUSTED_BEFORE = date(1997, 3, 3)
MONTHS = range(1, 13)
MONTH_NAMES = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAYS = range(1, 32)

HINT = "Nothing was written. Check the file, or fetch the year again (ibovcli.levels describes the format)."

_LEVEL = {
    "pt-br": re.compile(r"(-?)(\d{1,3}(?:\.\d{3})+|\d+),(\d{2})"),
    "en-us": re.compile(r"(-?)(\d{1,3}(?:,\d{3})+|\d+)\.(\d{2})"),
}
_RATE_KEY = re.compile(r"rateValue(\d+)")


class NoLevels(SnapshotError):
    """No levels for this index and year: ``"results": null`` (or ``[]``), or a grid without values."""

    hint = (
        f"Check the index code and the year: B3 has IBOV from {FIRST_YEAR}, other indices from their "
        "launch, and the current year only up to the last closed session."
    )


@dataclass(frozen=True)
class LevelsYear:
    """One index's official closing levels for the sessions of one calendar year, as B3 answered them."""

    index: str
    year: int
    sessions: tuple[tuple[date, Decimal], ...]
    source_format: str
    holidays_with_value: tuple[date, ...] = ()
    source: str = ""
    original: bytes = b""
    original_ext: str = "json"
    collected_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.original).hexdigest()

    def with_source(self, source: str, original: bytes, collected_at: datetime | None = None) -> LevelsYear:
        return replace(self, source=source, original=original, collected_at=collected_at or self.collected_at)


# ----------------------------------------------------------------------------------------------
# URL and fetch


def levels_url(base_url: str, index: str, year: int, language: str = "pt-br") -> str:
    """The URL of ``index``'s levels for ``year``: ``{base_url}/indexStatisticsProxy/IndexCall/...``."""
    if language not in ("pt-br", "en-us"):
        raise ValueError(f"language must be 'pt-br' or 'en-us', not {language!r}")
    params = {"language": language, "index": index, "year": year}
    return base_url.rstrip("/") + LEVELS_PATH + fetch.token(params)


def fetch_levels(
    index: str,
    year: int,
    *,
    base_url: str,
    policy: fetch.HttpPolicy | None = None,
    session: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    on_event: Callable[[str], None] = lambda _msg: None,
    started: float | None = None,
    today: date | None = None,
) -> LevelsYear:
    """Fetch and parse ``index``'s levels for ``year`` (pt-br), keeping the exact bytes B3 sent.

    Raises :class:`SourceError` / :class:`BlockedError` (from :func:`ibovcli.fetch.get`: retries,
    deadline counted from ``started``), :class:`NoLevels` (unknown index or year without data) or
    :class:`SnapshotError` (anything else wrong with the answer). ``today`` defaults to the UTC date
    of the request; a year outside ``1968..today.year`` is refused before any request.
    """
    collected_at = datetime.now(UTC)
    today = today or collected_at.date()
    _check_year(index, year, today)
    policy = policy or fetch.HttpPolicy()
    http = session or fetch.new_session(
        referer=base_url.rstrip("/") + f"/indexStatisticsPage/daily-evolution/{index}?language=pt-br"
    )
    started = time.monotonic() if started is None else started
    url = levels_url(base_url, index, year)
    body = fetch.get(http, url, policy, started, sleep, on_event, what=f"{index} {year} levels")
    levels = parse_levels(body, index=index, year=year, today=today)
    return levels.with_source(source=url, original=body, collected_at=collected_at)


# ----------------------------------------------------------------------------------------------
# parser


def parse_levels(
    data: bytes, *, index: str, year: int, today: date | None = None, source: str = ""
) -> LevelsYear:
    """Parse B3's levels answer for ``index`` and ``year``; raises :class:`SnapshotError` naming the problem.

    ``today`` (default: the UTC date now, i.e. the collection date) bounds the dates a value may have.
    """
    collected_at = datetime.now(UTC)
    today = today or collected_at.date()
    what = f"{index} {year} levels"
    _check_year(index, year, today)
    doc = _decode(data, what)
    results = doc["results"]
    if results is None or results == []:
        raise NoLevels(f'{what}: B3 answered "results": {json.dumps(results)}: no such index or year')
    if not isinstance(results, list):
        raise SnapshotError(f'{what}: "results" is {_kind(results)}, not a list of 31 day rows', hint=HINT)
    for key in ("min", "max"):
        if key not in doc:
            raise SnapshotError(
                f'{what}: the JSON has no "{key}" row (B3 sends "min", "max", "results")', hint=HINT
            )
        if not isinstance(doc[key], dict):
            raise SnapshotError(
                f'{what}: "{key}" is {_kind(doc.get(key))}, not a row of monthly {key}ima', hint=HINT
            )

    grid = _Grid(what)
    by_month: dict[int, list[tuple[date, Decimal]]] = {m: [] for m in MONTHS}
    holidays: list[date] = []
    seen_days: set[int] = set()
    for i, row in enumerate(results):
        day = row.get("day") if isinstance(row, dict) else None
        if not isinstance(row, dict) or type(day) is not int or day not in DAYS:
            raise SnapshotError(
                f"{what}: results[{i}] is not a day row with a day 1..31: {row!r:.80}", hint=HINT
            )
        if day in seen_days:
            raise SnapshotError(f"{what}: results holds day {day} twice", hint=HINT)
        seen_days.add(day)
        cells = _month_cells(row, f"results day {day}", what, required=True)
        for month, raw in cells.items():
            if _empty(raw):
                continue
            cell = f"results day {day} rateValue{month}"
            if day > _days_in(year, month):
                raise SnapshotError(
                    f"{what}: {cell} holds {raw!r}, but {day} {MONTH_NAMES[month]} {year} does not exist",
                    hint=HINT,
                )
            d = date(year, month, day)
            level = grid.level(raw, cell)
            if d.weekday() >= 5:
                raise SnapshotError(
                    f"{what}: {cell} holds {raw!r} on a {WEEKDAY_NAMES[d.weekday()]} ({d.isoformat()})",
                    hint=f"B3 has no sessions on weekends: is this the answer for {year}? A saved answer "
                    "names no year; --year says which. " + HINT,
                )
            if d > today:
                raise SnapshotError(
                    f"{what}: {cell} holds {raw!r} for {d.isoformat()}, after today ({today.isoformat()})",
                    hint=HINT,
                )
            if tradingdays.holiday_name(d):
                holidays.append(d)
            by_month[month].append((d, level))
    if len(seen_days) != len(DAYS):
        missing = ", ".join(str(d) for d in DAYS if d not in seen_days)
        raise SnapshotError(
            f"{what}: results has {len(seen_days)} day rows, B3 sends 31 (missing day {missing}; truncated?)",
            hint=HINT,
        )
    if not any(by_month.values()):
        raise NoLevels(f"{what}: B3 answered a grid without any value: no such index or year")

    for key, pick in (("min", min), ("max", max)):
        cells = _month_cells(doc[key], key, what, required=False)
        for month in MONTHS:
            raw = cells.get(month)
            values = [level for _, level in by_month[month]]
            if not values:
                if not _empty(raw):
                    raise SnapshotError(
                        f"{what}: {key}.rateValue{month} is {raw!r} but {MONTH_NAMES[month]} has no session",
                        hint=HINT,
                    )
                continue
            expected = pick(values)
            if _empty(raw):
                raise SnapshotError(
                    f"{what}: {key}.rateValue{month} is empty but {MONTH_NAMES[month]} has "
                    f"{len(values)} sessions ({key} {expected})",
                    hint=HINT,
                )
            stated = grid.level(raw, f"{key}.rateValue{month}")
            if stated != expected:
                raise SnapshotError(
                    f"{what}: {key}.rateValue{month} is {raw!r} but the {key} of {MONTH_NAMES[month]}'s "
                    f"sessions is {expected}",
                    hint=HINT,
                )

    sessions = tuple(sorted(s for month in MONTHS for s in by_month[month]))
    return LevelsYear(
        index=index,
        year=year,
        sessions=sessions,
        source_format=f"json/{grid.language}",
        holidays_with_value=tuple(sorted(holidays)),
        source=source,
        original=data,
        original_ext="json",
        collected_at=collected_at,
    )


def _check_year(index: str, year: int, today: date) -> None:
    if type(year) is not int or not FIRST_YEAR <= year <= today.year:
        raise SnapshotError(
            f"{index} levels: year {year!r} is outside {FIRST_YEAR}..{today.year}",
            hint=f"B3's index levels start in {FIRST_YEAR} (IBOV) and end with the current year.",
        )


def _decode(data: bytes, what: str) -> dict[str, Any]:
    body = data.removeprefix(b"\xef\xbb\xbf").strip()
    if not body:
        raise SnapshotError(
            f"{what}: B3 sent an empty body, which is what it sends for a malformed request (bad token)",
            hint="Check the index code and the year in the request; nothing was written.",
        )
    if body[:1] == b"<":
        raise SnapshotError(f"{what}: the answer is an HTML page, not B3 data (an error or challenge page?)")
    try:
        value = unwrap_json(json_loads(body))
    except json.JSONDecodeError as exc:
        raise SnapshotError(
            f"{what}: not valid JSON ({exc.msg} at char {exc.pos}; truncated?)", hint=HINT
        ) from None
    except UnicodeDecodeError:
        raise SnapshotError(f"{what}: not valid UTF-8 JSON", hint=HINT) from None
    if not isinstance(value, dict):
        raise SnapshotError(f"{what}: the JSON is {_kind(value)}, not B3's index levels object", hint=HINT)
    if "header" in value or "page" in value:
        raise SnapshotError(
            f"{what}: this is a daily portfolio answer (indexProxy/indexCall/GetPortfolioDay), "
            "not index levels (indexStatisticsProxy/IndexCall/GetPortfolioDay)",
            hint="The two B3 services share the method name; the portfolio goes to `ibov scrape --from`.",
        )
    if "results" not in value:
        keys = ", ".join(sorted(map(str, value)))[:80] or "none"
        raise SnapshotError(
            f'{what}: the JSON object has no "results" (keys: {keys}), so it is not B3\'s index levels',
            hint=HINT,
        )
    return value


def _month_cells(row: Mapping[str, Any], name: str, what: str, *, required: bool) -> dict[int, Any]:
    """``{month: raw value}`` of a row's ``rateValueN`` keys; a month outside 1..12 is refused."""
    cells: dict[int, Any] = {}
    for key, raw in row.items():
        m = _RATE_KEY.fullmatch(key)
        if m is None:
            continue
        month = int(m.group(1))
        if month not in MONTHS:
            if _empty(raw):
                continue
            raise SnapshotError(f"{what}: {name} has {key}={raw!r}, but a year has 12 months", hint=HINT)
        cells[month] = raw
    if required and len(cells) != len(MONTHS):
        absent = ", ".join(f"rateValue{m}" for m in MONTHS if m not in cells)
        raise SnapshotError(f"{what}: {name} lacks {absent}", hint=HINT)
    return cells


class _Grid:
    """Parses levels, detects the language from the first value and refuses a second language."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.language: Language = "pt-br"
        self.first: str | None = None

    def level(self, raw: object, cell: str) -> Decimal:
        text = raw.strip() if isinstance(raw, str) else ""
        pt, en = _LEVEL["pt-br"].fullmatch(text), _LEVEL["en-us"].fullmatch(text)
        m = pt or en
        if m is None:
            raise SnapshotError(
                f"{self.what}: {cell} is {raw!r}, not a level with two decimals like "
                "'101.005,64' (pt-br) or '101,005.64' (en-us)",
                hint=HINT,
            )
        lang: Language = "pt-br" if pt else "en-us"
        if self.first is None:
            self.language, self.first = lang, f"{cell} {raw!r}"
        elif lang != self.language:
            raise SnapshotError(
                f"{self.what}: mixes number formats: {self.first} is {self.language}, "
                f"{cell} {raw!r} is {lang}",
                hint=HINT,
            )
        sign, whole, cents = m.groups()
        value = Decimal(f"{sign}{whole.replace('.', '').replace(',', '')}.{cents}")
        if value <= 0:
            raise SnapshotError(f"{self.what}: {cell} is {raw!r}: a level must be positive", hint=HINT)
        return value


def _days_in(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _empty(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )
