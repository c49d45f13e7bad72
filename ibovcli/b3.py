"""B3's "carteira do dia": the data model and the pure parsers of every format B3 serves it in.

Accepted inputs (the kind is detected from the content, never from a file name):

* a ``GetPortfolioDay`` JSON response: ``language`` pt-br or en-us, ``segment`` 1 or 2, also when it
  arrives double-encoded (a JSON string holding the JSON), or a JSON list of such pages;
* the CSV of the site's Download button (latin-1, ``;``, a title line with the date, two footer lines);
* the raw body of ``GetDownloadPortfolioDay``: base64 text of that CSV, possibly in double quotes.

Numbers are parsed exactly (``int`` and ``Decimal``), in the locale the data declares: pt-br writes
``1.481.593.024`` and ``2,728`` and dates ``dd/mm/yy``; en-us writes ``1,481,593,024``, ``2.728`` and
dates ``mm/dd/yy``. Nothing here does I/O; see :mod:`ibovcli.fetch` for HTTP.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from ibovcli import layout
from ibovcli.errors import SnapshotError

Language = Literal["pt-br", "en-us"]

PT_LABELS = ("Quantidade Te", "Redutor")
EN_LABELS = ("Total Theor", "Reductor")


@dataclass(frozen=True)
class Holding:
    """One constituent of an index portfolio, as B3 lists it."""

    cod: str
    asset: str
    type: str
    segment: str | None
    part: Decimal
    qty: int


@dataclass(frozen=True)
class Portfolio:
    """One validated-or-not snapshot of an index's portfolio for one trading session."""

    index: str
    session_date: date
    holdings: tuple[Holding, ...]
    total_qty: int
    reductor: Decimal
    source_format: str
    total_records: int | None = None
    source: str = ""
    original: bytes = b""
    original_ext: str = "json"
    collected_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.original).hexdigest()

    def with_source(self, source: str, original: bytes, collected_at: datetime | None = None) -> Portfolio:
        return replace(self, source=source, original=original, collected_at=collected_at or self.collected_at)


# ----------------------------------------------------------------------------------------------
# numbers and dates


_INT = {
    "pt-br": re.compile(r"^-?(\d{1,3}(\.\d{3})+|\d+)$"),
    "en-us": re.compile(r"^-?(\d{1,3}(,\d{3})+|\d+)$"),
}
_DEC = {
    "pt-br": re.compile(r"^-?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$"),
    "en-us": re.compile(r"^-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$"),
}


def json_loads(body: bytes | str) -> Any:
    """``json.loads``, with what hostile JSON does to it turned into :class:`SnapshotError`: nesting too
    deep for the parser, and integers too long for Python (its 4,300-digit limit). A
    ``json.JSONDecodeError`` stays as it is (callers say where the JSON broke)."""
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise SnapshotError("the JSON is nested too deeply to be B3 data") from None
    except ValueError as exc:
        raise SnapshotError(f"the JSON holds a number too long to be B3 data ({exc})") from None


def parse_int(text: object, language: Language, what: str) -> int:
    """``'1.481.593.024'`` (pt-br) or ``'1,481,593,024'`` (en-us) -> ``1481593024``."""
    s = text.strip() if isinstance(text, str) else None
    if s is None or not _INT[language].match(s):
        raise SnapshotError(f"{what} is not a whole number in {language} format: {text!r}")
    digits = s.replace("." if language == "pt-br" else ",", "")
    if len(digits) > 30:
        raise SnapshotError(f"{what} has {len(digits)} digits: too many for B3 data: {text!r:.40}")
    return int(digits)


def parse_decimal(text: object, language: Language, what: str) -> Decimal:
    """``'18.553.794,87445950'`` (pt-br) or ``'16,036,751.16744128'`` (en-us) -> exact ``Decimal``."""
    s = text.strip() if isinstance(text, str) else None
    if s is None or not _DEC[language].match(s):
        raise SnapshotError(f"{what} is not a number in {language} format: {text!r}")
    s = s.replace(".", "").replace(",", ".") if language == "pt-br" else s.replace(",", "")
    try:
        return Decimal(s)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guarantees a number
        raise SnapshotError(f"{what} is not a number: {text!r}") from exc


_DATE_RE = re.compile(r"^(\d{2})/(\d{2})/(\d{2}|\d{4})$")


def parse_b3_date(text: object, language: Language, what: str = "header.date") -> date:
    """``'08/12/22'`` -> 8 Dec 2022 in pt-br (dd/mm/yy); ``'04/07/25'`` -> 7 Apr 2025 in en-us (mm/dd/yy)."""
    s = text.strip() if isinstance(text, str) else None
    m = _DATE_RE.match(s) if s else None
    if not m:
        raise SnapshotError(f"{what} is not a date like dd/mm/yy: {text!r}")
    a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
    day, month = (a, b) if language == "pt-br" else (b, a)
    year = y + 2000 if y < 100 else y
    try:
        return date(year, month, day)
    except ValueError:
        raise SnapshotError(f"{what} is not a real date: {text!r}") from None


# ----------------------------------------------------------------------------------------------
# detection


def parse_snapshot(data: bytes, *, index: str | None = None, source: str = "") -> Portfolio:
    """Parse any accepted snapshot format; raises :class:`SnapshotError` naming the problem.

    ``index`` is used when the data does not carry the index code (JSON); when the data carries it
    (CSV title) and ``index`` disagrees, the snapshot is refused.
    """
    portfolio = _parse(data, index=index)
    return portfolio.with_source(source=source, original=data)


def _parse(data: bytes, *, index: str | None) -> Portfolio:
    body = read_body(data)
    if body.kind == "csv":
        portfolio = parse_csv(body.value, index=index)
        if body.wrapping == "base64":
            return replace(portfolio, source_format="base64-" + portfolio.source_format, original_ext="txt")
        return portfolio
    return _from_json_value(body.value, index=index, encoded="double-encoded " if body.wrapping else "")


@dataclass(frozen=True)
class Body:
    """What a snapshot's bytes hold once B3's wrappings are removed: a JSON value or the CSV text.

    ``wrapping`` says how B3 wrapped it: ``"double-encoded"`` (a JSON string holding the JSON),
    ``"base64"`` (a download body) or ``""``.
    """

    kind: Literal["json", "csv"]
    value: Any
    wrapping: Literal["", "double-encoded", "base64"] = ""


def read_body(data: bytes) -> Body:
    """Detect the format from the content (never a file name) and unwrap it, without parsing the data.

    Shared by the parsers of every B3 portfolio (the day's, the theoretical one, the previews).
    Raises :class:`SnapshotError` for empty, HTML, truncated or unrecognised content.
    """
    body = data.removeprefix(b"\xef\xbb\xbf").strip()
    if not body:
        raise SnapshotError("snapshot is empty")
    head = body[:1]
    if head in (b"{", b"["):
        return Body("json", _load_json(body))
    if head == b'"':
        inner = _json_string(body)
        stripped = inner.strip()
        if stripped.startswith(("{", "[")):
            return Body("json", _load_json(stripped.encode("utf-8")), "double-encoded")
        return _base64_body(stripped.encode("ascii", "replace"))
    if head == b"<":
        raise SnapshotError("snapshot is an HTML page, not B3 data (a Cloudflare challenge or error page?)")
    if body in (b"null", b"true", b"false") or re.fullmatch(rb"-?\d+(\.\d+)?", body):
        raise SnapshotError(f"snapshot is the JSON value {body.decode()[:20]}, not a B3 portfolio object")
    if re.fullmatch(rb"[A-Za-z0-9+/=\s]+", body) and b";" not in body:
        return _base64_body(body)
    text = _decode_text(body)
    if text is not None and ";" in text:
        return Body("csv", text)
    raise SnapshotError("snapshot is not JSON, CSV or base64 from B3 (unrecognised content)")


def _load_json(body: bytes) -> Any:
    try:
        return json_loads(body)
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"snapshot is not valid JSON ({exc.msg} at char {exc.pos}; truncated?)") from None
    except UnicodeDecodeError:
        raise SnapshotError("snapshot is not valid UTF-8 JSON") from None


def _decode_text(body: bytes) -> str | None:
    if b"\x00" in body:
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    # binary garbage decodes as latin-1 too: require mostly printable characters
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return text if printable >= 0.98 * len(text) else None


def _json_string(body: bytes) -> str:
    try:
        value = json_loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        # a quoted base64 body that is not valid JSON as a string (e.g. a stray newline inside)
        text = body.decode("latin-1").strip()
        if len(text) >= 2 and text[0] == text[-1] == '"':
            return text[1:-1]
        raise SnapshotError("snapshot starts with a quote but is not a JSON string") from None
    if not isinstance(value, str):
        raise SnapshotError("snapshot is JSON but not a B3 portfolio object")
    return value


def _base64_body(body: bytes) -> Body:
    compact = re.sub(rb"\s+", b"", body)
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise SnapshotError("snapshot looks like base64 but does not decode (truncated download?)") from None
    text = _decode_text(decoded)
    if text is None or ";" not in text:
        raise SnapshotError("base64 body does not decode to a B3 CSV (garbage after decoding)")
    return Body("csv", text, "base64")


# ----------------------------------------------------------------------------------------------
# JSON (GetPortfolioDay)


def unwrap_json(value: Any) -> Any:
    """Some B3 endpoints double-encode: a JSON string holding JSON. Decode that second layer."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json_loads(value)
        except json.JSONDecodeError:
            raise SnapshotError("a double-encoded JSON value holds invalid JSON (truncated?)") from None
    return value


def json_pages(value: Any) -> list[Any]:
    """The pages of a JSON answer: one object, or the JSON list of its pages that ibov stores.

    Each stored page is kept as B3 sent it, so it may be double-encoded; anything else in a list is refused.
    """
    if not isinstance(value, list):
        return [value]
    pages = [unwrap_json(v) for v in value]
    if not pages or not all(isinstance(v, dict) and "results" in v for v in pages):
        raise SnapshotError("JSON top level is a list, not a B3 portfolio object or a list of pages")
    return pages


def _from_json_value(value: Any, *, index: str | None, encoded: str = "") -> Portfolio:
    portfolio = parse_portfolio_pages(json_pages(value), index=index or "IBOV")
    fmt = f"{encoded}{portfolio.source_format}".strip()
    return replace(portfolio, source_format=fmt, original_ext="json")


def language_of(header: dict[str, Any]) -> Language:
    """A JSON answer's language, from its header labels or else the format of its ``part`` total."""
    labels = f"{header.get('text') or ''} {header.get('textReductor') or ''}"
    if any(lbl in labels for lbl in PT_LABELS):
        return "pt-br"
    if any(lbl in labels for lbl in EN_LABELS):
        return "en-us"
    part = header.get("part")
    if isinstance(part, str) and "," in part and "." not in part:
        return "pt-br"
    if isinstance(part, str) and "." in part and "," not in part:
        return "en-us"
    raise SnapshotError("cannot tell the snapshot's language (pt-br or en-us) from its header")


def parse_portfolio_pages(pages: list[Any], *, index: str) -> Portfolio:
    """Merge and parse the pages of one ``GetPortfolioDay`` answer (all pages, in order)."""
    first = pages[0]
    _check_day_shape(first, 1)
    header = first["header"]
    page_info = first["page"]
    total_records = page_info.get("totalRecords")
    if not isinstance(total_records, int) or isinstance(total_records, bool) or total_records < 0:
        raise SnapshotError(f"page.totalRecords is not a count: {total_records!r}")
    rows: list[Any] = []
    for n, page in enumerate(pages, start=1):
        if n > 1:
            _check_day_shape(page, n)
            if page["header"] != header or page["page"].get("totalRecords") != total_records:
                raise SnapshotError(f"page {n} has a different header or totalRecords than page 1")
        rows.extend(page["results"])
    if total_records == 0 or not rows:
        raise SnapshotError("B3's answer is empty (0 rows): unknown index code, or no portfolio published")
    language = language_of(header)
    session = parse_b3_date(header.get("date"), language)
    segment_kind = 2 if any(isinstance(r, dict) and r.get("segment") for r in rows) else 1
    holdings = tuple(_holding(r, i, language) for i, r in enumerate(rows, start=1))
    if segment_kind == 2:
        _check_sector_subtotals(rows, holdings, language)
    total_qty = parse_int(header.get("theoricalQty"), language, "header.theoricalQty (total quantity)")
    reductor = parse_decimal(header.get("reductor"), language, "header.reductor")
    return Portfolio(
        index=index,
        session_date=session,
        holdings=holdings,
        total_qty=total_qty,
        reductor=reductor,
        source_format=f"json/{language}/segment-{segment_kind}",
        total_records=total_records,
    )


def _check_day_shape(page: Any, n: int) -> None:
    where = f"page {n}: " if n > 1 else ""
    if not isinstance(page, dict):
        raise SnapshotError(f"{where}JSON top level is {type(page).__name__}, not a B3 portfolio object")
    if "results" not in page:
        raise SnapshotError(f"{where}JSON has no 'results' list: not a GetPortfolioDay response")
    if not isinstance(page["results"], list):
        raise SnapshotError(f"{where}'results' is not a list")
    if not isinstance(page.get("header"), dict):
        raise SnapshotError(f"{where}JSON has no 'header' object: not a GetPortfolioDay response")
    if not isinstance(page.get("page"), dict):
        raise SnapshotError(f"{where}JSON has no 'page' object: not a GetPortfolioDay response")
    if "date" not in page["header"]:
        if "cont" in json.dumps(page["results"][:1]):
            raise SnapshotError(
                "header has no date: this is GetTheoricalPortfolio (the 4-month theoretical portfolio), "
                "not GetPortfolioDay"
            )
        raise SnapshotError(f"{where}header has no 'date' field: the trading date is unknown")


_ROW_FIELDS = ("cod", "asset", "type", "part", "theoricalQty")
#: partAcum is B3's rounded subtotal of a sector; allow rounding of each of its members' weights.
_SUBTOTAL_SLACK = Decimal("0.0005")


def _check_sector_subtotals(rows: list[Any], holdings: tuple[Holding, ...], language: Language) -> None:
    """Segment 2 repeats each sector's subtotal (partAcum) on its rows: it must match the rows."""
    sums: dict[str | None, Decimal] = {}
    counts: dict[str | None, int] = {}
    for h in holdings:
        sums[h.segment] = sums.get(h.segment, Decimal(0)) + h.part
        counts[h.segment] = counts.get(h.segment, 0) + 1
    for i, (row, h) in enumerate(zip(rows, holdings, strict=True), start=1):
        acc = row.get("partAcum")
        if acc is None:
            continue
        value = parse_decimal(acc, language, f"row {i} ({h.cod}) partAcum")
        if abs(value - sums[h.segment]) > _SUBTOTAL_SLACK * counts[h.segment] + Decimal("0.001"):
            raise SnapshotError(
                f"row {i} ({h.cod}) partAcum {value} contradicts its sector's rows, which sum to "
                f"{sums[h.segment]}"
            )


def _holding(row: Any, i: int, language: Language) -> Holding:
    if not isinstance(row, dict):
        raise SnapshotError(f"row {i} is not an object: {row!r:.60}")
    missing = [f for f in _ROW_FIELDS if f not in row]
    cod = row.get("cod")
    label = f"row {i} ({cod})" if isinstance(cod, str) and cod.strip() else f"row {i}"
    if missing:
        raise SnapshotError(f"{label} has no field {', '.join(missing)}")
    for f in ("cod", "asset", "type"):
        if not isinstance(row[f], str):
            raise SnapshotError(f"{label}: {f} is not text: {row[f]!r}")
    segment = row.get("segment")
    if segment is not None and not isinstance(segment, str):
        raise SnapshotError(f"{label}: segment is not text: {segment!r}")
    return Holding(
        cod=row["cod"].strip(),
        asset=row["asset"].strip(),
        type=row["type"],
        segment=segment.strip() if isinstance(segment, str) and segment.strip() else None,
        part=parse_decimal(row["part"], language, f"{label} part"),
        qty=parse_int(row["theoricalQty"], language, f"{label} theoricalQty"),
    )


# ----------------------------------------------------------------------------------------------
# CSV (Download button)

_TITLE_RE = re.compile(
    rf"^\s*({layout.INDEX_PATTERN})\s+-\s+.*?(\d{{2}}/\d{{2}}/\d{{2}}(?:\d{{2}})?)\s*;*\s*$"
)


def parse_csv(text: str, *, index: str | None) -> Portfolio:
    """Parse the Download-button CSV (already decoded to text)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2:
        raise SnapshotError("CSV is too short: no title and header lines")
    title = _TITLE_RE.match(lines[0])
    if not title:
        raise SnapshotError(f"CSV title line has no index code and date: {lines[0][:60]!r}")
    csv_index = title.group(1)
    if index is not None and index != csv_index:
        raise SnapshotError(f"the file is a {csv_index} portfolio but --index {index} was given")
    head = _csv_fields(lines[1])
    if len(head) != 5:
        raise SnapshotError(f"CSV header line has {len(head)} columns, expected 5: {lines[1][:60]!r}")
    language = csv_language(lines[1], lines[-2:])
    session = parse_b3_date(title.group(2), language, "CSV title date")
    table = parse_csv_table(lines[1:], language)
    holdings = tuple(
        Holding(cod=r.cod, asset=r.asset, type=r.type, segment=None, part=r.part, qty=r.qty)
        for r in table.rows
    )
    return Portfolio(
        index=csv_index,
        session_date=session,
        holdings=holdings,
        total_qty=table.total_qty,
        reductor=table.reductor,
        source_format=f"csv/{language}",
        original_ext="csv",
    )


@dataclass(frozen=True)
class CsvRow:
    """One data line of a B3 portfolio CSV, parsed exactly."""

    cod: str
    asset: str
    type: str
    qty: int
    part: Decimal


@dataclass(frozen=True)
class CsvTable:
    """The body of a B3 portfolio CSV: its data lines and its two footer lines."""

    rows: tuple[CsvRow, ...]
    total_qty: int
    reductor: Decimal


#: CSV header labels (accents, case, spaces and punctuation removed) -> field, pt-br and en-us.
_CSV_COLUMNS = (
    ("cod", ("codigo", "cod", "code", "ticker")),
    ("asset", ("acao", "acoes", "ativo", "asset", "stock", "company")),
    ("type", ("tipo", "type")),
    ("qty", ("qtdeteorica", "qtdteorica", "quantidadeteorica", "theoreticalqty", "theoricalqty", "qty")),
    ("part", ("part", "participacao", "weight")),
)


def _csv_fields(line: str) -> list[str]:
    """The ``;`` fields of a line, without the empty ones B3 leaves at its end (the trailing ``;``)."""
    fields = line.split(";")
    while len(fields) > 1 and not fields[-1].strip():
        fields.pop()
    return fields


def _csv_label(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return re.sub(r"[^a-z0-9%]", "", plain).removesuffix("%")


def _csv_columns(header_line: str) -> tuple[dict[str, int], int]:
    """Map each field to its column by the header's labels (an extra column is ignored)."""
    labels = [_csv_label(h) for h in _csv_fields(header_line)]
    columns: dict[str, int] = {}
    for name, accepted in _CSV_COLUMNS:
        found = [i for i, lbl in enumerate(labels) if lbl in accepted]
        if not found:
            raise SnapshotError(f"CSV header line has no {name} column: {header_line[:60]!r}")
        columns[name] = found[0]
    return columns, len(labels)


def parse_csv_table(lines: list[str], language: Language, *, first_line: int = 2) -> CsvTable:
    """Parse the header, data and footer lines of a B3 portfolio CSV (``lines``: the non-empty lines
    after the title; ``first_line``: the header's line number, for messages).

    Columns are found by their header label, so an added column does not shift the others. The footer
    lines ("Quantidade Teórica Total" / "Redutor") carry their number in the quantity column.
    """
    columns, width = _csv_columns(lines[0])
    qty_col = columns["qty"]
    rows: list[CsvRow] = []
    total_qty: int | None = None
    reductor: Decimal | None = None
    for n, line in enumerate(lines[1:], start=first_line + 1):
        fields = line.split(";")
        first = fields[0].strip()
        if first.startswith(PT_LABELS[0]) or first.startswith(EN_LABELS[0]):
            if len(fields) <= qty_col:
                raise SnapshotError(f"CSV line {n}: total line has {len(fields)} fields, expected {width}")
            total_qty = parse_int(fields[qty_col], language, "CSV footer total quantity")
            continue
        if first in (PT_LABELS[1], EN_LABELS[1]):
            if len(fields) <= qty_col:
                raise SnapshotError(
                    f"CSV line {n}: reductor line has {len(fields)} fields, expected {qty_col + 1}"
                )
            reductor = parse_decimal(fields[qty_col], language, "CSV footer reductor")
            continue
        if total_qty is not None or reductor is not None:
            raise SnapshotError(f"CSV line {n}: data after the footer lines")
        fields = _csv_fields(line)
        if len(fields) != width:
            raise SnapshotError(f"CSV line {n}: {len(fields)} fields, expected {width}: {line[:60]!r}")
        cod = fields[columns["cod"]].strip()
        label = f"CSV line {n} ({cod})" if cod else f"CSV line {n}"
        rows.append(
            CsvRow(
                cod=cod,
                asset=fields[columns["asset"]].strip(),
                type=fields[columns["type"]],
                qty=parse_int(fields[qty_col], language, f"{label} quantity"),
                part=parse_decimal(fields[columns["part"]], language, f"{label} part"),
            )
        )
    if total_qty is None:
        raise SnapshotError("CSV has no 'Quantidade Teórica Total' footer line (truncated download?)")
    if reductor is None:
        raise SnapshotError("CSV has no 'Redutor' footer line (truncated download?)")
    return CsvTable(rows=tuple(rows), total_qty=total_qty, reductor=reductor)


def csv_language(header_line: str, last_lines: list[str]) -> Language:
    """A CSV's language, from its header labels or else its footer labels."""
    if any(w in header_line for w in ("Qtde", "Ação", "Acao", "Código", "Codigo", "Teórica")):
        return "pt-br"
    if any(w in header_line for w in ("Qty", "Code", "Stock", "Asset", "Theor")):
        return "en-us"
    footer = " ".join(last_lines)
    return "en-us" if any(lbl in footer for lbl in EN_LABELS) else "pt-br"
