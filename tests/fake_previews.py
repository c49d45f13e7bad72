"""Synthetic theoretical portfolios and previews of B3's 4-month periods, byte-exact renderers, and the
routes that make :class:`tests.b3fake.FakeB3Server` serve them (stdlib only).

Everything here is made up; the formats follow ``shared/docs/b3-source.md`` (sections 1, 3b, 5, 6.2)
and real files read by hand. What is verified and what is guessed:

* JSON (``GetTheoricalPortfolio``, ``GetQuartelyPreview``): :func:`tests.b3fake.theoretical_portfolio_json`
  (header ``part``/``theoricalQty``/``reductor`` only, rows by ticker, ``cont`` = rank by company name).
  Verified on the two real theoretical answers; the preview having the same shape is [code].
* CSV download: like the day's CSV, title ``<INDEX> - Carteira Jan. a Abr. 2025`` (theoretical, rows
  by ticker) or ``<INDEX> - Prévia Set. a Dez. 2025`` (preview, rows by company name) [seen in real
  files]. ``title_style="site"`` renders the site's headings instead (``Carteira Teórica - Mai. a Ago.
  2025``, ``Prévia Quadrimestral - Set. a Dez. 2025``) [code]. Everything en-us is a GUESS: title
  ``Portfolio``/``Preview`` + ``Jan. to Apr. 2025``, header ``Code;Stock;Type;Theoretical Qty;Part. (%)``,
  footers with the JSON's en-us labels (``Total Theorethical Quantity``, ``Reductor``).
* ``GetConfigurations``: only ``preview: [{"has": 0|1}]`` is known [code, one source]; nothing else of
  its answer is rendered unless given as ``extra``.

Periods (weights deliberately not all summing to 100.000, as B3's period files do):

===========================  ===========  =====  ===============  ============================
name                         period       rows   sum of weights   note
===========================  ===========  =====  ===============  ============================
``THEORETICAL_IBOV_2025_01`` Jan-Apr 2025  14    99.999           b3fake IBOV 30/04/25, SUZB3 -0.001
``THEORETICAL_IBOV_2025_05`` May-Aug 2025  14    100.000          b3fake IBOV 05/05/25
``THEORETICAL_IBXX_2025_05`` May-Aug 2025   8    100.000          b3fake IBXX 30/04/25
``PREVIEW_IBOV_2025_09``     Sep-Dec 2025  14    100.001          May-Aug: SUZB3 out, PRIO3 in
===========================  ===========  =====  ===============  ============================
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tests import b3fake
from tests.b3fake import (
    JSON_TYPE,
    TEXT_TYPE,
    FakeB3Server,
    Portfolio,
    Row,
    decode_token,
    fmt_int,
    fmt_part,
    fmt_reductor,
    theoretical_portfolio_json,
    to_json_bytes,
)

__all__ = [
    "PERIODS",
    "PREVIEW_IBOV_2025_09",
    "PREVIEW_IBOV_2025_09_V2",
    "THEORETICAL_IBOV_2025_01",
    "THEORETICAL_IBOV_2025_05",
    "THEORETICAL_IBXX_2025_05",
    "PeriodFake",
    "configurations_json",
    "empty_period_json",
    "mount",
    "period_csv",
    "period_download_body",
    "period_json",
    "period_title",
    "total_pages",
]

PT_MONTHS = ("Jan", "Fev", "Mar", "Abr", "Mai", "Jun", "Jul", "Ago", "Set", "Out", "Nov", "Dez")
EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
PREFIX = "/indexProxy/indexCall/"


@dataclass(frozen=True)
class PeriodFake:
    """A theoretical portfolio or a preview of one period (``first_month`` 1, 5 or 9) of one index.

    ``portfolio.rows`` are in company-name order (b3fake's convention); ``portfolio.date`` is unused.
    """

    kind: str  # "theoretical" | "preview"
    year: int
    first_month: int
    portfolio: Portfolio

    def __post_init__(self) -> None:
        if self.kind not in ("theoretical", "preview") or self.first_month not in (1, 5, 9):
            raise ValueError(f"bad period fake: {self.kind} {self.year}-{self.first_month}")

    @property
    def index(self) -> str:
        return self.portfolio.index

    @property
    def month(self) -> str:
        """``"2025-05"``, as ``--period`` takes it."""
        return f"{self.year:04d}-{self.first_month:02d}"


def _with_part(p: Portfolio, cod: str, part: str) -> Portfolio:
    rows = tuple(dataclasses.replace(r, part=Decimal(part)) if r.cod == cod else r for r in p.rows)
    return dataclasses.replace(p, rows=rows)


_JAN = _with_part(b3fake.IBOV_2025_04_30, "SUZB3", "2.918")
THEORETICAL_IBOV_2025_01 = PeriodFake(
    "theoretical",
    2025,
    1,
    dataclasses.replace(_JAN, date=dt.date(2025, 1, 6), reductor=Decimal("15791264.80317052")),
)
THEORETICAL_IBOV_2025_05 = PeriodFake("theoretical", 2025, 5, b3fake.IBOV_2025_05_05)
THEORETICAL_IBXX_2025_05 = PeriodFake(
    "theoretical", 2025, 5, dataclasses.replace(b3fake.IBXX_2025_04_30, date=dt.date(2025, 5, 5))
)


def _preview_2025_09() -> Portfolio:
    base = b3fake.IBOV_2025_05_05
    prio = Row("PRIO3", "PETRORIO", "ON      NM", b3fake.PETROLEO, Decimal("2.813"), 804_466_917)
    rows: list[Row] = []
    for r in base.rows:
        if r.cod == "SUZB3":
            continue
        rows.append(r)
        if r.cod == "PETR4":  # company-name order: PETROBRAS < PETRORIO
            rows.append(prio)
    total = sum(r.qty for r in rows)
    return dataclasses.replace(
        base,
        date=dt.date(2025, 9, 1),
        rows=tuple(rows),
        total_qty=total,
        reductor=Decimal("15966021.07733919"),
    )


PREVIEW_IBOV_2025_09 = PeriodFake("preview", 2025, 9, _preview_2025_09())


def _reweighted(f: PeriodFake, changes: Mapping[str, str]) -> PeriodFake:
    p = f.portfolio
    for cod, delta in changes.items():
        part = next(r.part for r in p.rows if r.cod == cod) + Decimal(delta)
        p = _with_part(p, cod, str(part))
    return dataclasses.replace(f, portfolio=p)


#: A second version of the Sep-Dec 2025 preview (B3 publishes three): the same members, five weights
#: moved (VALE3 -1.300, ITUB4 +0.650, PETR4 +0.600, BBDC4 -0.400, WEGE3 +0.450; the sum stays 100.001).
PREVIEW_IBOV_2025_09_V2 = _reweighted(
    PREVIEW_IBOV_2025_09,
    {"VALE3": "-1.300", "ITUB4": "0.650", "PETR4": "0.600", "BBDC4": "-0.400", "WEGE3": "0.450"},
)

PERIODS: tuple[PeriodFake, ...] = (
    THEORETICAL_IBOV_2025_01,
    THEORETICAL_IBOV_2025_05,
    THEORETICAL_IBXX_2025_05,
    PREVIEW_IBOV_2025_09,
)

# ----------------------------------------------------------------------------------------------
# renderers


def period_json(
    f: PeriodFake, *, language: str = "pt-br", page: int = 1, page_size: int = 9999
) -> dict[str, Any]:
    """A ``GetTheoricalPortfolio`` / ``GetQuartelyPreview`` body for one page (same shape for both)."""
    return theoretical_portfolio_json(f.portfolio, language=language, page=page, page_size=page_size)


def empty_period_json(*, page: int = 1, page_size: int = 9999) -> dict[str, Any]:
    """The answer for an index without a portfolio: no rows, a null header (like FakeB3Server's)."""
    return {
        "page": {"pageNumber": page, "pageSize": page_size, "totalRecords": 0, "totalPages": 0},
        "header": dict.fromkeys(("part", "theoricalQty", "reductor")),
        "results": [],
    }


def _months(f: PeriodFake, language: str) -> str:
    first, last = f.first_month - 1, f.first_month + 2
    if language == "pt-br":
        return f"{PT_MONTHS[first]}. a {PT_MONTHS[last]}. {f.year}"

    def en(i: int) -> str:
        return EN_MONTHS[i] if EN_MONTHS[i] == "May" else EN_MONTHS[i] + "."

    return f"{en(first)} to {en(last)} {f.year}"


def period_title(f: PeriodFake, *, language: str = "pt-br", title_style: str = "file") -> str:
    """``IBOV - Carteira Jan. a Abr. 2025`` / ``IBOV - Prévia Set. a Dez. 2025`` (``title_style="site"``:
    ``IBOV - Carteira Teórica - Mai. a Ago. 2025`` / ``IBOV - Prévia Quadrimestral - Set. a Dez. 2025``)."""
    b3fake._check_language(language)
    if title_style not in ("file", "site"):
        raise ValueError(f"title_style must be 'file' or 'site', not {title_style!r}")
    words = {
        ("pt-br", "file"): {"theoretical": "Carteira", "preview": "Prévia"},
        ("pt-br", "site"): {"theoretical": "Carteira Teórica -", "preview": "Prévia Quadrimestral -"},
        ("en-us", "file"): {"theoretical": "Portfolio", "preview": "Preview"},
        ("en-us", "site"): {"theoretical": "Theoretical Portfolio -", "preview": "Quarterly Preview -"},
    }[(language, title_style)]
    return f"{f.index} - {words[f.kind]} {_months(f, language)}"


_CSV_TEXT = {
    "pt-br": ("Código;Ação;Tipo;Qtde. Teórica;Part. (%)", "Quantidade Teórica Total", "Redutor"),
    "en-us": ("Code;Stock;Type;Theoretical Qty;Part. (%)", "Total Theorethical Quantity", "Reductor"),
}


def period_csv(
    f: PeriodFake,
    *,
    language: str = "pt-br",
    newline: str = "\n",
    title_style: str = "file",
    extra_column: bool = False,
) -> bytes:
    """The download file: latin-1, ``;``, title + header + rows (theoretical by ticker, preview by company
    name) with a trailing ``;`` + the two footer lines. ``extra_column`` adds a ``Setor`` column after
    ``Ação`` (the footers shift with it), to check that columns are read by name."""
    if newline not in ("\n", "\r\n"):
        raise ValueError("newline must be '\\n' or '\\r\\n'")
    header, total_label, reductor_label = _CSV_TEXT[language]
    rows = (
        sorted(f.portfolio.rows, key=lambda r: r.cod) if f.kind == "theoretical" else list(f.portfolio.rows)
    )
    gap = ";;;;" if extra_column else ";;;"
    if extra_column:
        code, asset, rest = header.split(";", 2)
        header = f"{code};{asset};Setor;{rest}"

    def line(r: Row) -> str:
        cells = [r.cod, r.asset, *([r.segment] if extra_column else []), r.type]
        return ";".join([*cells, fmt_int(r.qty, language), fmt_part(r.part, language)]) + ";"

    p = f.portfolio
    lines = [
        period_title(f, language=language, title_style=title_style),
        header,
        *(line(r) for r in rows),
        f"{total_label}{gap}{fmt_int(p.total_qty, language)};{fmt_part(b3fake.HUNDRED, language)}",
        f"{reductor_label}{gap}{fmt_reductor(p.reductor, language)}",
    ]
    return (newline.join(lines) + newline).encode("latin-1")


def period_download_body(f: PeriodFake, *, quoted: bool = True, language: str = "pt-br") -> bytes:
    """The raw ``GetDownloadPortfolioTheorical`` / ``GetDownloadPreview`` body: base64 of the CSV."""
    b64 = base64.b64encode(period_csv(f, language=language))
    return b'"' + b64 + b'"' if quoted else b64


def configurations_json(
    has: int | Sequence[int], *, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A ``GetConfigurations`` answer reduced to what is known: ``{"preview": [{"has": 0|1}, ...]}``."""
    flags = [has] if isinstance(has, int) else list(has)
    return {**(extra or {}), "preview": [{"has": h} for h in flags]}


# ----------------------------------------------------------------------------------------------
# fake server routes


def _page_args(token: Mapping[str, Any]) -> tuple[str, int, int]:
    language = token.get("language", "pt-br")
    b3fake._check_language(language)
    page = int(token.get("pageNumber", 1))
    page_size = int(token.get("pageSize", 20))
    if page < 1 or page_size < 1:
        raise ValueError(f"pageNumber and pageSize must be >= 1, got {page}/{page_size}")
    return language, page, page_size


def _decoded(rest: str) -> dict[str, Any] | None:
    try:
        return decode_token(rest)
    except ValueError:
        return None


def mount(
    server: FakeB3Server,
    *,
    previews: Mapping[str, PeriodFake] | None = None,
    has_preview: Mapping[str, int] | None = None,
    theoretical: Mapping[str, PeriodFake] | None = None,
) -> None:
    """Make ``server`` answer the period endpoints (index code -> fake, exact and case-sensitive):

    * ``GetQuartelyPreview``: ``previews[index]`` (an unknown index gets :func:`empty_period_json`);
    * ``GetConfigurations``: ``has`` = ``has_preview[index]``, by default 1 when ``index`` has a preview;
    * ``GetDownloadPreview`` / ``GetDownloadPortfolioTheorical``: the quoted base64 CSV, ``""`` if none;
    * ``GetTheoricalPortfolio``, only when ``theoretical`` is given (it then replaces the server's own
      answer, which renders the server's day portfolios as theoretical ones).

    A token that does not decode, or has a bad language or page, gets HTTP 400.
    """
    previews = dict(previews or {})
    flags = {i: 1 for i in previews} | dict(has_preview or {})
    theo = dict(theoretical or {})

    def pages(catalogue: dict[str, PeriodFake]) -> Any:
        def handler(rest: str) -> tuple[int, bytes, str]:
            token = _decoded(rest)
            if token is None:
                return 400, b"Bad Request: token is not base64 of a JSON object", TEXT_TYPE
            try:
                language, page, page_size = _page_args(token)
            except (TypeError, ValueError) as exc:
                return 400, f"Bad Request: {exc}".encode(), TEXT_TYPE
            f = catalogue.get(token.get("index", ""))
            body = (
                period_json(f, language=language, page=page, page_size=page_size)
                if f
                else empty_period_json(page=page, page_size=page_size)
            )
            return 200, to_json_bytes(body), JSON_TYPE

        return handler

    def downloads(catalogue: dict[str, PeriodFake]) -> Any:
        def handler(rest: str) -> tuple[int, bytes, str]:
            token = _decoded(rest)
            if token is None:
                return 400, b"Bad Request: token is not base64 of a JSON object", TEXT_TYPE
            f = catalogue.get(token.get("index", ""))
            language = token.get("language", "pt-br")
            return 200, (period_download_body(f, language=language) if f else b'""'), JSON_TYPE

        return handler

    def configurations(rest: str) -> tuple[int, bytes, str]:
        token = _decoded(rest)
        if token is None:
            return 400, b"Bad Request: token is not base64 of a JSON object", TEXT_TYPE
        return 200, to_json_bytes(configurations_json(flags.get(token.get("index", ""), 0))), JSON_TYPE

    server.add_route(PREFIX + "GetQuartelyPreview/", pages(previews))
    server.add_route(PREFIX + "GetConfigurations/", configurations)
    server.add_route(PREFIX + "GetDownloadPreview/", downloads(previews))
    server.add_route(PREFIX + "GetDownloadPortfolioTheorical/", downloads(theo))
    if theoretical is not None:
        server.add_route(PREFIX + "GetTheoricalPortfolio/", pages(theo))


def total_pages(f: PeriodFake, page_size: int) -> int:
    """How many pages B3 splits ``f`` into at ``page_size`` rows a page."""
    return math.ceil(len(f.portfolio.rows) / page_size)
