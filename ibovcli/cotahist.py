"""B3 COTAHIST quote files ("Séries Históricas"): names, download, and a streaming, fully checked reader.

B3 publishes every quote of every session as fixed-width text, zipped (``shared/docs/b3-history.md``
section 3): annual ``COTAHIST_A<YYYY>.ZIP`` (from 1986), monthly ``COTAHIST_M<MM><YYYY>.ZIP`` and daily
``COTAHIST_D<DD><MM><YYYY>.ZIP`` (from 2014), each holding one member whose name varies by year. Records
are 245 latin-1 characters and a line ending (CRLF as B3 sends them, LF in some copies): one ``00``
header, the ``01`` quotes, one ``99`` trailer.

Which quotes are kept
=====================
Every cash-market quote of shares, units, BDRs and funds; nothing else. A ``01`` record is kept when:

1. **TPMERC is 010 (cash market).** This drops odd lots (020), forwards (030), options (070, 080),
   option exercises (012, 013), auctions (017), futures (050, 060) and codes the 2005 layout does not
   list (021 was seen on real files, for tickers ending in ``Q``).
2. **CODBDI is one of** :data:`KEPT_BDI`: 02 standard lot (shares, units, and BDRs until about 2022);
   05, 06, 07, 08, 09, 11: the same securities under a special regime (sanctioned, concordata,
   extrajudicial or judicial recovery, RAET, intervention), which still trade in standard lots on the
   cash market, so their closes belong to the price history (05 was seen holding FIIs); 12
   real-estate funds (FII); 13 agribusiness funds (Fiagro); 14 investment certificates (ETFs, FIDC,
   FIP, FI-Infra); 34, 35, 36 BDRs (unsponsored; sponsored level I-III; BDRs of ETFs); 58 "others"
   (seen holding ``GOLL4`` in November 2024, besides CEPACs). Every other BDI code is left out: 10
   rights and receipts, 22 subscription warrants, 18/26/66/68/83 bonds and debentures, 46-56
   auctions, 62 forward, 74-82 options, 96 odd lot, ...
3. **The class in ESPECI is not a right, receipt, warrant or bond** (:data:`EXCLUDED_CLASSES`): FIIs'
   subscription rights come as BDI 12 with ESPECI ``DIR``; BDI 14 may hold public debt and was seen
   holding ``TPR`` participation securities; BDI 58 holds ``CPA`` (CEPAC) certificates.

Codes 13, 34, 35 and 36 are newer than B3's 2005 layout; what they hold was read on real files (2021
and 2024 daily files). Every IBOV, IDIV and IBXX constituent checked on real bytes is TPMERC 010 with
BDI 02, units included. The reader counts every record it leaves out by reason
(:attr:`Summary.skipped`), so a change in B3's coding shows up in the summary rather than silently.

What the reader checks
======================
Every record is exactly 245 characters and one line; the first is the ``00`` header
``00COTAHIST.<YYYY>BOVESPA <YYYYMMDD>``, the last the ``99`` trailer (same name, origin and date), and
every other one a ``01`` quote; nothing follows the trailer. The trailer's count (columns 32-42) equals
either every record, header and trailer included (the layout's rule, seen on daily files) or only the
``01`` records (reported for a 2026 annual file): anything else is a truncated or edited file. The
content must match the file name: the header's year is the name's year and every session date is the
name's day (daily), month (monthly) or year (annual). Every numeric field (columns 3-10, 25-27,
57-230, 243-245) is ASCII digits. Prices are the 11+2-digit integers divided by FATCOT exactly
(integer arithmetic); a zero FATCOT or a division with more than 8 decimals is refused. Any failure is
a :class:`~ibovcli.errors.SnapshotError` naming the file, the line and the field.

Output, memory and speed
========================
:func:`read_quotes` returns a :class:`QuotesFile`; :meth:`QuotesFile.days` yields ``(date, table)``
per session in date order, each table with exactly :data:`QUOTE_COLUMNS` (rows in file order).
**Nothing is yielded before the whole file has passed every check**, so a truncated file never
produces a partial history. To keep memory flat whatever the file's size or order, kept records are
turned into Arrow batches (about ``batch_rows`` rows, one per day) as the text streams by, and spilled
to an Arrow IPC file in a temporary directory (about 220 bytes per kept row: ~70 MB for a year of
~315,000 kept rows); the days are read back from it in date order, which is also how dates that are
not in order in the file come out right. The input is read in 4 MB chunks, straight from the zip
member. On a synthetic 716 MB annual zip (2.9 million records) the whole read takes ~4 s here
(2.3 s of it is zlib), with a peak RSS of ~155 MB: ``benchmarks/cotahist_parse.py``.

Records are checked a block at a time (:meth:`_Scanner.fast_block`): ``block[c::stride]`` is column
``c`` of every record of a block as one bytes object, so line endings, record types, TPMERC, DISMES
and dates are checked a column at a time in C; numeric columns 57-230 one slice per record; only the
cash-market candidates (~13 %) are looked at one by one. Any block that is not plain, valid 01
records goes to the line-by-line reference path (:meth:`_Scanner.scan_lines`), which applies the same
rules and names the line and field at fault; the tests run both paths on the same files.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import sys
import tempfile
import time
import zipfile
import zlib
from array import array
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Literal, NoReturn

from ibovcli import fetch, schema
from ibovcli.errors import SnapshotError, SourceError
from ibovcli.schema import Column

__all__ = [
    "BDI_NAMES",
    "DEFAULT_BASE_URL",
    "EXCLUDED_CLASSES",
    "KEPT_BDI",
    "MARKET_NAMES",
    "QUOTE_COLUMNS",
    "RECORD_LENGTH",
    "CotahistName",
    "NotPublished",
    "QuotesFile",
    "Summary",
    "arrow_schema",
    "fetch_cotahist",
    "not_published",
    "read_quotes",
]

#: Where B3 serves the files: ``{DEFAULT_BASE_URL}/COTAHIST_D08112024.ZIP``.
DEFAULT_BASE_URL = "https://bvmf.bmfbovespa.com.br/InstDados/SerHist"
#: Characters per record, line ending excluded.
RECORD_LENGTH = 245


#: The columns of every table :meth:`QuotesFile.days` yields, in order (COTAHIST field in brackets);
#: declared in :mod:`ibovcli.schema` (stdlib only, shipped to the Glue job) as ``QUOTES_FIELDS``.
QUOTE_COLUMNS: tuple[Column, ...] = schema.QUOTES_FIELDS

#: TPMERC codes (B3's layout table; only 010 is kept).
MARKET_NAMES: Mapping[str, str] = {
    "010": "cash",
    "012": "call option exercise",
    "013": "put option exercise",
    "017": "auction",
    "020": "odd lot",
    "030": "forward",
    "050": "futures with gain retention",
    "060": "futures with continuous movement",
    "070": "call options",
    "080": "put options",
}

#: CODBDI codes: B3's layout table, its later additions, and (marked "seen") codes read on real files.
BDI_NAMES: Mapping[str, str] = {
    "02": "standard lot",
    "05": "sanctioned under B3 rules",
    "06": "companies in concordata",
    "07": "extrajudicial recovery",
    "08": "judicial recovery",
    "09": "special temporary administration (RAET)",
    "10": "rights and receipts",
    "11": "intervention",
    "12": "real-estate funds",
    "13": "agribusiness funds (seen)",
    "14": "investment certificates and public debt",
    "18": "bonds",
    "22": "subscription warrants",
    "26": "policies, bonds and public securities",
    "32": "index call option exercise",
    "33": "index put option exercise",
    "34": "BDRs, unsponsored (seen)",
    "35": "BDRs, sponsored (seen)",
    "36": "BDRs of ETFs (seen)",
    "38": "call option exercise",
    "42": "put option exercise",
    "46": "auction of unlisted securities",
    "48": "privatisation auction",
    "49": "Espirito Santo recovery fund auction",
    "50": "auction",
    "51": "FINOR auction",
    "52": "FINAM auction",
    "53": "FISET auction",
    "54": "auction of shares in arrears",
    "56": "sales by court order",
    "58": "others",
    "60": "share swap",
    "61": "META",
    "62": "forward",
    "66": "debentures up to 3 years",
    "68": "debentures over 3 years",
    "70": "futures with continuous movement",
    "71": "futures with gain retention",
    "74": "index call options",
    "75": "index put options",
    "78": "call options",
    "82": "put options",
    "83": "debentures and promissory notes",
    "84": "Soma Fix",
    "90": "registered forward",
    "96": "odd lot",
    "99": "grand total",
}

#: BDI codes whose cash-market records are kept (see the module docstring for the reasons).
KEPT_BDI: frozenset[str] = frozenset(
    {"02", "05", "06", "07", "08", "09", "11", "12", "13", "14", "34", "35", "36", "58"}
)

#: ESPECI classes (first word) that are never shares, units, BDRs or fund quotas: left out.
EXCLUDED_CLASSES: Mapping[str, str] = {
    "DIR": "subscription rights",
    "REC": "subscription receipts",
    "BNS": "subscription warrants",
    "WRT": "debenture warrants",
    "LFT": "treasury bills",
    "PCD": "consolidated debt",
    "CPA": "CEPAC certificates",
    "TPR": "participation securities",
}

_HINT = "The file is damaged, truncated or not a B3 COTAHIST file: download it again from B3."
_CHUNK = 1 << 22
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")

# (field, first column, last column) of a 01 record, 1-based as in B3's layout.
_FIELDS = (
    ("TIPREG", 1, 2),
    ("DATPRE", 3, 10),
    ("CODBDI", 11, 12),
    ("CODNEG", 13, 24),
    ("TPMERC", 25, 27),
    ("NOMRES", 28, 39),
    ("ESPECI", 40, 49),
    ("PRAZOT", 50, 52),
    ("MODREF", 53, 56),
    ("PREABE", 57, 69),
    ("PREMAX", 70, 82),
    ("PREMIN", 83, 95),
    ("PREMED", 96, 108),
    ("PREULT", 109, 121),
    ("PREOFC", 122, 134),
    ("PREOFV", 135, 147),
    ("TOTNEG", 148, 152),
    ("QUATOT", 153, 170),
    ("VOLTOT", 171, 188),
    ("PREEXE", 189, 201),
    ("INDOPC", 202, 202),
    ("DATVEN", 203, 210),
    ("FATCOT", 211, 217),
    ("PTOEXE", 218, 230),
    ("CODISI", 231, 242),
    ("DISMES", 243, 245),
)
_NUMERIC = frozenset(
    {"DATPRE", "TPMERC", "PREABE", "PREMAX", "PREMIN", "PREMED", "PREULT", "PREOFC", "PREOFV", "TOTNEG"}
    | {"QUATOT", "VOLTOT", "PREEXE", "INDOPC", "DATVEN", "FATCOT", "PTOEXE", "DISMES"}
)
# 0-based text columns (CODBDI..MODREF, CODISI): the only ones that could hide a line ending.
_TEXT_COLUMNS = (*range(10, 24), *range(27, 56), *range(230, 242))
# 0-based slices of the seven prices (PREABE..PREOFV), 13 digits each.
_PRICE_SLICES = tuple((56 + 13 * i, 69 + 13 * i) for i in range(7))
_PRICE_SCALE = 10**6  # cents -> 8 decimals


class NotPublished(SourceError):
    """B3 answered 404 for a COTAHIST file: no session that day, or not published yet. Never retried."""

    hint = (
        "Daily files appear around 20:30-20:45 Brasilia time on the session day; weekends and "
        "holidays have none. Try again later, or ask for another day."
    )


# ----------------------------------------------------------------------------------------------
# file names

Kind = Literal["daily", "monthly", "annual"]

_NAME_RE = re.compile(
    r"COTAHIST[_.]?(?:D(?P<dd>\d{2})(?P<dm>\d{2})(?P<dy>\d{4})|M(?P<mm>\d{2})(?P<my>\d{4})|A?(?P<ay>\d{4}))"
    r"(?:\.(?:ZIP|TXT))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CotahistName:
    """Which file: ``daily`` (year, month, day), ``monthly`` (year, month) or ``annual`` (year)."""

    kind: Kind
    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        want = {"daily": (True, True), "monthly": (True, False), "annual": (False, False)}.get(self.kind)
        if want is None:
            raise ValueError(f"kind must be daily, monthly or annual, not {self.kind!r}")
        if (self.month is not None, self.day is not None) != want:
            fields = {"daily": "year, month and day", "monthly": "year and month", "annual": "a year only"}
            raise ValueError(f"a {self.kind} COTAHIST name takes {fields[self.kind]}")
        if not 1900 <= self.year <= 9999:
            raise ValueError(f"year out of range: {self.year}")
        date(self.year, self.month or 1, self.day or 1)  # ValueError for an impossible date

    @classmethod
    def parse(cls, name: str) -> CotahistName:
        """``COTAHIST_D08112024.ZIP``, ``COTAHIST_M012024.TXT``, ``cotahist_a2024.zip``, and zip members
        such as ``COTAHIST.A1986`` or ``COTAHIST_A2002.TXT`` (any case, directories ignored)."""
        base = re.split(r"[/\\]", name)[-1]
        m = _NAME_RE.fullmatch(base)
        if m is None:
            raise SnapshotError(
                f"not a COTAHIST file name: {base!r}",
                hint="B3 names them COTAHIST_D<DDMMYYYY>.ZIP, COTAHIST_M<MMYYYY>.ZIP, COTAHIST_A<YYYY>.ZIP.",
            )
        g = m.groupdict()
        try:
            if g["dy"]:
                return cls("daily", int(g["dy"]), int(g["dm"]), int(g["dd"]))
            if g["my"]:
                return cls("monthly", int(g["my"]), int(g["mm"]))
            return cls("annual", int(g["ay"]))
        except ValueError as exc:
            raise SnapshotError(f"not a valid COTAHIST file name: {base!r} ({exc})") from None

    @classmethod
    def for_day(cls, d: date) -> CotahistName:
        return cls("daily", d.year, d.month, d.day)

    @classmethod
    def for_month(cls, year: int, month: int) -> CotahistName:
        return cls("monthly", year, month)

    @classmethod
    def for_year(cls, year: int) -> CotahistName:
        return cls("annual", year)

    @property
    def stem(self) -> str:
        """``COTAHIST_D08112024``, ``COTAHIST_M112024``, ``COTAHIST_A2024``."""
        if self.kind == "daily":
            return f"COTAHIST_D{self.day:02d}{self.month:02d}{self.year:04d}"
        if self.kind == "monthly":
            return f"COTAHIST_M{self.month:02d}{self.year:04d}"
        return f"COTAHIST_A{self.year:04d}"

    @property
    def filename(self) -> str:
        """B3's download name, e.g. ``COTAHIST_D08112024.ZIP``."""
        return self.stem + ".ZIP"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month or 1, self.day or 1)

    @property
    def last_day(self) -> date:
        if self.kind == "daily":
            return self.first_day
        if self.kind == "annual" or self.month == 12:
            return date(self.year, 12, 31)
        return date(self.year, (self.month or 0) + 1, 1) - timedelta(days=1)

    def covers(self, d: date) -> bool:
        """True when a quote of session ``d`` belongs in this file."""
        return self.first_day <= d <= self.last_day

    def __str__(self) -> str:
        return self.stem


# ----------------------------------------------------------------------------------------------
# reader


@dataclass(frozen=True)
class Summary:
    """What one COTAHIST file held, known once the whole file has been checked."""

    name: CotahistName
    source: str  # the path read, or "<bytes>"
    sha256: str  # of the input bytes as given (the zip, when zipped)
    size: int  # input bytes
    text_size: int  # bytes of text (unzipped)
    member: str | None  # the zip member read, None for text input
    line_ending: Literal["CRLF", "LF"]
    header_date: date  # generation date in the header (and the trailer)
    records: int  # 01 records
    kept: int  # 01 records kept: rows of the yielded tables
    kept_by_bdi: dict[str, int]
    skipped: dict[str, int]  # reason -> records, e.g. "TPMERC 070 call options"
    trailer_count: int  # the trailer's record count
    trailer_counts_all: bool  # True: the count includes header and trailer; False: only the 01 records
    sessions: tuple[date, ...]  # every session date of the file, in order
    kept_sessions: tuple[date, ...]  # the days :meth:`QuotesFile.days` yields, in order


Source = str | os.PathLike[str] | bytes | bytearray | memoryview


def read_quotes(
    source: Source,
    *,
    name: str | CotahistName | None = None,
    spill_dir: str | os.PathLike[str] | None = None,
    batch_rows: int = 32768,
    chunk_size: int = _CHUNK,
) -> QuotesFile:
    """A COTAHIST file to read: a path to a ``.ZIP`` (one member, whatever its name) or text file
    (CRLF or LF), or the same as bytes. Zip or text is told from the content.

    ``name`` (a file name or :class:`CotahistName`) says which day, month or year the file must hold;
    by default it comes from the path's name, else from the zip member's name. Nothing is read until
    :meth:`QuotesFile.days` or :meth:`QuotesFile.check`.

    ``spill_dir``: where the temporary spill file goes (default: the system's temporary directory).
    ``batch_rows``: kept rows per Arrow batch, about. ``chunk_size``: bytes of text read per step.
    """
    return QuotesFile(source, name=name, spill_dir=spill_dir, batch_rows=batch_rows, chunk_size=chunk_size)


class QuotesFile:
    """One COTAHIST file. :meth:`days` streams its kept quotes per session; :attr:`summary` follows."""

    def __init__(
        self,
        source: Source,
        *,
        name: str | CotahistName | None = None,
        spill_dir: str | os.PathLike[str] | None = None,
        batch_rows: int = 32768,
        chunk_size: int = _CHUNK,
    ) -> None:
        if isinstance(source, bytes | bytearray | memoryview):
            self._data: bytes | None = bytes(source)
            self._path: Path | None = None
        else:
            self._data = None
            self._path = Path(source)
        if batch_rows < 1 or chunk_size < 1:
            raise ValueError("batch_rows and chunk_size must be positive")
        self._chunk_size = chunk_size
        #: False: check every record line by line (the reference path; for tests)
        self._fast = True
        self._given_name = CotahistName.parse(name) if isinstance(name, str) else name
        self._given_label = re.split(r"[/\\]", name)[-1] if isinstance(name, str) else None
        self._spill_dir = spill_dir
        self._batch_rows = batch_rows
        self._summary: Summary | None = None

    @property
    def summary(self) -> Summary:
        """The file's :class:`Summary`: set as soon as :meth:`days` yields its first day (every check
        has passed by then), or when :meth:`days` or :meth:`check` ends."""
        if self._summary is None:
            raise RuntimeError("the file has not been read yet: iterate days() or call check() first")
        return self._summary

    def check(self) -> Summary:
        """Read and check the whole file without building tables; its :class:`Summary`."""
        for _ in self._read(spill=False):
            pass
        return self.summary

    def days(self) -> Iterator[tuple[date, Any]]:
        """``(session_date, pyarrow.Table)`` per session with kept quotes, in date order; each table
        has exactly :data:`QUOTE_COLUMNS`, rows in file order. Raises :class:`SnapshotError` before
        yielding anything if any check fails."""
        return self._read(spill=True)

    # -- reading -------------------------------------------------------------------------------

    def _read(self, *, spill: bool) -> Iterator[tuple[date, Any]]:
        self._summary = None
        input_info: dict[str, Any] = {}
        chunks = self._chunks(input_info)
        with contextlib.ExitStack() as stack:
            store = None
            if spill:
                tmp = stack.enter_context(
                    tempfile.TemporaryDirectory(prefix="ibov-cotahist-", dir=self._spill_dir)
                )
                store = _Spill(Path(tmp) / "kept.arrow")
            scanner = _Scanner(
                self._label(),
                lambda: self._resolve_name(input_info.get("member")),
                store,
                self._batch_rows,
                fast=self._fast,
            )
            for chunk in chunks:
                scanner.feed(chunk)
            result = scanner.finish()
            if store is not None:
                store.close()
            self._summary = Summary(
                name=scanner.name,
                source=str(self._path) if self._path is not None else "<bytes>",
                sha256=input_info["sha256"],
                size=input_info["size"],
                text_size=scanner.text_size,
                member=input_info.get("member"),
                line_ending="CRLF" if scanner.crlf else "LF",
                header_date=result["header_date"],
                records=result["records"],
                kept=result["kept"],
                kept_by_bdi=result["kept_by_bdi"],
                skipped=result["skipped"],
                trailer_count=result["trailer_count"],
                trailer_counts_all=result["trailer_counts_all"],
                sessions=result["sessions"],
                kept_sessions=result["kept_sessions"],
            )
            if store is not None:
                yield from store.days()

    def _label(self) -> str:
        if self._path is not None:
            return self._path.name
        if self._given_label:
            return self._given_label
        return self._given_name.filename if self._given_name else "COTAHIST data"

    def _resolve_name(self, member: str | None) -> CotahistName:
        """The name the content must match: given, else the path's, else the zip member's."""
        if self._given_name is not None:
            return self._given_name
        candidates = [self._path.name] if self._path is not None else []
        if member is not None:
            candidates.append(member)
        for candidate in candidates:
            try:
                return CotahistName.parse(candidate)
            except SnapshotError:
                continue
        names = " or ".join(map(repr, candidates)) or "bytes without a name"
        raise SnapshotError(
            f"cannot tell which day, month or year {self._label()} holds: {names} is not a COTAHIST name",
            hint="Pass name='COTAHIST_D08112024.ZIP' (or a CotahistName) to read_quotes.",
        )

    def _chunks(self, info: dict[str, Any]) -> Iterator[bytes]:
        """The text, in chunks; fills ``info`` (sha256, size, member) on the way."""
        label = self._label()
        if self._data is not None:
            data = self._data
            info["sha256"] = hashlib.sha256(data).hexdigest()
            info["size"] = len(data)
            if data[:4] in _ZIP_MAGIC:
                yield from _zip_chunks(io.BytesIO(data), label, info, self._chunk_size)
            else:
                for i in range(0, len(data), self._chunk_size):
                    yield data[i : i + self._chunk_size]
            return
        assert self._path is not None
        try:
            fh = self._path.open("rb")
        except OSError as exc:
            raise SnapshotError(f"cannot read {self._path}: {exc.strerror or exc}") from None
        with fh:
            if fh.read(4) in _ZIP_MAGIC:
                digest = hashlib.sha256()
                fh.seek(0)
                while block := fh.read(_CHUNK):
                    digest.update(block)
                info["sha256"] = digest.hexdigest()
                info["size"] = fh.tell()
                fh.seek(0)
                yield from _zip_chunks(fh, label, info, self._chunk_size)
                return
            fh.seek(0)
            digest = hashlib.sha256()
            size = 0
            while block := fh.read(self._chunk_size):
                digest.update(block)
                size += len(block)
                yield block
            info["sha256"] = digest.hexdigest()
            info["size"] = size


def _zip_chunks(fh: BinaryIO, label: str, info: dict[str, Any], chunk_size: int) -> Iterator[bytes]:
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SnapshotError(f"{label} is not a readable zip file ({exc})", hint=_HINT) from None
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        if len(members) != 1:
            listed = ", ".join(m.filename for m in members[:5]) or "nothing"
            raise SnapshotError(
                f"{label} holds {len(members)} files ({listed}); a COTAHIST zip holds exactly one",
                hint=_HINT,
            )
        info["member"] = members[0].filename
        try:
            with zf.open(members[0]) as member:
                while block := member.read(chunk_size):
                    yield block
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            raise SnapshotError(f"{label} is a damaged zip file ({exc})", hint=_HINT) from None


class _Scanner:
    """Checks records as text arrives and hands kept ones to a :class:`_Spill` in batches.

    Two paths check the same rules. :meth:`scan_block` checks whole blocks of records at C speed with
    strided slices (``block[c::stride]`` is column ``c`` of every record) and touches only the
    candidate records one by one; whenever a block is not plain 01 records of the right shape with
    valid dates and digits, it hands the block to :meth:`scan_lines`, the line-by-line reference
    path, which finds and names the exact problem (or handles the header, the trailer, a last line
    without line ending).
    """

    def __init__(
        self,
        label: str,
        resolve_name: Callable[[], CotahistName],
        store: _Spill | None,
        batch_rows: int,
        *,
        fast: bool = True,
    ) -> None:
        self.label = label
        self._resolve_name = resolve_name
        self.name: CotahistName = CotahistName("annual", 2000)  # replaced at the header
        self.store = store
        self.batch_rows = batch_rows
        self.fast = fast
        self.crlf = True
        self.reclen = RECORD_LENGTH + 1  # record + CR (CRLF files), or the record alone (LF)
        self.text_size = 0
        self.lineno = 0  # lines fully processed
        self.tail = b""
        self.header: bytes | None = None
        self.header_date = date(2000, 1, 1)
        self.trailer: bytes | None = None
        self.trailer_line = 0
        self.dates: dict[bytes, date] = {}
        self.market_skips: dict[bytes, int] = {}
        self.bdi_skips: dict[bytes, int] = {}
        self.class_skips: dict[bytes, int] = {}
        self.kept_by_bdi: dict[str, int] = {}
        self.kept_days: set[date] = set()
        self.kept = 0
        self.pending: dict[date, list[bytes]] = {}
        self.pending_rows = 0
        self.kept_bdi = frozenset(code.encode() for code in KEPT_BDI)
        self.excluded = frozenset(cls.encode() + b" " for cls in EXCLUDED_CLASSES)
        self._constants: dict[tuple[int, int], bytes] = {}
        self._spans: dict[int, list[slice]] = {}

    # -- errors --------------------------------------------------------------------------------

    def refuse(self, lineno: int, what: str) -> NoReturn:
        raise SnapshotError(f"{self.label} line {lineno}: {what}", hint=_HINT)

    # -- feeding -------------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> None:
        self.text_size += len(chunk)
        data = self.tail + chunk if self.tail else chunk
        self.tail = b""
        if self.header is None:
            end = data.find(b"\n")
            if end < 0:
                if len(data) > 4 * RECORD_LENGTH:
                    self.refuse(1, f"no line ending within {len(data):,} characters")
                self.tail = data
                return
            self.start(data[:end])
            self.lineno = 1
            data = data[end + 1 :]
        stride = self.reclen + 1
        whole = len(data) // stride * stride
        self.tail = data[whole:]
        if whole:
            self.scan_block(data, whole // stride)
        if self.pending_rows >= self.batch_rows:
            self.flush()

    def start(self, first: bytes) -> None:
        self.crlf = first.endswith(b"\r")
        self.reclen = RECORD_LENGTH + 1 if self.crlf else RECORD_LENGTH
        self.check_length(1, first)
        if first[:2] != b"00":
            self.refuse(1, f"the file does not start with a 00 header record: {_show(first[:40])}")
        self.read_header(first)

    def check_length(self, lineno: int, line: bytes) -> None:
        if self.trailer is not None:
            self.refuse(lineno, f"data after the 99 trailer record (line {self.trailer_line})")
        if len(line) == self.reclen and (not self.crlf or line[-1] == 13):
            return
        body = line[:-1] if line.endswith(b"\r") else line
        if len(body) != RECORD_LENGTH:
            self.refuse(lineno, f"a record is {RECORD_LENGTH} characters, this one has {len(body)}")
        ending, other = ("CRLF", "LF") if self.crlf else ("LF", "CRLF")
        self.refuse(lineno, f"this line ends with {other}, the file's first line with {ending}")

    def read_header(self, line: bytes) -> None:
        if line[2:11] != b"COTAHIST." or line[15:23] != b"BOVESPA ":
            self.refuse(
                1, f"not a COTAHIST header: {_show(line[:31])} (expected 00COTAHIST.<YYYY>BOVESPA ...)"
            )
        year_text = line[11:15]
        if not year_text.isdigit():
            self.refuse(1, f"the header's year (columns 12-15) is not a year: {_show(year_text)}")
        self.header_date = self.parse_date(1, line[23:31], "the header's generation date (columns 24-31)")
        self.name = self._resolve_name()
        if int(year_text) != self.name.year:
            self.refuse(
                1,
                f"the header says year {int(year_text)}, the file name {self.name.filename} says "
                f"{self.name.year}: the file is misnamed or not the one asked for",
            )
        self.header = line

    def parse_date(self, lineno: int, text: bytes, what: str) -> date:
        if not text.isdigit():
            self.refuse(lineno, f"{what} is not a date: {_show(text)}")
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        except ValueError:
            self.refuse(lineno, f"{what} is not a valid date: {_show(text)}")

    def session_day(self, n: int, db: bytes) -> date:
        """The session of date bytes ``db`` (line ``n``), checked once per distinct value."""
        d = self.dates.get(db)
        if d is None:
            d = self.parse_date(n, db, "DATPRE (columns 3-10), the session date,")
            if not self.name.covers(d):
                if self.name.kind == "daily":
                    where = f"the day {self.name.first_day.isoformat()}"
                elif self.name.kind == "monthly":
                    where = f"{self.name.first_day:%Y-%m}"
                else:
                    where = f"{self.name.year}"
                self.refuse(
                    n,
                    f"session date {d.isoformat()} is not in {where} that the name {self.name.filename} "
                    "says: the file is misnamed or not the one asked for",
                )
            self.dates[db] = d
        return d

    def _valid_date(self, db: bytes) -> bool:
        """Whether ``db`` is a valid session date of this file (without raising)."""
        if db in self.dates:
            return True
        try:
            self.session_day(0, db)
        except SnapshotError:
            return False
        return True

    def constant(self, byte: int, n: int) -> bytes:
        key = (byte, n)
        value = self._constants.get(key)
        if value is None:
            if len(self._constants) > 64:
                self._constants.clear()
            value = self._constants[key] = bytes((byte,)) * n
        return value

    # -- the fast path: whole blocks -----------------------------------------------------------

    def scan_block(self, block: bytes, n: int) -> None:
        """The first ``n`` records of ``block`` (whole lines): fast path, else line by line."""
        stride = self.reclen + 1
        done = 0
        if self.fast and self.trailer is None:
            # the trailer ends the file: the last block checks all but its last record fast
            last_is_trailer = block[(n - 1) * stride : (n - 1) * stride + 2] == b"99"
            fast_n = n - 1 if last_is_trailer else n
            if fast_n > 0 and self.fast_block(block, fast_n):
                done = fast_n
        if done < n:
            lines = block[done * stride : n * stride].split(b"\n")
            partial = lines.pop()  # b"" when the block ends with a line ending, as it should
            self.scan_lines(lines)
            if partial:
                self.tail = partial + self.tail

    def spans(self, n: int) -> list[slice]:
        """Slices of the numeric columns 57-230 of ``n`` records (cached: most blocks have one size)."""
        cached = self._spans.get(n)
        if cached is None:
            stride = self.reclen + 1
            if len(self._spans) > 4:
                self._spans.clear()
            cached = self._spans[n] = [slice(i, i + 174) for i in range(56, n * stride, stride)]
        return cached

    def fast_block(self, block: bytes, n: int) -> bool:
        """Check and take the first ``n`` records of ``block`` if they are all plain, valid 01 records
        of the right shape; False (nothing taken) if anything is unusual.

        ``block[c:size:stride]`` is column ``c`` of every record, as one bytes object: line endings,
        record types, TPMERC, DISMES and dates are checked a whole column at a time.
        """
        stride = self.reclen + 1
        size = n * stride
        const = self.constant
        if block[stride - 1 : size : stride] != const(10, n):
            return False  # not n lines of the right length
        if self.crlf and block[stride - 2 : size : stride] != const(13, n):
            return False
        if block[0:size:stride] != const(48, n) or block[1:size:stride] != const(49, n):
            return False  # not all 01
        for c in _TEXT_COLUMNS:  # a line ending inside a text field would split the record
            if 10 in block[c:size:stride]:
                return False
        t0, t1, t2 = block[24:size:stride], block[25:size:stride], block[26:size:stride]
        if t0 != const(48, n) or not t1.isdigit() or not t2.isdigit():
            return False  # TPMERC not 0dd: let the reference path deal with it
        for c in (242, 243, 244):
            if not block[c:size:stride].isdigit():
                return False
        runs = _runs([block[c:size:stride] for c in range(2, 10)], n)
        keys: list[bytes] | None = None
        if runs is not None:
            if not all(self._valid_date(db) for _, db in runs):
                return False
        else:  # dates out of order: one key per record
            keys = [block[i : i + 8] for i in range(2, size, stride)]
            if not all(self._valid_date(k) for k in set(keys)):
                return False
        if not all(map(bytes.isdigit, map(block.__getitem__, self.spans(n)))):
            return False
        # every check passed: count the markets, take the candidates (TPMERC 010)
        odd: dict[int, bytes] = {}  # record index -> TPMERC, for codes not ending in 0 (012, 013...)
        for digit in b"123456789":
            ch = bytes((digit,))
            i = t2.find(ch)
            while i >= 0:
                odd[i] = b"0" + t1[i : i + 1] + ch
                i = t2.find(ch, i + 1)
        market_skips = self.market_skips
        for digit in b"0123456789":
            ch = bytes((digit,))
            count = t1.count(ch)
            if count:
                code = b"0" + ch + b"0"
                count -= sum(1 for i in odd if t1[i] == digit)
                if code != b"010" and count:
                    market_skips[code] = market_skips.get(code, 0) + count
        for code in odd.values():
            market_skips[code] = market_skips.get(code, 0) + 1
        base = self.lineno
        reclen = self.reclen
        candidate = self.candidate
        dates = self.dates
        run_ends = iter(runs or [])
        run_end, day = 0, date.min
        i = t1.find(b"1")
        while i >= 0:
            if i not in odd:
                if keys is not None:
                    day = dates[keys[i]]
                else:
                    while i >= run_end:
                        run_end, db = next(run_ends)
                        day = dates[db]
                at = i * stride
                candidate(base + i + 1, block[at : at + reclen], day)
            i = t1.find(b"1", i + 1)
        self.lineno = base + n
        return True

    def candidate(self, n: int, line: bytes, day: date) -> None:
        """A cash-market (TPMERC 010) record: keep it, or count why not."""
        bdi = line[10:12]
        if bdi not in self.kept_bdi:
            self.bdi_skips[bdi] = self.bdi_skips.get(bdi, 0) + 1
            return
        cls = line[39:43]
        if cls in self.excluded:
            self.class_skips[cls] = self.class_skips.get(cls, 0) + 1
            return
        if line[210:217] != b"0000001":
            self.check_factor(n, line)
        if line[12] == 32:
            self.refuse(n, "CODNEG (columns 13-24), the ticker, is blank")
        lines = self.pending.get(day)
        if lines is None:
            lines = self.pending[day] = []
        lines.append(line)
        self.pending_rows += 1

    # -- the reference path: line by line ------------------------------------------------------

    def scan_lines(self, lines: list[bytes]) -> None:
        """Every record of ``lines`` (line endings removed, CR kept), one by one, every check."""
        n = self.lineno
        try:
            for line in lines:
                n += 1
                self.check_length(n, line)
                if line[:2] != b"01":
                    self.other_record(n, line)
                    continue
                day = self.session_day(n, line[2:10])
                if not (line[56:230].isdigit() and line[24:27].isdigit() and line[242:245].isdigit()):
                    self.bad_number(n, line)
                tpmerc = line[24:27]
                if tpmerc != b"010":
                    self.market_skips[tpmerc] = self.market_skips.get(tpmerc, 0) + 1
                    continue
                self.candidate(n, line, day)
        finally:
            self.lineno = n

    def bad_number(self, n: int, line: bytes) -> NoReturn:
        for field, first, last in _FIELDS:
            text = line[first - 1 : last]
            if field in _NUMERIC and not text.isdigit():
                self.refuse(n, f"{field} (columns {first}-{last}) is not a number: {_show(text)}")
        raise AssertionError("bad_number called on a valid record")

    def check_factor(self, n: int, line: bytes) -> None:
        factor = int(line[210:217])
        if factor == 0:
            self.refuse(n, "FATCOT (columns 211-217), the quote factor, is zero")
        for (a, b), (field, first, last) in zip(_PRICE_SLICES, _FIELDS[9:16], strict=True):
            if int(line[a:b]) * _PRICE_SCALE % factor:
                self.refuse(
                    n,
                    f"{field} (columns {first}-{last}) {int(line[a:b]) / 100} divided by FATCOT {factor} "
                    "needs more than 8 decimals",
                )

    def other_record(self, n: int, line: bytes) -> None:
        if self.trailer is not None:
            self.refuse(n, f"data after the 99 trailer record (line {self.trailer_line})")
        kind = line[:2]
        if kind == b"99":
            self.trailer = line
            self.trailer_line = n
            return
        if kind == b"00":
            self.refuse(n, "a second 00 header record")
        self.refuse(n, f"unknown record type {_show(kind)} (expected 01 quote or 99 trailer)")

    def flush(self) -> None:
        """Hand the collected kept records to the spill, one Arrow batch per day."""
        for day, lines in self.pending.items():
            self.kept += len(lines)
            self.kept_days.add(day)
            for line in lines:
                code = line[10:12].decode("latin-1")
                self.kept_by_bdi[code] = self.kept_by_bdi.get(code, 0) + 1
            if self.store is not None:
                self.store.add(day, lines)
        self.pending = {}
        self.pending_rows = 0

    # -- the end -------------------------------------------------------------------------------

    def finish(self) -> dict[str, Any]:
        if self.tail:
            last = self.tail
            self.tail = b""
            lines = last.split(b"\n")
            final = lines.pop()  # what follows the last line ending: a last line without one
            if final:
                if self.crlf and len(final) == RECORD_LENGTH:
                    final += b"\r"  # accepted
                lines.append(final)
            if self.header is None and lines:
                self.start(lines.pop(0))
                self.lineno = 1
            self.scan_lines(lines)
        if self.header is None:
            raise SnapshotError(f"{self.label} is empty", hint=_HINT)
        total = self.lineno
        if self.trailer is None:
            self.refuse(
                total, f"the file ends without its 99 trailer record after {total} lines: it is truncated"
            )
        if self.trailer_line != total:
            self.refuse(self.trailer_line + 1, f"data after the 99 trailer record (line {self.trailer_line})")
        self.flush()
        trailer = self.trailer
        header = self.header
        if trailer[2:23] != header[2:23] or trailer[23:31] != header[23:31]:
            self.refuse(
                total,
                f"the trailer {_show(trailer[:31])} does not repeat the header {_show(header[:31])}",
            )
        count_text = trailer[31:42]
        if not count_text.isdigit():
            self.refuse(
                total, f"the trailer's record count (columns 32-42) is not a number: {_show(count_text)}"
            )
        count = int(count_text)
        records = total - 2
        if count not in (total, records):
            self.refuse(
                total,
                f"the trailer counts {count:,} records but the file has {total:,} ({records:,} quotes): "
                "it is truncated or was edited",
            )
        skipped: dict[str, int] = {}
        for code, k in self.market_skips.items():
            text = code.decode("latin-1")
            skipped[f"TPMERC {text} {MARKET_NAMES.get(text, 'not in the layout')}"] = k
        for code, k in self.bdi_skips.items():
            text = code.decode("latin-1")
            skipped[f"BDI {text} {BDI_NAMES.get(text, 'not in the layout')}"] = k
        for code, k in self.class_skips.items():
            text = code.decode("latin-1").strip()
            skipped[f"ESPECI {text} {EXCLUDED_CLASSES[text]}"] = k
        return {
            "header_date": self.header_date,
            "records": records,
            "kept": self.kept,
            "kept_by_bdi": dict(sorted(self.kept_by_bdi.items())),
            "skipped": dict(sorted(skipped.items())),
            "trailer_count": count,
            "trailer_counts_all": count == total,
            "sessions": tuple(sorted(self.dates.values())),
            "kept_sessions": tuple(sorted(self.kept_days)),
        }


def _runs(columns: list[bytes], n: int, limit: int = 32) -> list[tuple[int, bytes]] | None:
    """Runs of equal values over ``n`` records, from the value's columns (one bytes per column):
    ``[(end, value), ...]`` in record order, or None beyond ``limit`` runs (values out of order)."""
    runs: list[tuple[int, bytes]] = []
    start = 0
    while start < n:
        if len(runs) == limit:
            return None
        rests = [col[start:] if start else col for col in columns]
        value = bytes(rest[0] for rest in rests)
        # the run ends where the first column stops repeating its first byte
        length = min(len(rest) - len(rest.lstrip(rest[0:1])) for rest in rests)
        start += length
        runs.append((start, value))
    return runs


def _show(text: bytes) -> str:
    return repr(text.decode("latin-1"))


# ----------------------------------------------------------------------------------------------
# Arrow: batches, spill


def arrow_schema() -> Any:
    """The pyarrow schema of :data:`QUOTE_COLUMNS`."""
    import pyarrow as pa

    types = {"string": pa.string(), "date": pa.date32(), "int": pa.int32(), "bigint": pa.int64()}

    def to_arrow(t: str) -> Any:
        if t.startswith("decimal("):
            p, s = (int(x) for x in t[len("decimal(") : -1].split(","))
            return pa.decimal128(p, s)
        return types[t]

    return pa.schema([pa.field(c.name, to_arrow(c.type), nullable=c.nullable) for c in QUOTE_COLUMNS])


def _decimal_array(pa: Any, typ: Any, values: list[int], *, zero_is_null: bool = False) -> Any:
    """A decimal128 array from unscaled non-negative integers below 2**64, built from its buffer."""
    n = len(values)
    if sys.byteorder != "little":  # pragma: no cover - Arrow's decimals are little-endian here
        from decimal import Decimal

        scale = typ.scale
        return pa.array(
            [None if zero_is_null and v == 0 else Decimal(v).scaleb(-scale) for v in values], type=typ
        )
    words = array("Q", bytes(16 * n))
    words[0::2] = array("Q", values)
    validity = None
    if zero_is_null and 0 in values:
        validity = pa.array([v != 0 for v in values], type=pa.bool_()).buffers()[1]
    return pa.Array.from_buffers(typ, n, [validity, pa.py_buffer(words)], null_count=-1)


def _batch(pa: Any, schema: Any, day: date, lines: list[bytes]) -> Any:
    """One Arrow record batch from kept 01 records (already checked) of one day.

    The records become one fixed-size binary array (one copy); every column is sliced and cast by
    Arrow's compute kernels. Prices: cents x 10**6 // FATCOT as int64 (exact: the scanner refused
    inexact divisions), cast to decimal128(20, 0) and its buffer read as decimal128(20, 8).
    """
    import pyarrow.compute as pc

    n = len(lines)
    buf = b"".join(lines)
    records = pa.Array.from_buffers(pa.binary(len(lines[0])), n, [None, pa.py_buffer(buf)])
    plain = buf.isascii()  # then the latin-1 text is also its UTF-8

    def text(a: int, b: int, strip: bool = True) -> Any:
        if not plain:
            return pa.array([line[a:b].decode("latin-1").rstrip(" ") for line in lines], type=pa.string())
        values = pc.binary_slice(records, a, b).cast(pa.string())
        return pc.utf8_rtrim(values, characters=" ") if strip else values

    def integer(a: int, b: int, typ: Any = None) -> Any:
        return pc.binary_slice(records, a, b).cast(pa.string()).cast(typ or pa.int64())

    def scaled(values: Any, typ: Any) -> Any:
        """int64 unscaled values as decimals of type ``typ`` (same buffer, new scale)."""
        raw = values.cast(pa.decimal128(typ.precision, 0))
        return pa.Array.from_buffers(typ, n, [None, raw.buffers()[1]], offset=raw.offset)

    factor = integer(210, 217)
    unit = pc.all(pc.equal(factor, 1)).as_py()
    price_type = schema.field("open").type
    prices = []
    for i, (a, b) in enumerate(_PRICE_SLICES):
        cents = integer(a, b)
        try:
            unscaled = pc.multiply_checked(cents, _PRICE_SCALE)
        except pa.ArrowInvalid:  # a price above 92 billion: exact Python integers instead
            return _batch_python(pa, schema, day, lines)
        if not unit:
            unscaled = pc.divide(unscaled, factor)  # integer division, exact
        price = scaled(unscaled, price_type)
        if i >= 5:  # best bid / best ask: zero means no offer
            price = pc.if_else(pc.equal(cents, 0), pa.scalar(None, type=price_type), price)
        prices.append(price)
    columns = [
        pa.array([day] * n, type=pa.date32()),
        text(12, 24),
        text(230, 242),
        text(10, 12, strip=False),
        text(24, 27, strip=False),
        text(27, 39),
        text(39, 49),
        text(52, 56),
        *prices,
        integer(147, 152, pa.int32()),
        integer(152, 170),
        scaled(integer(170, 188), schema.field("volume").type),
        factor.cast(pa.int32()),
        integer(242, 245, pa.int32()),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _batch_python(pa: Any, schema: Any, day: date, lines: list[bytes]) -> Any:
    """:func:`_batch` with Python integers: the reference, and the path for prices beyond int64."""
    n = len(lines)
    factors = [int(line[210:217]) for line in lines]
    prices = [
        [int(line[a:b]) * _PRICE_SCALE // f for line, f in zip(lines, factors, strict=True)]
        for a, b in _PRICE_SLICES
    ]
    price_type = schema.field("open").type

    def text(a: int, b: int) -> Any:
        return pa.array([line[a:b].decode("latin-1").rstrip(" ") for line in lines], type=pa.string())

    columns = [
        pa.array([day] * n, type=pa.date32()),
        text(12, 24),
        text(230, 242),
        text(10, 12),
        text(24, 27),
        text(27, 39),
        text(39, 49),
        text(52, 56),
        *(_decimal_array(pa, price_type, values) for values in prices[:5]),
        *(_decimal_array(pa, price_type, values, zero_is_null=True) for values in prices[5:]),
        pa.array([int(line[147:152]) for line in lines], type=pa.int32()),
        pa.array([int(line[152:170]) for line in lines], type=pa.int64()),
        _decimal_array(pa, schema.field("volume").type, [int(line[170:188]) for line in lines]),
        pa.array(factors, type=pa.int32()),
        pa.array([int(line[242:245]) for line in lines], type=pa.int32()),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


class _Spill:
    """Kept rows as Arrow batches in one IPC file on disk, indexed by day, read back in date order."""

    def __init__(self, path: Path) -> None:
        import pyarrow as pa

        self.pa = pa
        self.schema = arrow_schema()
        self.path = path
        self.writer: Any = None
        self.index: dict[date, list[int]] = {}
        self.batches = 0

    def add(self, day: date, lines: list[bytes]) -> None:
        if self.writer is None:
            self.writer = self.pa.ipc.new_file(str(self.path), self.schema)
        self.writer.write_batch(_batch(self.pa, self.schema, day, lines))
        self.index.setdefault(day, []).append(self.batches)
        self.batches += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def days(self) -> Iterator[tuple[date, Any]]:
        if not self.index:
            return
        pa = self.pa
        with pa.OSFile(str(self.path)) as fh:
            reader = pa.ipc.open_file(fh)
            for day in sorted(self.index):
                batches = [reader.get_batch(i) for i in self.index[day]]
                yield day, pa.Table.from_batches(batches, schema=self.schema).combine_chunks()


# ----------------------------------------------------------------------------------------------
# download


def fetch_cotahist(
    name: CotahistName | str,
    *,
    dest: Path,
    base_url: str = DEFAULT_BASE_URL,
    policy: fetch.HttpPolicy | None = None,
    session: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    on_event: Callable[[str], None] = lambda _msg: None,
    started: float | None = None,
) -> Path:
    """Download ``{base_url}/{name.filename}`` to ``dest`` (a file path, or a directory to put
    ``name.filename`` in) and return the path written.

    The body goes to a temporary file next to the destination, renamed over it once complete, so
    ``dest`` is either the old file or the whole new one. A 404 raises :class:`NotPublished` at once
    (not retried); other failures are :class:`SourceError` / :class:`BlockedError` as for the
    portfolio (:func:`ibovcli.fetch.get`), and an answer that is not a one-member zip is a
    :class:`SnapshotError`. The content is not parsed here: :func:`read_quotes` does that.
    """
    if isinstance(name, str):
        name = CotahistName.parse(name)
    target = dest / name.filename if dest.is_dir() else dest
    policy = policy or fetch.HttpPolicy()
    http = session or fetch.new_session(accept="application/zip, application/octet-stream, */*")
    started = time.monotonic() if started is None else started
    url = f"{base_url.rstrip('/')}/{name.filename}"
    cotahist_name = name
    body = fetch.get(
        http,
        url,
        policy,
        started,
        sleep,
        on_event,
        what=name.filename,
        not_found=lambda: not_published(cotahist_name),
    )
    _check_zip(body, name.filename)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name.filename}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    on_event(f"{name.filename}: {len(body):,} bytes -> {target}")
    return target


def not_published(name: CotahistName) -> NotPublished:
    """The error for a file B3 answers 404 for, saying why when it is known (weekend, holiday)."""
    if name.kind == "daily":
        from ibovcli import tradingdays

        d = name.first_day
        if d.weekday() >= 5:
            why = f"{d.isoformat()} is a {d:%A}, not a session"
        elif (holiday := tradingdays.holiday_name(d)) is not None:
            why = f"{d.isoformat()} is a B3 holiday ({holiday}), not a session"
        else:
            why = "not a session, or too early; daily files appear around 20:30-20:45 Brasilia time"
        return NotPublished(f"B3 has not published {name.filename} (yet): {why}")
    return NotPublished(
        f"B3 has not published {name.filename} (yet): annual files exist from 1986; the current "
        "period's file appears after its first session",
        hint="Check the year (and month); for recent sessions ask for the daily files.",
    )


def _check_zip(body: bytes, filename: str) -> None:
    if body[:4] not in _ZIP_MAGIC:
        raise SnapshotError(
            f"B3 answered {filename} with something that is not a zip: {body[:40]!r}", hint=_HINT
        )
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
    except zipfile.BadZipFile as exc:
        raise SnapshotError(f"B3 answered {filename} with a damaged zip ({exc})", hint=_HINT) from None
    if len(members) != 1:
        raise SnapshotError(
            f"B3 answered {filename} with a zip of {len(members)} files; a COTAHIST zip holds one", hint=_HINT
        )
