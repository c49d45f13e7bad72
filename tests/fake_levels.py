"""Synthetic B3 index levels (``indexStatisticsProxy/IndexCall/GetPortfolioDay``), byte-exact renderers
and a route for :class:`tests.b3fake.FakeB3Server`.

Everything here is made up: :func:`make_year` draws a seeded random walk (integer cents, so every
level has exactly two decimals) over the real B3 calendar (:mod:`ibovcli.tradingdays`, which loads the
``holidays`` package: the one import beyond the standard library and :mod:`tests.b3fake`). The same
``(index, year)`` always gives the same levels. No real B3 value is reproduced.

The *format* follows ``shared/docs/b3-history.md`` section 2: ``{"min": {"day": 0, "rateValue1" ..
"rateValue12"}, "max": {...}, "results": [31 rows {"day": 1..31, "rateValue1" .. "rateValue12"}]}``,
compact separators, no trailing newline, ``null`` for a cell without a session, values like
``"101.005,64"`` (pt-br) or ``"101,005.64"`` (en-us); ``min``/``max`` are each month's extremes
(``null`` for a month without sessions). For an unknown index or year B3 answers HTTP 200 with
``"results": null``; what it puts in ``min``/``max`` then is not documented (:func:`no_levels_json`
uses ``null``). A token that does not decode gets HTTP 200 with an empty body.

``python -m tests.fake_levels`` (from the project root) regenerates ``tests/fixtures/levels``.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from ibovcli import tradingdays
from tests import b3fake

__all__ = [
    "ROUTE",
    "FakeYear",
    "fixture_files",
    "levels_json",
    "make_year",
    "mount",
    "no_levels_json",
    "render",
    "requested_tokens",
    "write_fixtures",
]

ROUTE = "/indexStatisticsProxy/IndexCall/GetPortfolioDay/"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures" / "levels"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class FakeYear:
    """One index's levels for one year: ``sessions`` in date order, each level with two decimals."""

    index: str
    year: int
    sessions: tuple[tuple[date, Decimal], ...]

    def by_month(self) -> dict[int, list[tuple[date, Decimal]]]:
        out: dict[int, list[tuple[date, Decimal]]] = {m: [] for m in range(1, 13)}
        for d, level in self.sessions:
            out[d.month].append((d, level))
        return out


def _seed(index: str, year: int) -> int:
    return int.from_bytes(hashlib.sha256(f"levels:{index}:{year}".encode()).digest()[:8], "big")


def make_year(
    index: str = "IBOV",
    year: int = 2022,
    *,
    until: date | None = None,
    start: Decimal | None = None,
    extra_days: Iterable[date] = (),
) -> FakeYear:
    """A deterministic year of levels for ``index``: one per B3 trading day of ``year`` up to ``until``.

    ``start`` is the first session's level (default: drawn from the seed, 2 000.00 .. 150 000.00);
    each later session moves by -3 %..+3 % (in basis points, truncated to the cent). ``extra_days``
    adds sessions on other days (a holiday B3 did open, or a weekend for a broken answer).
    """
    rng = random.Random(_seed(index, year))
    last = date(year, 12, 31) if until is None else min(until, date(year, 12, 31))
    days = sorted({*tradingdays.trading_days(date(year, 1, 1), last), *extra_days})
    if start is not None and (start <= 0 or start != start.quantize(CENT)):
        raise ValueError(f"start must be a positive level with at most two decimals, not {start}")
    cents = int(start / CENT) if start is not None else rng.randint(2_000_00, 150_000_00)
    sessions = []
    for d in days:
        sessions.append((d, Decimal(cents) * CENT))
        bp = rng.randint(-300, 300)
        cents = max(1, cents + cents * bp // 10_000)
    return FakeYear(index, year, tuple(sessions))


def _fmt(level: Decimal, language: str) -> str:
    return b3fake.fmt_decimal(level, 2, language)


def levels_json(y: FakeYear, language: str = "pt-br", *, blank: str | None = None) -> dict[str, Any]:
    """The answer B3 gives for ``y``: min and max rows, then 31 day rows of 12 months.

    ``blank`` is what a cell without a session holds (B3: ``null``; ``""`` is reported by one client).
    Sessions on dates the grid cannot hold are impossible (every date has a cell), so any ``FakeYear``
    renders; sessions outside ``y.year`` are refused.
    """
    b3fake._check_language(language)
    if any(d.year != y.year for d, _ in y.sessions):
        raise ValueError(f"a session of {y.index} {y.year} is dated outside {y.year}")
    cells = {d: _fmt(level, language) for d, level in y.sessions}
    months = y.by_month()

    def extreme(pick: Any) -> dict[str, Any]:
        row: dict[str, Any] = {"day": 0}
        for m in range(1, 13):
            values = [level for _, level in months[m]]
            row[f"rateValue{m}"] = _fmt(pick(values), language) if values else None
        return row

    results = []
    for day in range(1, 32):
        row: dict[str, Any] = {"day": day}
        for m in range(1, 13):
            try:
                d: date | None = date(y.year, m, day)
            except ValueError:
                d = None
            row[f"rateValue{m}"] = cells.get(d, blank) if d is not None else blank
        results.append(row)
    return {"min": extreme(min), "max": extreme(max), "results": results}


def no_levels_json() -> dict[str, Any]:
    """B3's answer for an unknown index or a year without data."""
    return {"min": None, "max": None, "results": None}


def render(y: FakeYear, language: str = "pt-br", *, blank: str | None = None) -> bytes:
    """:func:`levels_json` serialised as B3 does (compact, UTF-8, no trailing newline)."""
    return b3fake.to_json_bytes(levels_json(y, language, blank=blank))


# ----------------------------------------------------------------------------------------------
# fake endpoint


def mount(server: b3fake.FakeB3Server, years: MutableMapping[tuple[str, int], FakeYear]) -> None:
    """Serve ``GET /indexStatisticsProxy/IndexCall/GetPortfolioDay/<token>`` on ``server``.

    ``years`` maps ``(index, year)`` to the data (it is read at each request, so tests may change it).
    The token's ``year`` may be a number or a string, as with B3. An unknown ``(index, year)`` gets
    :func:`no_levels_json`; a token that is not base64 of a JSON object with ``index`` and ``year``
    (or has a language other than pt-br/en-us) gets HTTP 200 with an empty body.
    """

    def handler(rest: str) -> tuple[int, bytes, str]:
        try:
            token = b3fake.decode_token(rest)
            language = token.get("language", "pt-br")
            b3fake._check_language(language)
            key = (str(token["index"]), int(token["year"]))
        except (KeyError, TypeError, ValueError):
            return 200, b"", b3fake.JSON_TYPE
        y = years.get(key)
        body = levels_json(y, language) if y is not None else no_levels_json()
        return 200, b3fake.to_json_bytes(body), b3fake.JSON_TYPE

    server.add_route(ROUTE, handler)


def requested_tokens(server: b3fake.FakeB3Server) -> list[dict[str, Any]]:
    """The decoded tokens of the levels requests ``server`` received (``{}`` for a bad token)."""
    out = []
    for path, _ in server.requests:
        if path.startswith(ROUTE):
            try:
                out.append(b3fake.decode_token(path[len(ROUTE) :]))
            except ValueError:
                out.append({})
    return out


# ----------------------------------------------------------------------------------------------
# static fixtures

README_HEAD = """\
# B3 index levels fixtures (synthetic)

Every file here is **synthetic**: seeded random walks over the real B3 calendar, written by
`tests/fake_levels.py` (`python -m tests.fake_levels` regenerates them) in the format of B3's
`indexStatisticsProxy/IndexCall/GetPortfolioDay` answer (`shared/docs/b3-history.md` section 2).
No real B3 value is reproduced.

"""


def fixture_files() -> list[tuple[str, bytes, str]]:
    """``(file name, bytes, one-line description)`` of every fixture file."""
    ibov = make_year("IBOV", 2022)
    idiv = make_year("IDIV", 2024, until=date(2024, 6, 14))
    return [
        (
            "IBOV_2022_ptbr.json",
            render(ibov, "pt-br"),
            f"IBOV 2022, pt-br, {len(ibov.sessions)} sessions (every B3 trading day), first "
            f"{ibov.sessions[0][0]}, last {ibov.sessions[-1][0]}.",
        ),
        (
            "IBOV_2022_enus.json",
            render(ibov, "en-us"),
            "The same year, en-us (`101,005.64`).",
        ),
        (
            "IDIV_2024_ptbr_until_2024-06-14.json",
            render(idiv, "pt-br"),
            f"IDIV 2024 as asked on 2024-06-15: {len(idiv.sessions)} sessions up to 2024-06-14 (29 Feb "
            "included), July to December empty (`min`/`max` null).",
        ),
        (
            "no_levels.json",
            b3fake.to_json_bytes(no_levels_json()),
            'The answer for an unknown index or a year without data (`"results": null`).',
        ),
    ]


def write_fixtures(out_dir: Path = FIXTURES_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    readme = [README_HEAD]
    for name, data, description in fixture_files():
        path = out_dir / name
        path.write_bytes(data)
        paths.append(path)
        readme.append(f"- `{name}`: {description}\n")
    (out_dir / "README.md").write_text("".join(readme), encoding="utf-8")
    return paths


def main() -> None:
    written = write_fixtures()
    print(f"wrote {len(written)} files + README.md to {FIXTURES_DIR}")


if __name__ == "__main__":
    main()
