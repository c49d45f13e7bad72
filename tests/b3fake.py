"""Synthetic B3 "Carteira do Dia" data, byte-exact renderers and a fake B3 HTTP server (stdlib only).

Everything here is made up for this project; the *formats* follow B3 as documented in
``shared/docs/b3-source.md`` (sections 1, 2, 3, 3.4, 5 and 6). No real B3 row is reproduced.

Portfolios (``part`` in %, three decimals; every portfolio sums to exactly 100.000 and its quantities
sum exactly to ``total_qty``):

======================  ==========  ===============  ==================  =======================
portfolio               rows        total_qty        reductor            top 5 by weight
======================  ==========  ===============  ==================  =======================
``IBOV_2025_04_30``     14          40.415.600.596   15.873.402,61937058  VALE3 18.250,
                                                                         ITUB4 14.500,
                                                                         PETR4 12.750,
                                                                         PETR3  8.375,
                                                                         BBDC4  6.625
``IBOV_2025_05_05``     14          42.185.838.482   15.902.117,30485126  VALE3 16.500,
                                                                         ITUB4 14.750,
                                                                         PETR4 12.500,
                                                                         PETR3  8.125,
                                                                         BBDC4  6.500
``IBXX_2025_04_30``     8           28.188.087.049   41.265.093,57720314  ITUB4 21.500,
                                                                         VALE3 20.500,
                                                                         PETR4 18.750,
                                                                         BBAS3  9.875,
                                                                         ABEV3  9.250
======================  ==========  ===============  ==================  =======================

``IBOV_2025_05_05`` is the first portfolio of the May-Aug 2025 period (first Monday of May):
MGLU3 leaves, RDOR3 enters; VALE3, PETR4 and ELET3 change quantity; every weight moves; the
corporate-event flags change (B3SA3 and ITUB4 lose ``EJ``, ABEV3 becomes ``ON  EDJ``).

Renderers: :func:`portfolio_day_json` (GetPortfolioDay body), :func:`theoretical_portfolio_json`
(GetTheoricalPortfolio body), :func:`empty_portfolio_day_json` (the answer for an unknown index),
:func:`download_csv` (the Download-button CSV), :func:`download_body` (GetDownloadPortfolioDay raw
body), :func:`to_json_bytes` (B3's compact UTF-8 serialisation) and :func:`double_encoded`.

:class:`FakeB3Server` serves them over real HTTP with injectable faults.

``python -m tests.b3fake`` (from the project root) regenerates ``tests/fixtures/b3`` and
``tests/fixtures/broken``.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import json
import math
import random
import threading
import unicodedata
import urllib.parse
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

__all__ = [
    "IBOV_2025_04_30",
    "IBOV_2025_05_05",
    "IBXX_2025_04_30",
    "PORTFOLIOS",
    "FakeB3Server",
    "Portfolio",
    "Row",
    "broken_snapshots",
    "csv_filename",
    "decode_token",
    "double_encoded",
    "download_body",
    "download_csv",
    "empty_portfolio_day_json",
    "encode_token",
    "fixture_files",
    "fmt_date",
    "fmt_decimal",
    "fmt_int",
    "gzip_zeros",
    "portfolio_day_json",
    "theoretical_portfolio_json",
    "to_json_bytes",
    "write_broken_corpus",
    "write_fixtures",
]

Language = Literal["pt-br", "en-us"]
LANGUAGES: tuple[str, ...] = ("pt-br", "en-us")

TESTS_DIR = Path(__file__).resolve().parent
FIXTURES_DIR = TESTS_DIR / "fixtures" / "b3"
BROKEN_DIR = TESTS_DIR / "fixtures" / "broken"

# ----------------------------------------------------------------------------------------------
# dataset


@dataclass(frozen=True)
class Row:
    """One constituent, as B3 lists it (``type`` and ``segment`` verbatim, spaces included)."""

    cod: str
    asset: str
    type: str
    segment: str
    part: Decimal
    qty: int


@dataclass(frozen=True)
class Portfolio:
    """One day's portfolio of one index. ``rows`` are in B3's segment-1 order (by ``asset``).

    ``total_qty`` is stated, not computed, so that a corrupted copy can disagree with its rows.
    """

    index: str
    date: dt.date
    reductor: Decimal
    total_qty: int
    rows: tuple[Row, ...]

    @property
    def part_sum(self) -> Decimal:
        return sum((r.part for r in self.rows), Decimal(0))

    @property
    def qty_sum(self) -> int:
        return sum(r.qty for r in self.rows)

    def top(self, n: int = 5) -> list[tuple[str, Decimal]]:
        """The ``n`` heaviest tickers, heaviest first."""
        ranked = sorted(self.rows, key=lambda r: (-r.part, r.cod))
        return [(r.cod, r.part) for r in ranked[:n]]

    def by_sector(self) -> list[Row]:
        """Rows in B3's segment-2 order: sector (accent- and case-insensitive), then asset, then ticker."""
        return sorted(self.rows, key=lambda r: (_collate(r.segment), _collate(r.asset), r.cod))

    def sector_totals(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for r in self.rows:
            out[r.segment] = out.get(r.segment, Decimal(0)) + r.part
        return out


def _collate(s: str) -> str:
    decomposed = unicodedata.normalize("NFKD", s)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _r(cod: str, asset: str, type_: str, segment: str, part: str, qty: int) -> Row:
    return Row(cod=cod, asset=asset, type=type_, segment=segment, part=Decimal(part), qty=qty)


# B3 sector strings, with their real inconsistencies (spacing around "/", abbreviations).
BEBIDAS = "Cons N Cíclico / Bebidas"
COMERCIO = "Consumo Cíclico / Comércio"
DIVERSOS = "Diversos"
ENERGIA = "Utilidade Públ / Energ Elétrica"
HOSPITAIS = "Saúde/SM Hosp An.Diag"
INTERMS = "Financ e Outros / Interms Financs"
MADEIRA = "Mats Básicos / Madeira e Papel"
MAQUINAS = "Bens Indls / Máqs e Equips"
MAT_TRANSP = "Bens Indls / Mat Transporte"
MINERACAO = "Mats Básicos / Mineração"
PETROLEO = "Petróleo, Gás e Biocombustíveis"
SERV_FIN = "Financeiro e Outros/Serviços Financeiros Diversos"

IBOV_2025_04_30 = Portfolio(
    index="IBOV",
    date=dt.date(2025, 4, 30),
    reductor=Decimal("15873402.61937058"),
    total_qty=40_415_600_596,
    rows=(
        _r("ABEV3", "AMBEV S/A", "ON", BEBIDAS, "5.875", 4_372_519_806),
        _r("B3SA3", "B3", "ON  EJ  NM", SERV_FIN, "5.250", 5_250_613_402),
        _r("BBDC4", "BRADESCO", "PN      N1", INTERMS, "6.625", 5_128_004_711),
        _r("BBAS3", "BRASIL", "ON      NM", INTERMS, "6.125", 2_841_600_930),
        _r("BPAC11", "BTGP BANCO", "UNT     N2", INTERMS, "4.625", 1_290_418_577),
        _r("ELET3", "ELETROBRAS", "ON      N1", ENERGIA, "4.875", 1_684_050_229),
        _r("EMBR3", "EMBRAER", "ON      NM", MAT_TRANSP, "4.000", 712_480_096),
        _r("ITUB4", "ITAUUNIBANCO", "PN  EJ  N1", INTERMS, "14.500", 5_379_282_600),
        _r("MGLU3", "MAGAZ LUIZA", "ON      NM", COMERCIO, "0.331", 702_331_018),
        _r("PETR3", "PETROBRAS", "ON      N2", PETROLEO, "8.375", 2_507_010_384),
        _r("PETR4", "PETROBRAS", "PN      N2", PETROLEO, "12.750", 4_470_113_952),
        _r("SUZB3", "SUZANO S.A.", "ON      NM", MADEIRA, "2.919", 683_947_120),
        _r("VALE3", "VALE", "ON      NM", MINERACAO, "18.250", 4_196_877_563),
        _r("WEGE3", "WEG", "ON      NM", MAQUINAS, "5.500", 1_196_350_208),
    ),
)

IBOV_2025_05_05 = Portfolio(
    index="IBOV",
    date=dt.date(2025, 5, 5),
    reductor=Decimal("15902117.30485126"),
    total_qty=42_185_838_482,
    rows=(
        _r("ABEV3", "AMBEV S/A", "ON  EDJ", BEBIDAS, "5.750", 4_372_519_806),
        _r("B3SA3", "B3", "ON      NM", SERV_FIN, "5.375", 5_250_613_402),
        _r("BBDC4", "BRADESCO", "PN      N1", INTERMS, "6.500", 5_128_004_711),
        _r("BBAS3", "BRASIL", "ON      NM", INTERMS, "5.875", 2_841_600_930),
        _r("BPAC11", "BTGP BANCO", "UNT     N2", INTERMS, "4.750", 1_290_418_577),
        _r("ELET3", "ELETROBRAS", "ON      N1", ENERGIA, "5.000", 1_903_954_745),
        _r("EMBR3", "EMBRAER", "ON      NM", MAT_TRANSP, "4.250", 712_480_096),
        _r("ITUB4", "ITAUUNIBANCO", "PN      N1", INTERMS, "14.750", 5_379_282_600),
        _r("PETR3", "PETROBRAS", "ON      N2", PETROLEO, "8.125", 2_507_010_384),
        _r("PETR4", "PETROBRAS", "PN      N2", PETROLEO, "12.500", 4_495_113_952),
        _r("RDOR3", "REDE D OR", "ON      NM", HOSPITAIS, "2.188", 2_240_164_388),
        _r("SUZB3", "SUZANO S.A.", "ON      NM", MADEIRA, "2.812", 683_947_120),
        _r("VALE3", "VALE", "ON      NM", MINERACAO, "16.500", 4_184_377_563),
        _r("WEGE3", "WEG", "ON      NM", MAQUINAS, "5.625", 1_196_350_208),
    ),
)

IBXX_2025_04_30 = Portfolio(
    index="IBXX",
    date=dt.date(2025, 4, 30),
    reductor=Decimal("41265093.57720314"),
    total_qty=28_188_087_049,
    rows=(
        _r("ABEV3", "AMBEV S/A", "ON", BEBIDAS, "9.250", 4_380_116_402),
        _r("B3SA3", "B3", "ON  EJ  NM", SERV_FIN, "8.125", 5_250_613_402),
        _r("BBAS3", "BRASIL", "ON      NM", INTERMS, "9.875", 2_841_600_930),
        _r("ITUB4", "ITAUUNIBANCO", "PN  EJ  N1", INTERMS, "21.500", 4_810_556_231),
        _r("RENT3", "LOCALIZA", "ON      NM", DIVERSOS, "4.371", 1_065_907_316),
        _r("PETR4", "PETROBRAS", "PN      N2", PETROLEO, "18.750", 4_470_113_952),
        _r("VALE3", "VALE", "ON      NM", MINERACAO, "20.500", 4_196_877_563),
        _r("WEGE3", "WEG", "ON      NM", MAQUINAS, "7.629", 1_172_301_253),
    ),
)

#: Default catalogue for :class:`FakeB3Server`: index code -> portfolio.
PORTFOLIOS: dict[str, Portfolio] = {"IBOV": IBOV_2025_04_30, "IBXX": IBXX_2025_04_30}

# ----------------------------------------------------------------------------------------------
# number and date formats (section 3.4)


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"language must be 'pt-br' or 'en-us', not {language!r}")


_SWAP = str.maketrans(",.", ".,")


def _swap_separators(s: str) -> str:
    return s.translate(_SWAP)


def fmt_int(n: int, language: str = "pt-br") -> str:
    """``1481593024`` -> ``'1.481.593.024'`` (pt-br) or ``'1,481,593,024'`` (en-us)."""
    _check_language(language)
    s = f"{n:,}"
    return _swap_separators(s) if language == "pt-br" else s


def fmt_decimal(d: Decimal, places: int, language: str = "pt-br") -> str:
    """``Decimal('2.728')``, 3 -> ``'2,728'`` (pt-br) or ``'2.728'`` (en-us); thousands grouped."""
    _check_language(language)
    s = f"{d:,.{places}f}"
    return _swap_separators(s) if language == "pt-br" else s


def fmt_part(d: Decimal, language: str = "pt-br") -> str:
    return fmt_decimal(d, 3, language)


def fmt_reductor(d: Decimal, language: str = "pt-br") -> str:
    return fmt_decimal(d, 8, language)


def fmt_date(d: dt.date, language: str = "pt-br") -> str:
    """``dd/mm/yy`` in pt-br, ``mm/dd/yy`` in en-us."""
    _check_language(language)
    return d.strftime("%d/%m/%y" if language == "pt-br" else "%m/%d/%y")


def csv_filename(p: Portfolio) -> str:
    """The browser's name for the download, e.g. ``IBOVDia_30-04-25.csv``."""
    return f"{p.index}Dia_{p.date:%d-%m-%y}.csv"


# ----------------------------------------------------------------------------------------------
# JSON renderers


HUNDRED = Decimal(100)
_LABELS = {
    "pt-br": ("Quantidade Teórica Total", "Redutor"),
    "en-us": ("Total Theorethical Quantity", "Reductor"),  # sic: B3's spelling
}


def _segment_number(segment: int | str) -> int:
    n = int(segment)
    if n not in (1, 2):
        raise ValueError(f"segment must be 1 or 2, not {segment!r}")
    return n


def _page_block(page: int, page_size: int, total: int) -> dict[str, int]:
    if page_size < 1 or page < 1:
        raise ValueError(f"pageNumber and pageSize must be >= 1, got {page}/{page_size}")
    return {
        "pageNumber": page,
        "pageSize": page_size,
        "totalRecords": total,
        "totalPages": math.ceil(total / page_size),
    }


def portfolio_day_json(
    p: Portfolio,
    *,
    language: str = "pt-br",
    segment: int | str = 1,
    page: int = 1,
    page_size: int = 9999,
) -> dict[str, Any]:
    """The GetPortfolioDay body for one page, with every number as a locale string (section 3)."""
    _check_language(language)
    seg = _segment_number(segment)
    text, text_reductor = _LABELS[language]
    if seg == 1:
        rows = list(p.rows)
        acc: dict[str, Decimal] = {}
    else:
        rows = p.by_sector()
        acc = p.sector_totals()
    start = (page - 1) * page_size
    page_block = _page_block(page, page_size, len(rows))
    results = [
        {
            "segment": r.segment if seg == 2 else None,
            "cod": r.cod,
            "asset": r.asset,
            "type": r.type,
            "part": fmt_part(r.part, language),
            "partAcum": fmt_part(acc[r.segment], language) if seg == 2 else None,
            "theoricalQty": fmt_int(r.qty, language),
        }
        for r in rows[start : start + page_size]
    ]
    header = {
        "date": fmt_date(p.date, language),
        "text": text,
        "part": fmt_part(HUNDRED, language),
        "partAcum": fmt_part(HUNDRED, language) if seg == 2 else None,
        "textReductor": text_reductor,
        "reductor": fmt_reductor(p.reductor, language),
        "theoricalQty": fmt_int(p.total_qty, language),
    }
    return {"page": page_block, "header": header, "results": results}


def empty_portfolio_day_json(*, page: int = 1, page_size: int = 9999) -> dict[str, Any]:
    """What GetPortfolioDay answers (HTTP 200) for an index it does not know: no rows, a null header."""
    header = dict.fromkeys(("date", "text", "part", "partAcum", "textReductor", "reductor", "theoricalQty"))
    return {
        "page": {"pageNumber": page, "pageSize": page_size, "totalRecords": 0, "totalPages": 0},
        "header": header,
        "results": [],
    }


def theoretical_portfolio_json(
    p: Portfolio, *, language: str = "pt-br", page: int = 1, page_size: int = 9999
) -> dict[str, Any]:
    """A GetTheoricalPortfolio body (section 3b): no header date/labels, rows by ticker, ``cont``.

    ``cont`` is the row's 1-based position in company-name order, as in the real responses.
    """
    _check_language(language)
    cont = {r.cod: i for i, r in enumerate(p.rows, start=1)}
    rows = sorted(p.rows, key=lambda r: r.cod)
    start = (page - 1) * page_size
    return {
        "page": _page_block(page, page_size, len(rows)),
        "header": {
            "part": fmt_part(HUNDRED, language),
            "theoricalQty": fmt_int(p.total_qty, language),
            "reductor": fmt_reductor(p.reductor, language),
        },
        "results": [
            {
                "cod": r.cod,
                "asset": r.asset,
                "type": r.type,
                "theoricalQty": fmt_int(r.qty, language),
                "part": fmt_part(r.part, language),
                "cont": cont[r.cod],
            }
            for r in rows[start : start + page_size]
        ],
    }


def to_json_bytes(d: Any) -> bytes:
    """B3's serialisation: compact, raw UTF-8 (no ``\\u`` escapes), no trailing newline."""
    return json.dumps(d, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def double_encoded(d: Any) -> bytes:
    """A JSON string whose content is the JSON document ``d`` (section 6.3)."""
    inner = json.dumps(d, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(inner, ensure_ascii=False).encode("utf-8")


# ----------------------------------------------------------------------------------------------
# CSV download (section 5)


def download_csv(p: Portfolio, *, newline: str = "\n") -> bytes:
    """The Download-button file: latin-1, ``;``-separated, title + header + rows + two footer lines."""
    if newline not in ("\n", "\r\n"):
        raise ValueError("newline must be '\\n' or '\\r\\n'")
    lines = [
        f"{p.index} - Carteira do Dia {fmt_date(p.date)}",
        "Código;Ação;Tipo;Qtde. Teórica;Part. (%)",
        *(f"{r.cod};{r.asset};{r.type};{fmt_int(r.qty)};{fmt_part(r.part)};" for r in p.rows),
        f"Quantidade Teórica Total;;;{fmt_int(p.total_qty)};{fmt_part(HUNDRED)}",
        f"Redutor;;;{fmt_reductor(p.reductor)}",
    ]
    return (newline.join(lines) + newline).encode("latin-1")


def download_body(p: Portfolio, *, quoted: bool = True, newline: str = "\n") -> bytes:
    """The raw GetDownloadPortfolioDay body: base64 of :func:`download_csv`, optionally in JSON quotes."""
    b64 = base64.b64encode(download_csv(p, newline=newline))
    return b'"' + b64 + b'"' if quoted else b64


# ----------------------------------------------------------------------------------------------
# tokens (section 1)


def encode_token(params: Mapping[str, Any]) -> str:
    """Standard base64 (with padding) of the JSON parameters, as B3's front end sends them."""
    return base64.b64encode(json.dumps(dict(params)).encode("utf-8")).decode("ascii")


def decode_token(token: str) -> dict[str, Any]:
    """Inverse of :func:`encode_token`; accepts a percent-encoded or unpadded token. Raises ValueError."""
    raw = urllib.parse.unquote(token).strip()
    raw += "=" * (-len(raw) % 4)
    try:
        obj = json.loads(base64.b64decode(raw, validate=True).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"token is not base64 of JSON: {token[:40]!r}") from exc
    if not isinstance(obj, dict):
        raise ValueError(f"token is not a JSON object: {obj!r:.40}")
    return obj


@functools.lru_cache(maxsize=8)
def gzip_zeros(size: int) -> bytes:
    """A gzip body (concatenated members of at most 16 MiB each) that inflates to ``size`` zero bytes.

    About 1000:1 (16 KB per 16 MiB). Only two members are compressed (~0.1 s), the rest are copies, so
    even a multi-GB bomb is cheap to build. Real clients (urllib3 included) inflate every member.
    """
    member = 16 * 1024 * 1024

    def one(n: int) -> bytes:
        c = zlib.compressobj(6, zlib.DEFLATED, 31)
        return c.compress(bytes(n)) + c.flush()

    full, rest = divmod(size, member)
    return one(member) * full + (one(rest) if rest or not full else b"")


# ----------------------------------------------------------------------------------------------
# fake server

Fault = tuple[Any, ...]
#: A mounted endpoint: the rest of the path after its prefix -> (status, body, content type).
Route = Callable[[str], tuple[int, bytes, str]]
FAULT_KINDS = (
    "status",
    "html",
    "delay",
    "truncate",
    "fail_page",
    "raw",
    "double_encode",
    "drip",
    "endless",
    "gzip_bomb",
    "redirect",
)

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=UTF-8"
TEXT_TYPE = "text/plain; charset=UTF-8"

CLOUDFLARE_CHALLENGE = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<meta name="robots" content="noindex,nofollow"></head>
<body><div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">sistemaswebb3-listados.b3.com.br</h1>
<h2 class="h2" id="challenge-running">Checking if the site connection is secure</h2>
<noscript><div class="h2">Enable JavaScript and cookies to continue</div></noscript>
</div></div><script>(function(){window._cf_chl_opt={cType: 'managed'};})();</script></body></html>
"""

INDEX_PAGE_HTML = """<!doctype html><html lang="pt-br"><head><meta charset="utf-8"><title>B3</title>
<base href="/indexPage/"></head><body><app-root></app-root>
<script src="runtime.js" defer></script><script src="main.js" defer></script></body></html>
"""

_PREFIX = "/indexProxy/indexCall/"
_METHODS = (
    "GetPortfolioDay",
    "GetDownloadPortfolioDay",
    "GetTheoricalPortfolio",
    "GetConfigurations",
    "GetQuartelyPreview",
)


def _as_int(value: Any, default: int) -> int:
    return default if value is None else int(value)


class FakeB3Server:
    """A real HTTP server on 127.0.0.1 that answers like B3's ``indexProxy/indexCall`` (section 1).

    Serves ``GET /indexProxy/indexCall/<Method>/<token>`` for GetPortfolioDay, GetDownloadPortfolioDay
    and GetTheoricalPortfolio, rendering ``portfolios[token["index"]]`` (exact, case-sensitive code),
    and GetQuartelyPreview / GetConfigurations from ``previews`` (``has`` 1 only for those indices).
    An unknown index gets HTTP 200 with :func:`empty_portfolio_day_json` (GetPortfolioDay) or ``""``
    (download). A token that does not decode, or has a bad language/segment/page, gets HTTP 400.
    Missing token keys default to pt-br, page 1, pageSize 20 (the browser's) and segment 1.

    Faults (``server.faults``, a list; append to it or call :meth:`add_fault`). All are one-shot and
    consumed first-in first-out by the next request to any of the three methods, except ``fail_page``:

    * ``("status", code)`` / ``("status", code, body)``: answer ``code`` with ``body`` (text/html when it
      starts with ``<``, else text/plain). Default body: ``error code: <code>`` (Cloudflare's style).
    * ``("html", code)``: answer a Cloudflare "Just a moment..." challenge page with status ``code``.
    * ``("delay", seconds)``: sleep, then answer normally (for read timeouts).
    * ``("truncate",)``: announce the full Content-Length, send half the body, close the connection.
      ``("truncate", "short")``: announce and send half the body (valid HTTP, JSON cut in the middle).
    * ``("raw", code, body_bytes[, content_type])``: answer exactly that.
    * ``("double_encode",)``: answer normally, but with the JSON double-encoded (a JSON string).
    * ``("fail_page", n)``: persistent; every GetPortfolioDay request for page ``n`` gets HTTP 500.
    * ``("drip", bytes_per_second)``: the normal answer with its full Content-Length, but the body sent
      at that rate (a slow or stalling server; a rate below 1 waits more than a second per byte).
    * ``("endless",)`` / ``("endless", content_length)``: HTTP 200 JSON whose body never ends (blocks of
      spaces until the client hangs up), with no Content-Length or the given (false) one.
    * ``("gzip_bomb", decoded_size)``: HTTP 200 with ``Content-Encoding: gzip`` and a small body (about
      ``decoded_size / 1000`` bytes: concatenated gzip members of zeros) that inflates to ``decoded_size``.
    * ``("redirect", code, location)``: answer ``code`` (301, 302, 307...) with ``Location: location``.

    Slow faults (``delay``, ``drip``, ``endless``) stop when the client hangs up or the server stops.

    ``requests`` records ``(path, decoded_token)`` for every request (``{}`` when the token is bad),
    ``request_headers`` the matching headers. Use as a context manager; ``url`` is set while running.
    """

    def __init__(
        self,
        portfolios: Mapping[str, Portfolio] | None = None,
        *,
        faults: Iterable[Fault] = (),
    ) -> None:
        self.portfolios: dict[str, Portfolio] = dict(PORTFOLIOS if portfolios is None else portfolios)
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.request_headers: list[dict[str, str]] = []
        #: the next period's previews (GetQuartelyPreview); GetConfigurations says ``has`` 1 for these
        #: indices and 0 for any other
        self.previews: dict[str, Portfolio] = {}
        #: extra endpoints mounted by other fakes (levels, COTAHIST, previews): path prefix -> handler
        self.routes: dict[str, Route] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        for f in faults:
            self.add_fault(*f)

    # lifecycle ------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self._stop.clear()
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeB3Server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stop.set()  # wakes handlers sleeping in a "delay" fault
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # addresses ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        if self._httpd is None:
            raise RuntimeError("FakeB3Server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """The equivalent of ``https://sistemaswebb3-listados.b3.com.br/indexProxy/indexCall/``."""
        return self.url + _PREFIX

    def portfolio_day_url(
        self,
        index: str = "IBOV",
        *,
        language: str = "pt-br",
        page: int = 1,
        page_size: int = 120,
        segment: int | str = "1",
    ) -> str:
        token = {
            "language": language,
            "pageNumber": page,
            "pageSize": page_size,
            "index": index,
            "segment": segment,
        }
        return f"{self.base_url}GetPortfolioDay/{encode_token(token)}"

    def download_url(self, index: str = "IBOV", *, language: str = "pt-br") -> str:
        return (
            f"{self.base_url}GetDownloadPortfolioDay/{encode_token({'index': index, 'language': language})}"
        )

    def add_route(self, prefix: str, handler: Route) -> None:
        """Serve ``GET <prefix><rest>`` with ``handler(rest) -> (status, body, content_type)``.

        Requests are recorded (``(path, {})``) and one-shot faults apply to them as to B3's methods.
        """
        if not prefix.startswith("/"):
            raise ValueError(f"route prefix must start with '/': {prefix!r}")
        self.routes[prefix] = handler

    # faults ---------------------------------------------------------------------------------

    def add_fault(self, *fault: Any) -> None:
        if not fault or fault[0] not in FAULT_KINDS:
            raise ValueError(f"unknown fault {fault!r}; kinds: {', '.join(FAULT_KINDS)}")
        with self._lock:
            self.faults.append(tuple(fault))

    def _take_fault(self, method: str, token: Mapping[str, Any]) -> Fault | None:
        with self._lock:
            if method == "GetPortfolioDay":
                try:
                    page = _as_int(token.get("pageNumber"), 1)
                except (TypeError, ValueError):
                    page = None
                for f in self.faults:
                    if f[0] == "fail_page" and int(f[1]) == page:
                        return f
            for i, f in enumerate(self.faults):
                if f[0] != "fail_page":
                    return self.faults.pop(i)
        return None

    def _record(self, path: str, token: dict[str, Any], headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append((path, token))
            self.request_headers.append(headers)

    # rendering ------------------------------------------------------------------------------

    def render(self, method: str, token: Mapping[str, Any]) -> tuple[int, bytes, str]:
        """The normal answer ``(status, body, content_type)``; ValueError/TypeError for a bad token."""
        index = token.get("index")
        language = token.get("language", "pt-br")
        _check_language(language)
        p = self.portfolios.get(index) if isinstance(index, str) else None
        if method == "GetDownloadPortfolioDay":
            return 200, (download_body(p) if p else b'""'), JSON_TYPE
        if method == "GetConfigurations":
            has = 1 if isinstance(index, str) and index in self.previews else 0
            return 200, to_json_bytes({"preview": [{"has": has}]}), JSON_TYPE
        if method == "GetQuartelyPreview":
            p = self.previews.get(index) if isinstance(index, str) else None
        page = _as_int(token.get("pageNumber"), 1)
        page_size = _as_int(token.get("pageSize"), 20)
        if method in ("GetTheoricalPortfolio", "GetQuartelyPreview"):
            if p is None:
                body = empty_portfolio_day_json(page=page, page_size=page_size)
                body["header"] = dict.fromkeys(("part", "theoricalQty", "reductor"))
            else:
                body = theoretical_portfolio_json(p, language=language, page=page, page_size=page_size)
            return 200, to_json_bytes(body), JSON_TYPE
        segment = _segment_number(token.get("segment", 1))
        if p is None:
            _page_block(page, page_size, 0)  # same argument checks as a known index
            return 200, to_json_bytes(empty_portfolio_day_json(page=page, page_size=page_size)), JSON_TYPE
        body = portfolio_day_json(p, language=language, segment=segment, page=page, page_size=page_size)
        return 200, to_json_bytes(body), JSON_TYPE


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeB3Server

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (timeouts, truncation tests) are normal here: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "cloudflare"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""

    def do_GET(self) -> None:
        fake = self.server.fake
        path = self.path
        route = urllib.parse.urlsplit(path).path
        mounted = next((p for p in fake.routes if route.startswith(p)), None)
        if mounted is not None:
            self._serve_route(fake, mounted, route[len(mounted) :])
            return
        if not route.startswith(_PREFIX):
            self._send(404, b"Not Found", TEXT_TYPE)
            return
        method, _, token_text = route[len(_PREFIX) :].partition("/")
        if method not in _METHODS or not token_text:
            self._send(404, b"Not Found", TEXT_TYPE)
            return
        try:
            token: dict[str, Any] | None = decode_token(token_text)
        except ValueError:
            token = None
        fake._record(path, token or {}, dict(self.headers.items()))
        fault = fake._take_fault(method, token or {})
        if fault is not None and self._apply_fault(fault):
            return
        if token is None:
            self._send(400, b"Bad Request: token is not base64 of a JSON object", TEXT_TYPE)
            return
        try:
            status, body, ctype = fake.render(method, token)
        except (TypeError, ValueError) as exc:
            self._send(400, f"Bad Request: {exc}".encode(), TEXT_TYPE)
            return
        if fault is not None and fault[0] == "double_encode":
            body = json.dumps(body.decode("utf-8"), ensure_ascii=False).encode("utf-8")
        if fault is not None and fault[0] == "truncate":
            self._send(status, body, ctype, truncate=fault[1] if len(fault) > 1 else "close")
            return
        self._send(status, body, ctype, drip=float(fault[1]) if fault and fault[0] == "drip" else None)

    def _serve_route(self, fake: FakeB3Server, prefix: str, rest: str) -> None:
        fake._record(self.path, {}, dict(self.headers.items()))
        fault = fake._take_fault(prefix, {})
        if fault is not None and self._apply_fault(fault):
            return
        status, body, ctype = fake.routes[prefix](urllib.parse.unquote(rest))
        if fault is not None and fault[0] == "truncate":
            self._send(status, body, ctype, truncate=fault[1] if len(fault) > 1 else "close")
            return
        self._send(status, body, ctype, drip=float(fault[1]) if fault and fault[0] == "drip" else None)

    def _apply_fault(self, fault: Fault) -> bool:
        """Apply ``fault``; True when the response has been sent (nothing else to do)."""
        kind = fault[0]
        if kind == "status":
            code = int(fault[1])
            text = fault[2] if len(fault) > 2 else f"error code: {code}"
            body = text.encode("utf-8") if isinstance(text, str) else bytes(text)
            self._send(code, body, HTML_TYPE if body.lstrip().startswith(b"<") else TEXT_TYPE)
            return True
        if kind == "html":
            self._send(int(fault[1]), CLOUDFLARE_CHALLENGE.encode("utf-8"), HTML_TYPE)
            return True
        if kind == "fail_page":
            self._send(500, b"error code: 500", TEXT_TYPE)
            return True
        if kind == "raw":
            ctype = fault[3] if len(fault) > 3 else JSON_TYPE
            self._send(int(fault[1]), bytes(fault[2]), ctype)
            return True
        if kind == "delay":
            self.server.fake._stop.wait(float(fault[1]))
            return False
        if kind == "redirect":
            self._send(int(fault[1]), b"", TEXT_TYPE, headers={"Location": str(fault[2])})
            return True
        if kind == "gzip_bomb":
            self._send(200, gzip_zeros(int(fault[1])), JSON_TYPE, headers={"Content-Encoding": "gzip"})
            return True
        if kind == "endless":
            self._send_endless(int(fault[1]) if len(fault) > 1 else None)
            return True
        return kind not in ("truncate", "double_encode", "drip")  # unknown kinds were refused in add_fault

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str,
        *,
        truncate: str | None = None,
        drip: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        half = body[: len(body) // 2]
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(half) if truncate == "short" else len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.flush()
            if drip is not None:
                self._drip(body, drip)
            else:
                self.wfile.write(half if truncate else body)
                self.wfile.flush()
        except OSError:  # the client went away (e.g. it timed out during a delay)
            pass
        self.close_connection = True

    def _drip(self, body: bytes, rate: float) -> None:
        """Send ``body`` at ``rate`` bytes per second (in pieces of about 50 ms)."""
        step = max(1, int(rate * 0.05))
        stop = self.server.fake._stop
        for i in range(0, len(body), step):
            if stop.wait(step / rate):
                return
            self.wfile.write(body[i : i + step])
            self.wfile.flush()

    def _send_endless(self, content_length: int | None) -> None:
        """HTTP 200 with a body that never ends, until the client hangs up or the server stops."""
        block = b" " * 65536
        stop = self.server.fake._stop
        try:
            self.send_response(200)
            self.send_header("Content-Type", JSON_TYPE)
            if content_length is not None:
                self.send_header("Content-Length", str(content_length))
            self.send_header("Connection", "close")
            self.end_headers()
            while not stop.is_set():
                self.wfile.write(block)
        except OSError:
            pass
        self.close_connection = True


# ----------------------------------------------------------------------------------------------
# static fixtures (deliverable 2)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


FIXTURE_README_HEAD = """\
# B3 fixtures (synthetic)

Every file here is **synthetic**: the data were made up for this project and written by
`tests/b3fake.py` (`python -m tests.b3fake` regenerates them) in B3's exact formats (see
`shared/docs/b3-source.md`). No real B3 row is reproduced. The portfolios are `IBOV_2025_04_30`
(14 rows), `IBOV_2025_05_05` (the first one after the May 2025 rebalance: MGLU3 out, RDOR3 in) and
`IBXX_2025_04_30` (8 rows); their expected values (top 5, totals) are in the `tests/b3fake.py` docstring.

"""


def fixture_files() -> list[tuple[str, bytes, str]]:
    """``(file name, bytes, one-line description)`` of every valid fixture (deliverable 2)."""
    ibov, after, ibxx = IBOV_2025_04_30, IBOV_2025_05_05, IBXX_2025_04_30
    return [
        (
            "ibov_2025-04-30_ptbr_seg1.json",
            to_json_bytes(portfolio_day_json(ibov)),
            "GetPortfolioDay body, IBOV 30/04/25, pt-br, segment 1 (by company; segment and partAcum null).",
        ),
        (
            "ibov_2025-04-30_ptbr_seg2.json",
            to_json_bytes(portfolio_day_json(ibov, segment=2)),
            "The same portfolio, pt-br, segment 2 (grouped by sector; partAcum = sector subtotal).",
        ),
        (
            "ibov_2025-04-30_enus_seg1.json",
            to_json_bytes(portfolio_day_json(ibov, language="en-us")),
            "The same portfolio, en-us (date `04/30/25` is mm/dd/yy; numbers like `1,234.567`), segment 1.",
        ),
        (
            "ibov_2025-04-30_enus_seg2.json",
            to_json_bytes(portfolio_day_json(ibov, language="en-us", segment=2)),
            "The same portfolio, en-us, segment 2.",
        ),
        (
            "ibov_2025-05-05_ptbr_seg2.json",
            to_json_bytes(portfolio_day_json(after, segment=2)),
            "GetPortfolioDay body, IBOV 05/05/25 (after the rebalance), pt-br, segment 2.",
        ),
        (
            "ibov_2025-04-30_double_encoded.json",
            double_encoded(portfolio_day_json(ibov, segment=2)),
            "`ibov_2025-04-30_ptbr_seg2.json` double-encoded: a JSON string that holds the JSON.",
        ),
        (
            "IBOVDia_30-04-25_crlf.csv",
            download_csv(ibov, newline="\r\n"),
            "Download-button CSV, IBOV 30/04/25, latin-1, CRLF line endings (like the 2023 files).",
        ),
        (
            "IBOVDia_05-05-25_lf.csv",
            download_csv(after, newline="\n"),
            "Download-button CSV, IBOV 05/05/25, latin-1, LF line endings (like the 2025 files).",
        ),
        (
            "IBXXDia_30-04-25.csv",
            download_csv(ibxx),
            "Download-button CSV, IBXX 30/04/25, latin-1, LF.",
        ),
        (
            "ibxx_2025-04-30_download_body_quoted.txt",
            download_body(ibxx, quoted=True),
            "GetDownloadPortfolioDay raw body, IBXX 30/04/25: base64 of the LF CSV in JSON double quotes.",
        ),
        (
            "ibov_2025-04-30_download_body_plain.txt",
            download_body(ibov, quoted=False),
            "GetDownloadPortfolioDay raw body, IBOV 30/04/25: base64 of the LF CSV, no quotes, no newline.",
        ),
    ]


def write_fixtures(out_dir: Path = FIXTURES_DIR) -> list[Path]:
    """Write the valid fixture files and their README (deliverable 2); returns the paths."""
    paths = []
    readme = [FIXTURE_README_HEAD]
    for name, data, description in fixture_files():
        _write(out_dir / name, data)
        paths.append(out_dir / name)
        readme.append(f"- `{name}`: {description}\n")
    _write(out_dir / "README.md", "".join(readme).encode("utf-8"))
    paths.append(out_dir / "README.md")
    return paths


# ----------------------------------------------------------------------------------------------
# broken corpus (deliverable 3)

#: The portfolio every broken snapshot is derived from (pt-br, segment 1 unless stated).
BROKEN_BASE = IBOV_2025_04_30


@dataclass(frozen=True)
class Broken:
    file: str
    problem: str
    expect: str
    format: str  # "json" (a GetPortfolioDay snapshot), "csv" or "download_body"
    data: bytes


def _replace_row(p: Portfolio, cod: str, **changes: Any) -> Portfolio:
    rows = tuple(dataclasses.replace(r, **changes) if r.cod == cod else r for r in p.rows)
    return dataclasses.replace(p, rows=rows)


def _row_of(p: Portfolio, cod: str) -> Row:
    return next(r for r in p.rows if r.cod == cod)


def _base_json(p: Portfolio = BROKEN_BASE, *, segment: int = 1) -> dict[str, Any]:
    return portfolio_day_json(p, segment=segment)


def _with(d: dict[str, Any], path: Sequence[Any], value: Any) -> dict[str, Any]:
    """A deep copy of ``d`` with ``d[path...] = value`` (or the key removed when value is _DELETE)."""
    out: dict[str, Any] = json.loads(json.dumps(d))
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


_DELETE = object()


def _row_index(d: dict[str, Any], cod: str) -> int:
    return next(i for i, r in enumerate(d["results"]) if r["cod"] == cod)


def _csv_lines(p: Portfolio = BROKEN_BASE) -> list[str]:
    return download_csv(p).decode("latin-1").split("\n")[:-1]


def _csv(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("latin-1")


def broken_snapshots() -> list[Broken]:
    """Every broken snapshot: a valid rendering of :data:`BROKEN_BASE` with exactly one defect."""
    p = BROKEN_BASE
    good = _base_json()
    good_bytes = to_json_bytes(good)
    rng = random.Random(20250430)
    out: list[Broken] = []

    def add(
        file: str,
        problem: str,
        expect: str,
        data: bytes | dict[str, Any] | list[Any],
        fmt: str = "json",
    ) -> None:
        body = data if isinstance(data, bytes) else to_json_bytes(data)
        out.append(Broken(file=file, problem=problem, expect=expect, format=fmt, data=body))

    # transport-level garbage
    add("empty.json", "empty file (0 bytes)", "empty", b"")
    add("whitespace_only.json", "only whitespace and newlines", "empty", b"  \n\t\r\n  \n")
    add(
        "cloudflare_challenge.json",
        "a Cloudflare 'Just a moment...' HTML page saved instead of JSON",
        "html",
        CLOUDFLARE_CHALLENGE.encode("utf-8"),
    )
    add(
        "binary_garbage.json",
        "512 random bytes (seed 20250430), not text at all",
        "json",
        bytes(rng.getrandbits(8) for _ in range(512)),
    )
    add(
        "truncated.json",
        "GetPortfolioDay body cut in the middle (first half of the bytes)",
        "json",
        good_bytes[: len(good_bytes) // 2],
    )

    # wrong JSON shape
    add("null.json", "the JSON value null", "object", b"null")
    add(
        "list_top_level.json",
        "a JSON list at top level (only the results rows, no page/header)",
        "object",
        good["results"],
    )
    add(
        "no_results.json",
        "JSON object without the 'results' key",
        "results",
        _with(good, ["results"], _DELETE),
    )
    add("no_header.json", "JSON object without the 'header' key", "header", _with(good, ["header"], _DELETE))
    add(
        "theoretical_portfolio.json",
        "a GetTheoricalPortfolio body (header without date; rows with 'cont'): not a day portfolio",
        "date",
        theoretical_portfolio_json(p),
    )
    add(
        "unknown_index_empty_answer.json",
        "B3's answer for an unknown index: totalRecords 0, every header field null, no rows",
        "empty",
        empty_portfolio_day_json(),
    )

    # header.date
    add(
        "header_date_missing.json",
        "header has no 'date' key",
        "date",
        _with(good, ["header", "date"], _DELETE),
    )
    add(
        "header_date_impossible.json",
        "header.date is '31/02/25' (31 February does not exist)",
        "date",
        _with(good, ["header", "date"], "31/02/25"),
    )
    add("header_date_not_a_date.json", "header.date is 'abc'", "date", _with(good, ["header", "date"], "abc"))
    add(
        "header_date_enus_in_ptbr.json",
        "pt-br numbers but an en-us header.date '04/30/25' (month 30 as dd/mm/yy)",
        "date",
        _with(good, ["header", "date"], "04/30/25"),
    )

    # counts
    empty_results = _with(_with(good, ["results"], []), ["page", "totalRecords"], 0)
    add(
        "results_empty.json",
        "valid header but results [] and page.totalRecords 0 / totalPages 0",
        "rows",
        _with(empty_results, ["page", "totalPages"], 0),
    )
    add(
        "fewer_rows_than_total_records.json",
        f"{len(p.rows)} rows but page.totalRecords says {len(p.rows) + 1} (a page went missing)",
        "records",
        _with(good, ["page", "totalRecords"], len(p.rows) + 1),
    )

    # rows
    i_mglu = _row_index(good, "MGLU3")
    add(
        "part_not_numeric.json", "MGLU3 part is 'abc'", "abc", _with(good, ["results", i_mglu, "part"], "abc")
    )
    mglu = _row_of(p, "MGLU3")
    neg_qty = dataclasses.replace(
        _replace_row(p, "MGLU3", qty=-mglu.qty), total_qty=p.total_qty - 2 * mglu.qty
    )  # the header total still equals the sum of the rows: the only defect is the sign
    add(
        "qty_negative.json",
        "MGLU3 theoricalQty is negative (header total adjusted to match)",
        "negative",
        _base_json(neg_qty),
    )
    vale = _row_of(p, "VALE3")
    neg_part = _replace_row(
        _replace_row(p, "MGLU3", part=-mglu.part), "VALE3", part=vale.part + 2 * mglu.part
    )
    add(
        "part_negative.json",
        "MGLU3 part is negative (VALE3 raised so weights still sum to 100)",
        "negative",
        _base_json(neg_part),
    )
    half = dataclasses.replace(vale, part=vale.part / 2, qty=vale.qty // 2)
    other_half = dataclasses.replace(vale, part=vale.part - half.part, qty=vale.qty - half.qty)
    dup_rows = tuple(r for rr in p.rows for r in ((half, other_half) if rr.cod == "VALE3" else (rr,)))
    add(
        "duplicate_ticker.json",
        "VALE3 listed twice (split in two halves; sums and totalRecords consistent)",
        "duplicate",
        _base_json(dataclasses.replace(p, rows=dup_rows)),
    )
    add("empty_ticker.json", "MGLU3 row has cod ''", "ticker", _with(good, ["results", i_mglu, "cod"], ""))
    add(
        "parts_sum_97_5.json",
        "weights sum to 97.500 (VALE3 18.250 -> 15.750)",
        "sum",
        _base_json(_replace_row(p, "VALE3", part=vale.part - Decimal("2.5"))),
    )
    add(
        "qty_sum_mismatch.json",
        "header.theoricalQty is 1.000 more than the sum of the rows",
        "total",
        _base_json(dataclasses.replace(p, total_qty=p.total_qty + 1000)),
    )
    add(
        "row_missing_theoricalqty.json",
        "MGLU3 row has no 'theoricalQty' key",
        "theoricalqty",
        _with(good, ["results", i_mglu, "theoricalQty"], _DELETE),
    )
    seg2 = _base_json(segment=2)
    i_itub = _row_index(seg2, "ITUB4")
    add(
        "seg2_partacum_contradicts.json",
        "segment 2: ITUB4's partAcum is '14,500' while its sector (Interms Financs) sums to 31,875",
        "partacum",
        _with(seg2, ["results", i_itub, "partAcum"], "14,500"),
    )

    # double encoding
    inner = good_bytes[: len(good_bytes) // 2].decode("utf-8", errors="ignore")
    add(
        "double_encoded_inner_broken.json",
        "double-encoded JSON whose inner JSON is cut in the middle",
        "json",
        json.dumps(inner, ensure_ascii=False).encode("utf-8"),
    )

    # CSV
    lines = _csv_lines()
    add(
        "csv_truncated_no_footer.csv",
        "Download CSV cut after 8 data rows: no footer lines",
        "footer",
        _csv(lines[:10]),
        "csv",
    )
    add(
        "csv_title_without_date.csv",
        "CSV title line is 'IBOV - Carteira do Dia' with no date",
        "date",
        _csv([f"{p.index} - Carteira do Dia", *lines[1:]]),
        "csv",
    )
    k = next(i for i, ln in enumerate(lines) if ln.startswith("PETR4;"))
    fields = lines[k].split(";")
    add(
        "csv_wrong_field_count.csv",
        "CSV row PETR4 lost its 'Tipo' field (4 fields + trailing ';')",
        "field",
        _csv([*lines[:k], ";".join(fields[:2] + fields[3:]), *lines[k + 1 :]]),
        "csv",
    )
    fields[3] = "abc"
    add(
        "csv_qty_not_numeric.csv",
        "CSV row PETR4 has quantity 'abc'",
        "abc",
        _csv([*lines[:k], ";".join(fields), *lines[k + 1 :]]),
        "csv",
    )

    # download body
    add(
        "download_body_base64_garbage.txt",
        "quoted base64 that decodes to 300 random bytes (seed 20250430), not a CSV",
        "base64",
        b'"' + base64.b64encode(bytes(rng.getrandbits(8) for _ in range(300))) + b'"',
        "download_body",
    )
    return out


def write_broken_corpus(out_dir: Path = BROKEN_DIR) -> list[dict[str, str]]:
    """Write every :func:`broken_snapshots` file and ``manifest.json``; returns the manifest."""
    manifest = []
    for b in broken_snapshots():
        _write(out_dir / b.file, b.data)
        manifest.append({"file": b.file, "problem": b.problem, "expect": b.expect, "format": b.format})
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    _write(out_dir / "manifest.json", text.encode("utf-8"))
    return manifest


def main() -> None:
    written = write_fixtures()
    manifest = write_broken_corpus()
    print(f"wrote {len(written)} files to {FIXTURES_DIR}")
    print(f"wrote {len(manifest)} broken snapshots + manifest.json to {BROKEN_DIR}")


if __name__ == "__main__":
    main()
