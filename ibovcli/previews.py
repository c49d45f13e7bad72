"""B3's 4-month portfolios: the theoretical portfolio of the current period and the preview of the next.

Three times a year B3 replaces each index's portfolio. The new one takes effect on the first Monday
of January, May and September; for weeks before, B3 publishes previews of it. Sources (same host and
token style as the day's portfolio, see :mod:`ibovcli.fetch`):

* ``GetTheoricalPortfolio`` (sic): the current period's theoretical portfolio, as fixed at the
  rebalance. Paginated JSON whose header has only ``part``, ``theoricalQty`` and ``reductor`` (no date,
  no labels); rows are sorted by ticker and carry ``cont``, the row's 1-based rank in company-name
  order (checked on both real answers we have, 92/92 and 87/87 rows).
* ``GetQuartelyPreview`` (sic): the next period's preview, same shape. It can be STALE: after the
  switch it keeps answering the last preview. ``GetConfigurations`` says whether one is current
  (``preview: [{"has": 0|1, ...}]``): see :func:`fetch_preview_status`.
* ``GetDownloadPortfolioTheorical`` / ``GetDownloadPreview``: base64 of a latin-1 ``;`` CSV shaped like
  the day's CSV, whose title names the PERIOD instead of a day. Seen in real files:
  ``IBOV - Carteira Jan. a Abr. 2025`` (theoretical, rows by ticker) and ``ISEE - Prévia Set. a Dez. 2025``
  (preview, rows by company name). The en-us wording is a guess; accepted: ``Portfolio``/``Preview``,
  ``Theoretical Portfolio``/``Quarterly Preview``, English month abbreviations, ``to`` for ``a``.

The JSON answers do not say which period they are for: the caller passes it (the fetchers derive it
from the collection date). The CSV titles do, and a title contradicting the caller is refused.

Weights are rounded to 3 decimals and, unlike the day's portfolio, not adjusted to sum to exactly 100:
seen 99.999 (IBOV Jan-Apr 2025, 87 rows) and 100.002 (ISEE preview Sep-Dec 2025, 82 rows). See
:func:`weight_tolerance`.

Parsers are pure; numbers are exact (``int``, ``Decimal``). Module level is stdlib only.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from ibovcli import b3, fetch, layout
from ibovcli.errors import SnapshotError
from ibovcli.periods import FIRST_MONTHS, Period, brasilia_today

Kind = Literal["theoretical", "preview"]
KINDS: tuple[Kind, ...] = ("theoretical", "preview")

#: B3's method names (spelled as B3 spells them) per kind.
METHODS: dict[Kind, str] = {"theoretical": "GetTheoricalPortfolio", "preview": "GetQuartelyPreview"}
DOWNLOAD_METHODS: dict[Kind, str] = {
    "theoretical": "GetDownloadPortfolioTheorical",
    "preview": "GetDownloadPreview",
}
CONFIGURATIONS_METHOD = "GetConfigurations"
#: The site's page for each kind (``/indexPage/<page>/<INDEX>``), sent as the Referer.
PAGES: dict[Kind, str] = {"theoretical": "theorical", "preview": "preview"}
_PROXY = "/indexProxy/indexCall/"

_WHAT: dict[Kind, str] = {"theoretical": "a theoretical portfolio", "preview": "a preview"}

# ----------------------------------------------------------------------------------------------
# data model


@dataclass(frozen=True)
class PeriodHolding:
    """One constituent of a period portfolio. ``cont`` is B3's rank in company-name order (JSON only)."""

    cod: str
    asset: str
    type: str
    part: Decimal
    qty: int
    cont: int | None


@dataclass(frozen=True)
class PeriodPortfolio:
    """The theoretical portfolio of one period, or a preview of it, for one index."""

    kind: Kind
    index: str
    period: Period
    holdings: tuple[PeriodHolding, ...]
    total_qty: int
    reductor: Decimal | None
    source_format: str
    total_records: int | None
    source: str = ""
    original: bytes = b""
    original_ext: str = "json"
    collected_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.original).hexdigest()

    def with_source(
        self, source: str, original: bytes, collected_at: datetime | None = None
    ) -> PeriodPortfolio:
        return replace(self, source=source, original=original, collected_at=collected_at or self.collected_at)


@dataclass(frozen=True)
class PreviewStatus:
    """What ``GetConfigurations`` says about an index: is a preview of the next period current?"""

    index: str
    has_preview: bool
    raw: dict[str, Any]


# ----------------------------------------------------------------------------------------------
# parsing


def parse_period_portfolio(
    data: bytes,
    *,
    kind: Kind,
    index: str | None,
    period: Period | None,
    source: str = "",
) -> PeriodPortfolio:
    """Parse a theoretical portfolio or a preview in any accepted format (detected from the content):
    the JSON answer (pt-br or en-us, double-encoded, or a JSON list of its pages), the CSV download, or
    the raw base64 download body (quoted or not).

    A JSON answer names neither its index nor its period: both must be given. A CSV title names both
    and its kind; ``index``/``period`` may then be None, and a contradiction is refused.
    Raises :class:`SnapshotError`.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    body = b3.read_body(data)
    if body.kind == "csv":
        portfolio = _from_csv(body.value, kind=kind, index=index, period=period)
        if body.wrapping == "base64":
            portfolio = replace(
                portfolio, source_format="base64-" + portfolio.source_format, original_ext="txt"
            )
    else:
        encoded = "double-encoded " if body.wrapping else ""
        portfolio = _from_json(body.value, kind=kind, index=index, period=period, encoded=encoded)
    return portfolio.with_source(source=source, original=data)


def _from_json(
    value: Any, *, kind: Kind, index: str | None, period: Period | None, encoded: str
) -> PeriodPortfolio:
    pages = b3.json_pages(value)
    first = pages[0]
    _check_shape(first, 1, kind)
    header = first["header"]
    total_records = first["page"].get("totalRecords")
    if not isinstance(total_records, int) or isinstance(total_records, bool) or total_records < 0:
        raise SnapshotError(f"page.totalRecords is not a count: {total_records!r}")
    rows: list[Any] = []
    for n, page in enumerate(pages, start=1):
        if n > 1:
            _check_shape(page, n, kind)
            if page["header"] != header or page["page"].get("totalRecords") != total_records:
                raise SnapshotError(f"page {n} has a different header or totalRecords than page 1")
        rows.extend(page["results"])
    if total_records == 0 or not rows:
        if kind == "preview":
            raise SnapshotError("B3's preview answer is empty (0 rows): no preview is published now")
        raise SnapshotError("B3's answer is empty (0 rows): unknown index code, or no portfolio published")
    if period is None:
        raise SnapshotError(
            f"a JSON answer does not say which 4-month period its {kind} portfolio is for: "
            "pass --period YYYY-MM (e.g. 2025-05 for May-Aug 2025)"
        )
    if index is None:
        raise SnapshotError("a JSON answer does not say which index it is for: pass --index CODE")
    language = _json_language(header, rows)
    holdings = tuple(_holding(r, i, language) for i, r in enumerate(rows, start=1))
    total_qty = b3.parse_int(header.get("theoricalQty"), language, "header.theoricalQty (total quantity)")
    raw_reductor = header.get("reductor")
    reductor = (
        None
        if raw_reductor is None or raw_reductor == ""
        else b3.parse_decimal(raw_reductor, language, "header.reductor")
    )
    return PeriodPortfolio(
        kind=kind,
        index=index,
        period=period,
        holdings=holdings,
        total_qty=total_qty,
        reductor=reductor,
        source_format=f"{encoded}json/{language}",
        total_records=total_records,
        original_ext="json",
    )


def _check_shape(page: Any, n: int, kind: Kind) -> None:
    where = f"page {n}: " if n > 1 else ""
    method = METHODS[kind]
    if not isinstance(page, dict):
        raise SnapshotError(f"{where}JSON top level is {type(page).__name__}, not a B3 portfolio object")
    for key, what in (("results", "list"), ("header", "object"), ("page", "object")):
        if not isinstance(page.get(key), list if what == "list" else dict):
            raise SnapshotError(f"{where}JSON has no {key!r} {what}: not a {method} answer")
    if "date" in page["header"]:
        raise SnapshotError(
            f"this is a GetPortfolioDay answer (the portfolio of the session {page['header']['date']}), "
            f"not {_WHAT[kind]} ({method})"
        )


def _json_language(header: dict[str, Any], rows: list[Any]) -> b3.Language:
    try:
        return b3.language_of(header)
    except SnapshotError:
        pass
    # header.part missing or null: the rows' numbers tell (a quantity is whole, so its separator is
    # the thousands one)
    for row in rows:
        qty = row.get("theoricalQty") if isinstance(row, dict) else None
        if isinstance(qty, str) and ("." in qty) != ("," in qty):
            return "pt-br" if "." in qty else "en-us"
    raise SnapshotError("cannot tell the answer's language (pt-br or en-us) from its numbers")


_ROW_FIELDS = ("cod", "asset", "type", "part", "theoricalQty")


def _holding(row: Any, i: int, language: b3.Language) -> PeriodHolding:
    if not isinstance(row, dict):
        raise SnapshotError(f"row {i} is not an object: {row!r:.60}")
    cod = row.get("cod")
    label = f"row {i} ({cod})" if isinstance(cod, str) and cod.strip() else f"row {i}"
    missing = [f for f in _ROW_FIELDS if f not in row]
    if missing:
        raise SnapshotError(f"{label} has no field {', '.join(missing)}")
    for f in ("cod", "asset", "type"):
        if not isinstance(row[f], str):
            raise SnapshotError(f"{label}: {f} is not text: {row[f]!r}")
    cont = row.get("cont")
    if cont is not None and (not isinstance(cont, int) or isinstance(cont, bool) or cont < 1):
        raise SnapshotError(f"{label}: cont is not a positive whole number: {cont!r}")
    return PeriodHolding(
        cod=row["cod"].strip(),
        asset=row["asset"].strip(),
        type=row["type"],
        part=b3.parse_decimal(row["part"], language, f"{label} part"),
        qty=b3.parse_int(row["theoricalQty"], language, f"{label} theoricalQty"),
        cont=cont,
    )


# CSV ------------------------------------------------------------------------------------------

_TITLE_RE = re.compile(rf"^\s*({layout.INDEX_PATTERN})\s+-\s+(.*?)[\s;]*$")
_DAY_RE = re.compile(r"\b\d{2}/\d{2}/\d{2}(?:\d{2})?\b")
_PERIOD_RE = re.compile(
    r"\b(?P<m1>[^\W\d_]{3,9})\.?\s*(?:\ba\b|\bto\b|\bate\b|\bthrough\b|-|–)\s*"
    r"(?P<m2>[^\W\d_]{3,9})\.?\s*(?:de\s+|of\s+)?(?P<year>\d{4})\b",
    re.IGNORECASE,
)
#: Month abbreviations (3 letters, accents stripped), pt-br and en-us.
_MONTHS = {
    **{m: i for i, m in enumerate(("jan", "fev", "mar", "abr", "mai", "jun"), start=1)},
    **{m: i for i, m in enumerate(("jul", "ago", "set", "out", "nov", "dez"), start=7)},
    **{"feb": 2, "apr": 4, "may": 5, "aug": 8, "sep": 9, "oct": 10, "dec": 12},
}


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _month(word: str, title: str) -> int:
    month = _MONTHS.get(_plain(word)[:3])
    if month is None:
        raise SnapshotError(f"CSV title names an unknown month {word!r}: {title[:60]!r}")
    return month


def parse_title(line: str) -> tuple[str, Kind, Period]:
    """``"IBOV - Carteira Jan. a Abr. 2025"`` -> ``("IBOV", "theoretical", Period(2025, 1))``;
    ``"ISEE - Prévia Set. a Dez. 2025"`` -> a preview. A day's title (with a date) is refused."""
    title = line.strip()
    m = _TITLE_RE.match(title)
    if not m:
        raise SnapshotError(f"CSV title line has no index code: {title[:60]!r}")
    index, rest = m.group(1), m.group(2)
    if _DAY_RE.search(rest):
        raise SnapshotError(
            f"the file is the portfolio of a day ({title[:60]!r}), not a theoretical portfolio or preview"
        )
    plain = _plain(rest)
    pm = _PERIOD_RE.search(plain)
    if not pm:
        raise SnapshotError(f"CSV title names no 4-month period (like 'Jan. a Abr. 2025'): {title[:60]!r}")
    first, last = _month(pm.group("m1"), title), _month(pm.group("m2"), title)
    if first not in FIRST_MONTHS or last != first + 3:
        raise SnapshotError(f"CSV title names months {first}-{last}, not a B3 4-month period: {title[:60]!r}")
    words = plain[: pm.start()]
    kind: Kind
    if "previ" in words:  # Prévia, Prévia Quadrimestral, Preview
        kind = "preview"
    elif "carteira" in words or "portfolio" in words:
        kind = "theoretical"
    else:
        raise SnapshotError(f"CSV title says neither 'Carteira' nor 'Prévia': {title[:60]!r}")
    return index, kind, Period(int(pm.group("year")), first)


def _from_csv(text: str, *, kind: Kind, index: str | None, period: Period | None) -> PeriodPortfolio:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2:
        raise SnapshotError("CSV is too short: no title and header lines")
    title = lines[0].strip()
    csv_index, csv_kind, csv_period = parse_title(title)
    if index is not None and index != csv_index:
        raise SnapshotError(f"the file is a {csv_index} portfolio but --index {index} was given")
    if csv_kind != kind:
        raise SnapshotError(f"the file is {_WHAT[csv_kind]} ({title[:60]!r}), not {_WHAT[kind]}")
    if period is not None and period != csv_period:
        raise SnapshotError(
            f"the file is for the period {csv_period.label} ({title[:60]!r}) but --period {period.month} "
            "was given"
        )
    language = b3.csv_language(lines[1], lines[-2:])
    table = b3.parse_csv_table(lines[1:], language)
    holdings = tuple(
        PeriodHolding(cod=r.cod, asset=r.asset, type=r.type, part=r.part, qty=r.qty, cont=None)
        for r in table.rows
    )
    return PeriodPortfolio(
        kind=csv_kind,
        index=csv_index,
        period=csv_period,
        holdings=holdings,
        total_qty=table.total_qty,
        reductor=table.reductor,
        source_format=f"csv/{language}",
        total_records=None,
        original_ext="csv",
    )


# GetConfigurations ----------------------------------------------------------------------------


def parse_configurations(data: bytes, *, index: str) -> PreviewStatus:
    """Read ``GetConfigurations``: a preview is current when an entry of ``preview`` has ``has`` 1.

    Only ``preview[].has`` is known (one public collector); the rest of the answer is kept in ``raw``.
    """
    body = b3.read_body(data)
    value = body.value
    if body.kind != "json" or not isinstance(value, dict):
        raise SnapshotError(f"the {CONFIGURATIONS_METHOD} answer for {index} is not a JSON object")
    entries = value.get("preview")
    if not isinstance(entries, list):
        raise SnapshotError(
            f"the {CONFIGURATIONS_METHOD} answer for {index} has no 'preview' list: "
            "cannot tell whether a preview is current"
        )
    flags = [_has(entry, index) for entry in entries]
    return PreviewStatus(index=index, has_preview=any(flags), raw=value)


def _has(entry: Any, index: str) -> bool:
    has = entry.get("has") if isinstance(entry, dict) else None
    if has in (1, "1", True):
        return True
    if has in (0, "0", False):
        return False
    raise SnapshotError(
        f"{CONFIGURATIONS_METHOD} for {index}: preview entry has no 'has' 0 or 1: {entry!r:.60}"
    )


# ----------------------------------------------------------------------------------------------
# B3's invariants


def weight_tolerance(rows: int) -> Decimal:
    """How far from 100 the weights of ``rows`` rows may sum: half a unit of the third decimal per row.

    B3 rounds each weight to 3 decimals and does not adjust the rounded weights of a period portfolio
    (the day's portfolio always sums to exactly 100.000; period ones were seen at 99.999 and 100.002).
    Rounding moves each weight by at most 0.0005, so this bound can never refuse a correct file. It
    still catches a weight misread by a factor (a decimal separator) or a corrupted number; a lost row
    is caught by the row count and the exact quantity total.
    """
    return Decimal("0.0005") * max(rows, 1)


def problems(p: PeriodPortfolio) -> list[str]:
    """Every problem found in ``p``, as short sentences; empty when it is sound."""
    out: list[str] = []
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
        tolerance = weight_tolerance(n)
        if abs(weights - 100) > tolerance:
            out.append(f"weights sum to {weights}, not 100 ± {tolerance} (rounding of {n} weights)")
        qty = sum(h.qty for h in p.holdings)
        if qty != p.total_qty:
            out.append(f"quantities sum to {qty:,} but the header total is {p.total_qty:,}")
    if p.total_qty < 0:
        out.append(f"the total quantity is negative: {p.total_qty}")
    if p.reductor is not None and p.reductor <= 0:
        out.append(f"the reductor must be positive, got {p.reductor}")
    return out


def validate(p: PeriodPortfolio) -> PeriodPortfolio:
    """Return ``p`` if it is sound; raise :class:`SnapshotError` with the first problem otherwise."""
    found = problems(p)
    if found:
        more = (
            f" (and {len(found) - 1} more problem{'s' if len(found) > 2 else ''})" if len(found) > 1 else ""
        )
        raise SnapshotError(f"{p.index} {p.kind} {p.period.label}: {found[0]}{more}")
    return p


# ----------------------------------------------------------------------------------------------
# HTTP


def period_for(kind: Kind, today: date) -> Period:
    """The period a fetch on ``today`` returns: the current one (theoretical) or the next (preview)."""
    current = Period.containing(today)
    return current if kind == "theoretical" else current.next()


def page_url(base_url: str, kind: Kind, index: str, page: int, page_size: int = fetch.PAGE_SIZE) -> str:
    params = {"pageNumber": page, "pageSize": page_size, "language": "pt-br", "index": index}
    return base_url.rstrip("/") + _PROXY + METHODS[kind] + "/" + fetch.token(params)


def configurations_url(base_url: str, index: str) -> str:
    return base_url.rstrip("/") + _PROXY + CONFIGURATIONS_METHOD + "/" + fetch.token(_download_params(index))


def download_url(base_url: str, kind: Kind, index: str) -> str:
    return base_url.rstrip("/") + _PROXY + DOWNLOAD_METHODS[kind] + "/" + fetch.token(_download_params(index))


def _download_params(index: str) -> dict[str, Any]:
    return {"index": index, "language": "pt-br"}


def _referer(base_url: str, kind: Kind, index: str) -> str:
    return base_url.rstrip("/") + f"/indexPage/{PAGES[kind]}/{index}?language=pt-br"


def fetch_period_portfolio(
    kind: Kind,
    index: str,
    *,
    base_url: str = fetch.DEFAULT_BASE_URL,
    policy: fetch.HttpPolicy | None = None,
    page_size: int = fetch.PAGE_SIZE,
    session: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    on_event: Callable[[str], None] = lambda _msg: None,
    started: float | None = None,
    today: date | None = None,
) -> PeriodPortfolio:
    """Fetch every page of ``index``'s theoretical portfolio or preview, parse it and return it.

    The period is not in the answer: it comes from the collection day in Brasília (``today``; default
    now): the current period for the theoretical portfolio, the next one for a preview. A preview is
    only current while ``GetConfigurations`` says so (:func:`fetch_preview_status`); check that first.
    Errors as :func:`ibovcli.fetch.fetch_portfolio`; nothing is returned unless every page arrived.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    policy = policy or fetch.HttpPolicy()
    http = session or fetch.new_session(referer=_referer(base_url, kind, index))
    started = time.monotonic() if started is None else started
    collected_at = datetime.now(UTC)
    period = period_for(kind, today or brasilia_today(collected_at))
    what = f"{index} {kind}"
    bodies: list[bytes] = []
    total_pages = 1
    page = 1
    while page <= total_pages:
        url = page_url(base_url, kind, index, page, page_size)
        body = fetch.get(http, url, policy, started, sleep, on_event, what=f"{what} page {page}")
        value = _decode_page(body, what, page)
        if page == 1:
            if value["page"].get("totalRecords") == 0 or not value.get("results"):
                raise SnapshotError(
                    f"B3 returned no rows for the {what}",
                    hint=(
                        "No preview is published now; `GetConfigurations` tells when one is."
                        if kind == "preview"
                        else "Check the index code and try again later."
                    ),
                )
            tp = value["page"].get("totalPages")
            if not isinstance(tp, int) or isinstance(tp, bool) or tp < 1 or tp > 1000:
                raise SnapshotError(f"B3 answered the {what} with an invalid page.totalPages: {tp!r}")
            total_pages = tp
        bodies.append(body)
        page += 1
    original = bodies[0] if len(bodies) == 1 else b"[" + b",".join(bodies) + b"]"
    portfolio = parse_period_portfolio(original, kind=kind, index=index, period=period)
    return portfolio.with_source(
        source=page_url(base_url, kind, index, 1, page_size), original=original, collected_at=collected_at
    )


def _decode_page(body: bytes, what: str, page: int) -> dict[str, Any]:
    try:
        value = b3.unwrap_json(b3.json_loads(body))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SnapshotError(f"B3 answered the {what} page {page} with invalid JSON (truncated?)") from None
    if not isinstance(value, dict) or not isinstance(value.get("page"), dict):
        raise SnapshotError(f"B3 answered the {what} page {page} with JSON that is not a portfolio page")
    return value


def fetch_preview_status(
    index: str,
    *,
    base_url: str = fetch.DEFAULT_BASE_URL,
    policy: fetch.HttpPolicy | None = None,
    session: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    on_event: Callable[[str], None] = lambda _msg: None,
    started: float | None = None,
) -> PreviewStatus:
    """Ask ``GetConfigurations`` whether a preview of ``index``'s next period is current."""
    policy = policy or fetch.HttpPolicy()
    http = session or fetch.new_session(referer=_referer(base_url, "preview", index))
    started = time.monotonic() if started is None else started
    url = configurations_url(base_url, index)
    body = fetch.get(http, url, policy, started, sleep, on_event, what=f"{index} configurations")
    return parse_configurations(body, index=index)


def fetch_period_download(
    kind: Kind,
    index: str,
    *,
    base_url: str = fetch.DEFAULT_BASE_URL,
    policy: fetch.HttpPolicy | None = None,
    session: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    on_event: Callable[[str], None] = lambda _msg: None,
    started: float | None = None,
    period: Period | None = None,
) -> PeriodPortfolio:
    """Fetch the CSV download of the theoretical portfolio or preview; its title names the period (a
    given ``period`` is checked against it). The endpoints are known from one public collector only."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    policy = policy or fetch.HttpPolicy()
    http = session or fetch.new_session(referer=_referer(base_url, kind, index))
    started = time.monotonic() if started is None else started
    collected_at = datetime.now(UTC)
    url = download_url(base_url, kind, index)
    body = fetch.get(http, url, policy, started, sleep, on_event, what=f"{index} {kind} download")
    if body.strip() in (b"", b'""'):
        raise SnapshotError(f"B3 has no {kind} download for {index} (empty answer)")
    portfolio = parse_period_portfolio(body, kind=kind, index=index, period=period)
    return portfolio.with_source(source=url, original=body, collected_at=collected_at)
