"""Synthetic B3 COTAHIST files, byte-exact in B3's layout, and a fake download route (stdlib only).

Everything here is made up; the *format* is B3's "Séries Históricas" layout (``shared/docs/b3-history.md``
section 3): 245 latin-1 characters per record, CRLF (or LF), a ``00`` header, ``01`` quotes, a ``99``
trailer whose count includes header and trailer (``count="all"``, B3's rule) or only the quotes
(``count="quotes"``, seen on a 2026 annual file). No real B3 row is reproduced.

* :class:`Quote` + :func:`record`: one ``01`` record, every field of the layout.
* :func:`header`, :func:`trailer`, :func:`render` (a whole file), :func:`zipped` (B3's one-member zip).
* :func:`market_day`: one session of a realistic market: shares, units, special-regime shares, FIIs,
  Fiagros, ETFs and a FATCOT-1000 fund, BDRs, and what the reader must leave out (odd lots, forwards,
  options, index options, exercises, rights, warrants, CEPACs, participation securities, FII rights).
  :data:`DAILY_MIX` gives the proportions of a 2024 session (~12,200 records, ~1,300 kept).
* :func:`mount`: serve files on :class:`tests.b3fake.FakeB3Server` under ``/InstDados/SerHist/``, 404
  for the rest, as B3 does for a day it has not published.
"""

from __future__ import annotations

import dataclasses
import io
import random
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

__all__ = [
    "DAILY_MIX",
    "PATH",
    "Quote",
    "header",
    "market_day",
    "mount",
    "record",
    "render",
    "trailer",
    "zipped",
]

#: Where B3 serves the files (``https://bvmf.bmfbovespa.com.br/InstDados/SerHist/``).
PATH = "/InstDados/SerHist/"
NO_EXPIRY = date(9999, 12, 31)


@dataclass(frozen=True)
class Quote:
    """One ``01`` record. Prices are per unit; the record carries them times ``factor`` (FATCOT).

    ``open``/``high``/``low``/``average`` default to ``close``; ``volume`` to quantity x average / factor
    rounded to cents; ``short_name`` to the ticker's root; ``isin`` to a made-up ``BR...`` code.
    """

    session: date
    ticker: str
    close: Decimal
    bdi: str = "02"
    market: str = "010"
    especi: str = "ON      NM"
    short_name: str = ""
    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    average: Decimal | None = None
    best_bid: Decimal = Decimal(0)
    best_ask: Decimal = Decimal(0)
    trades: int = 100
    quantity: int = 10_000
    volume: Decimal | None = None
    factor: int = 1
    isin: str = ""
    distribution: int = 100
    currency: str = "R$"
    term: str = ""  # PRAZOT: days of a forward, "000" for options, blank for the cash market
    strike: Decimal = Decimal(0)
    correction: int = 0  # INDOPC
    expiry: date = NO_EXPIRY
    strike_points: int = 0  # PTOEXE, 7+6 digits as an integer


def price_digits(value: Decimal, factor: int = 1, width: int = 13) -> str:
    """``value`` x ``factor`` in cents, zero-padded (B3 N(11)V99); refuses a value not in whole cents."""
    cents = value * factor * 100
    if cents != cents.to_integral_value() or cents < 0:
        raise ValueError(f"{value} x {factor} is not a whole number of cents")
    text = f"{int(cents):0{width}d}"
    if len(text) != width:
        raise ValueError(f"{value} does not fit in {width} digits")
    return text


def _num(value: int, width: int) -> str:
    text = f"{value:0{width}d}"
    if len(text) != width or value < 0:
        raise ValueError(f"{value} does not fit in {width} digits")
    return text


def _text(value: str, width: int) -> str:
    if len(value) > width:
        raise ValueError(f"{value!r} is longer than {width} characters")
    return value.ljust(width)


def _isin(ticker: str, especi: str) -> str:
    root = (ticker[:4] + "XXXX")[:4]
    kind = {"ON": "ACNOR", "PN": "ACNPR", "UNT": "CDAM0", "CI": "CTF00"}.get(especi.split(" ")[0], "XXX00")
    return f"BR{root}{kind}"[:11] + str(sum(map(ord, ticker)) % 10)


def record(q: Quote) -> bytes:
    """The 245 bytes of ``q`` (no line ending), latin-1."""
    close = q.close
    avg = q.average if q.average is not None else close
    volume = q.volume
    if volume is None:
        volume = (q.quantity * avg).quantize(Decimal("0.01"))
    fields = [
        "01",
        q.session.strftime("%Y%m%d"),
        _text(q.bdi, 2),
        _text(q.ticker, 12),
        _text(q.market, 3),
        _text(q.short_name or q.ticker[:4], 12),
        _text(q.especi, 10),
        _text(q.term, 3),
        _text(q.currency, 4),
        price_digits(q.open if q.open is not None else close, q.factor),
        price_digits(q.high if q.high is not None else close, q.factor),
        price_digits(q.low if q.low is not None else close, q.factor),
        price_digits(avg, q.factor),
        price_digits(close, q.factor),
        price_digits(q.best_bid, q.factor),
        price_digits(q.best_ask, q.factor),
        _num(q.trades, 5),
        _num(q.quantity, 18),
        price_digits(volume, 1, 18),
        price_digits(q.strike, q.factor),
        _num(q.correction, 1),
        q.expiry.strftime("%Y%m%d"),
        _num(q.factor, 7),
        _num(q.strike_points, 13),
        _text(q.isin or _isin(q.ticker, q.especi), 12),
        _num(q.distribution, 3),
    ]
    out = "".join(fields).encode("latin-1")
    assert len(out) == 245, len(out)
    return out


def header(year: int, generated: date) -> bytes:
    """``00COTAHIST.<YYYY>BOVESPA <YYYYMMDD>`` padded with blanks to 245."""
    return f"00COTAHIST.{year:04d}BOVESPA {generated:%Y%m%d}".ljust(245).encode("latin-1")


def trailer(year: int, generated: date, count: int) -> bytes:
    """``99COTAHIST.<YYYY>BOVESPA <YYYYMMDD><count, 11 digits>`` padded with blanks to 245."""
    return f"99COTAHIST.{year:04d}BOVESPA {generated:%Y%m%d}{count:011d}".ljust(245).encode("latin-1")


Count = Literal["all", "quotes"] | int


def render(
    quotes: Iterable[Quote | bytes],
    *,
    year: int | None = None,
    generated: date | None = None,
    ending: bytes = b"\r\n",
    count: Count = "all",
) -> bytes:
    """A whole COTAHIST text file: header, ``quotes`` (Quote or 245-byte records), trailer.

    ``year``/``generated`` default to the last quote's session; ``count`` is the trailer's: ``"all"``
    (header and trailer included), ``"quotes"`` or any number.
    """
    records = [record(q) if isinstance(q, Quote) else q for q in quotes]
    if generated is None:
        last = max((r[2:10].decode("latin-1") for r in records), default="20240102")
        try:
            generated = date(int(last[:4]), int(last[4:6]), int(last[6:8]))
        except ValueError:
            generated = date(2024, 1, 2)
    year = year or generated.year
    n = len(records) + 2 if count == "all" else len(records) if count == "quotes" else int(count)
    lines = [header(year, generated), *records, trailer(year, generated, n)]
    return ending.join(lines) + ending


def zipped(text: bytes, member: str = "COTAHIST_D08112024.TXT") -> bytes:
    """B3's zip: one deflated member named ``member`` (B3's names vary: ``COTAHIST.A1986``...)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, text)
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------
# a realistic market

#: Records per session by category, in proportion to a real 2024 daily file (12,226 records). Each
#: entry: category -> (count, BDI, TPMERC, ESPECI, kept by the reader).
DAILY_MIX: Mapping[str, tuple[int, str, str, str, bool]] = {
    "share": (300, "02", "010", "ON      NM", True),
    "unit": (10, "02", "010", "UNT     N2", True),
    "preferred": (21, "02", "010", "PN      N1", True),
    "recovery": (22, "08", "010", "ON      NM", True),
    "fii": (296, "12", "010", "CI  ER", True),
    "fiagro": (31, "13", "010", "CI", True),
    "etf": (128, "14", "010", "CI", True),
    "fund_per_thousand": (1, "14", "010", "CI *", True),
    "bdr": (429, "34", "010", "DRN", True),
    "bdr_sponsored": (9, "35", "010", "DR3", True),
    "bdr_etf": (77, "36", "010", "DRE", True),
    "other_share": (1, "58", "010", "PN      N2", True),
    "rights": (7, "10", "010", "DIR ORD NM", False),
    "fii_rights": (1, "12", "010", "DIR", False),
    "warrant": (8, "22", "010", "BNS ORD NM", False),
    "participation": (1, "14", "010", "TPR", False),
    "cepac": (1, "58", "010", "CPA     MB", False),
    "odd_lot": (398, "96", "020", "ON      NM", False),
    "forward": (272, "62", "030", "ON      NM", False),
    "index_call": (65, "74", "070", "IBOV", False),
    "index_put": (77, "75", "080", "IBOV", False),
    "call": (4902, "78", "070", "ON      NM", False),
    "put": (5158, "82", "080", "ON      NM", False),
    "call_exercise": (9, "38", "012", "ON      NM", False),
    "put_exercise": (1, "42", "013", "ON      NM", False),
    "q_market": (3, "93", "021", "ON      NM", False),
}

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _root(i: int, first: str = "Q") -> str:
    """A made-up four-letter ticker root: QAAA, QAAB, ... (first letter fixed per category)."""
    return first + _LETTERS[i // 676 % 26] + _LETTERS[i // 26 % 26] + _LETTERS[i % 26]


@dataclass(frozen=True)
class Instrument:
    category: str
    ticker: str
    bdi: str
    market: str
    especi: str
    kept: bool
    base_price: Decimal
    factor: int = 1
    short_name: str = ""
    term: str = ""
    expiry: date = NO_EXPIRY
    strike: Decimal = Decimal(0)


def instruments(
    mix: Mapping[str, tuple[int, str, str, str, bool]] = DAILY_MIX, *, seed: int = 7
) -> list[Instrument]:
    """The universe of one synthetic market: ``count`` instruments per category of ``mix``."""
    rng = random.Random(seed)
    out: list[Instrument] = []
    firsts = iter("QWXYZVKJHGFMNPRSTBCDELAOIU")
    expiry = date(2030, 1, 18)
    for category, (count, bdi, market, especi, kept) in mix.items():
        first = next(firsts)
        for i in range(count):
            root = _root(i, first)
            suffix = {
                "unit": "11",
                "preferred": "4",
                "fii": "11",
                "fiagro": "11",
                "etf": "11",
                "fund_per_thousand": "11",
                "bdr": "34",
                "bdr_sponsored": "33",
                "bdr_etf": "39",
                "rights": "1",
                "fii_rights": "12",
                "warrant": "11",
                "participation": "11",
                "cepac": "11B",
                "odd_lot": "3F",
                "forward": "3T",
                "call": "A" + str(100 + i % 900),
                "put": "M" + str(100 + i % 900),
                "index_call": "A" + str(100 + i),
                "index_put": "M" + str(100 + i),
                "call_exercise": "E" + str(100 + i),
                "put_exercise": "Q" + str(100 + i),
                "q_market": "3Q",
            }.get(category, "3")
            price = Decimal(rng.randint(50, 20_000)) / 100
            name = {"fii": "FII ", "fiagro": "FIAGRO ", "etf": "ETF "}.get(category, "") + root
            out.append(
                Instrument(
                    category=category,
                    ticker=root + suffix,
                    bdi=bdi,
                    market=market,
                    especi=especi,
                    kept=kept,
                    base_price=price,
                    factor=1000 if category == "fund_per_thousand" else 1,
                    short_name=name[:12],
                    term="030"
                    if market == "030"
                    else "000"
                    if market in ("012", "013", "070", "080")
                    else "",
                    expiry=expiry if market in ("012", "013", "070", "080") else NO_EXPIRY,
                    strike=price.quantize(Decimal("1")) if market in ("070", "080") else Decimal(0),
                )
            )
    return out


def quote_for(inst: Instrument, session: date, rng: random.Random) -> Quote:
    """A plausible quote of ``inst`` on ``session`` (prices on a random walk around its base)."""
    step = Decimal(rng.randint(-300, 300)) / 10_000
    close = max(Decimal("0.01"), (inst.base_price * (1 + step)).quantize(Decimal("0.01")))
    if inst.factor != 1:  # quoted per thousand: per-unit prices with 5 decimals
        close = (close / 1000).quantize(Decimal("0.00001"))
    tick = Decimal("0.01") / inst.factor
    low = max(tick, close - tick * rng.randint(0, 30))
    high = close + tick * rng.randint(0, 30)
    quantity = rng.randint(1, 5_000) * 100
    return Quote(
        session=session,
        ticker=inst.ticker,
        close=close,
        bdi=inst.bdi,
        market=inst.market,
        especi=inst.especi,
        short_name=inst.short_name,
        open=low,
        high=high,
        low=low,
        average=close,
        best_bid=max(tick, close - tick),
        best_ask=close + tick if rng.random() > 0.05 else Decimal(0),
        trades=rng.randint(1, 20_000),
        quantity=quantity,
        factor=inst.factor,
        term=inst.term,
        strike=inst.strike,
        expiry=inst.expiry,
        distribution=100 + rng.randint(0, 120),
    )


def market_day(
    session: date,
    *,
    mix: Mapping[str, tuple[int, str, str, str, bool]] = DAILY_MIX,
    seed: int = 7,
    extra: Sequence[Quote] = (),
) -> list[Quote]:
    """Every record of one session, in B3's order within a day (BDI, name, ticker), ``extra`` included."""
    rng = random.Random(f"{seed}-{session.isoformat()}")
    quotes = [quote_for(inst, session, rng) for inst in instruments(mix, seed=seed)]
    quotes.extend(dataclasses.replace(q, session=session) for q in extra)
    quotes.sort(key=lambda q: (q.bdi, q.short_name or q.ticker[:4], q.ticker))
    return quotes


def small_mix(scale: float) -> dict[str, tuple[int, str, str, str, bool]]:
    """:data:`DAILY_MIX` scaled down (every category keeps at least one record)."""
    return {
        k: (max(1, round(n * scale)), bdi, market, especi, kept)
        for k, (n, bdi, market, especi, kept) in DAILY_MIX.items()
    }


def sessions(first: date, count: int) -> list[date]:
    """``count`` weekdays from ``first`` (holidays ignored: enough for synthetic files)."""
    out = []
    d = first
    while len(out) < count:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


# ----------------------------------------------------------------------------------------------
# the download route


def mount(server: Any, files: Mapping[str, bytes], prefix: str = PATH) -> str:
    """Serve ``files`` (file name -> bytes) under ``prefix`` on a :class:`tests.b3fake.FakeB3Server`;
    any other name gets B3's 404. ``files`` is read at each request, so it can change later.
    Returns the base URL to give :func:`ibovcli.cotahist.fetch_cotahist` (no trailing slash)."""

    def handler(rest: str) -> tuple[int, bytes, str]:
        body = files.get(rest)
        if body is None:
            return 404, b"<html><body><h1>404 - File or directory not found.</h1></body></html>", "text/html"
        return 200, body, "application/x-zip-compressed"

    server.add_route(prefix, handler)
    return server.url + prefix.rstrip("/")
