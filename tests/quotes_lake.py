"""A hand-made lake of portfolios, official levels and COTAHIST quotes whose reconcile and contribution
answers are worked out by hand (tests/test_quotes_queries.py). Everything is made up.

IBOV on 2024-11-08 (a Friday), three constituents; the previous session is 2024-11-07:

=======  =====  ==========  =========  ==========  ==========  ==========
ticker   qty    close 11-07 value      B3 weight   close 11-08 return
=======  =====  ==========  =========  ==========  ==========  ==========
AAAA3    1000   10.00       10,000     20.003      11.00       +10 %
BBBB4    1500   20.00       30,000     59.998      19.00       -5 %
CCCC3    2000    5.00       10,000     19.999 EJ    5.00        0 %
=======  =====  ==========  =========  ==========  ==========  ==========

Reductor 50: level at the 11-07 closes 50,000 / 50 = 1000.00, at the 11-08 closes 49,500 / 50 = 990.00.
The weights from the 11-07 closes are 20, 60, 20 %: B3's differ by 0.003 (AAAA3), 0.002 (BBBB4) and
0.001 (CCCC3, flagged EJ: not checked). Official levels stored: 1000.00 on 11-07, 990.50 on 11-08.

IBOV on 2024-11-11 (Monday): the same portfolio, no quotes and no level stored for that day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from ibovcli import rawfiles
from ibovcli.b3 import Holding, Portfolio
from ibovcli.levels import LevelsYear
from tests import fake_cotahist, lakes

D0, D1, D2 = date(2024, 11, 7), date(2024, 11, 8), date(2024, 11, 11)
REDUCTOR = Decimal("50")
HOLDINGS = (
    Holding("AAAA3", "ALFA", "ON      NM", None, Decimal("20.003"), 1000),
    Holding("BBBB4", "BETA", "PN      N1", None, Decimal("59.998"), 1500),
    Holding("CCCC3", "GAMA", "ON  EJ  NM", None, Decimal("19.999"), 2000),
)
CLOSES = {
    D0: {"AAAA3": "10.00", "BBBB4": "20.00", "CCCC3": "5.00", "ZZZZ11": "100.00"},
    D1: {"AAAA3": "11.00", "BBBB4": "19.00", "CCCC3": "5.00", "ZZZZ11": "101.00"},
}
LEVELS = ((D0, Decimal("1000.00")), (D1, Decimal("990.50")))


def portfolio(day: date) -> Portfolio:
    return Portfolio(
        index="IBOV",
        session_date=day,
        holdings=HOLDINGS,
        total_qty=sum(h.qty for h in HOLDINGS),
        reductor=REDUCTOR,
        source_format="test",
        source="test",
        original=f"portfolio {day}".encode(),
        collected_at=datetime(2024, 11, 8, 12, tzinfo=UTC),
    )


def cotahist_file(folder: Path, day: date) -> Path:
    """The day's daily COTAHIST zip (the three constituents, a fund, and an odd lot left out)."""
    quotes = [
        fake_cotahist.Quote(day, t, Decimal(c), bdi="12" if t.endswith("11") else "02", especi="CI")
        for t, c in CLOSES[day].items()
    ]
    quotes.append(fake_cotahist.Quote(day, "AAAA3F", Decimal("1.00"), bdi="96", market="020"))
    name = f"COTAHIST_D{day:%d%m%Y}"
    path = folder / f"{name}.ZIP"
    path.write_bytes(fake_cotahist.zipped(fake_cotahist.render(quotes), f"{name}.TXT"))
    return path


def build(lake: Path, files: Path, *, quotes: bool = True, levels: bool = True) -> list[Path]:
    """Store the portfolios (and, unless told not to, the levels and the quotes); the quote files
    written to ``files`` are returned (the caller stores them when ``quotes`` is False)."""
    lakes.store(lake, portfolio(D1), portfolio(D2))
    paths = [cotahist_file(files, d) for d in (D0, D1)]
    eng = lakes.engine(lake)
    try:
        with eng.lock():
            writes = []
            if levels:
                writes.append(
                    rawfiles.levels(
                        LevelsYear("IBOV", 2024, LEVELS, "test", source="test", original=b"levels 2024")
                    )
                )
            if quotes:
                from ibovcli import quotes as quotes_mod

                for p in paths:
                    writes += quotes_mod.read_writes(p, max_daily_bytes=1 << 20)
            if writes:
                eng.process(eng.write_raw(writes), lambda _m: None)
    finally:
        eng.close()
    return paths


# -- a longer, plausible market (docs image, benchmarks) ----------------------------------------------


def synthetic(
    lake: Path, files: Path, *, sessions: int = 21, members: int = 80, others: int = 40, end: date = D1
) -> list[date]:
    """``sessions`` B3 sessions up to ``end`` of a made-up market: ``members`` constituents (fixed
    theoretical quantities, reductor 1e9 / level ~ 120,000) plus ``others`` quoted non-members; each
    day's portfolio carries B3-style weights (the previous closes, thousandths summing to 100.000) and
    each day's official level is the closes' level rounded to cents, so every day reconciles within
    the tolerances. Stored through the project's own paths (COTAHIST files, raw writes, refine)."""
    import itertools
    import math
    import random

    from ibovcli import quotes as quotes_mod
    from ibovcli.tradingdays import trading_days

    rng = random.Random(20241108)
    days = trading_days(date(end.year - 1 - sessions // 240, 1, 1), end)[-(sessions + 1) :]
    tickers = [f"S{i // 26:01d}{chr(65 + i % 26)}{chr(65 + (i * 7) % 26)}3" for i in range(members + others)]
    qty = {t: rng.randint(100_000_000, 3_000_000_000) for t in tickers[:members]}
    price = {t: math.exp(rng.uniform(1.0, 4.5)) for t in tickers}
    reductor = Decimal("1000000000.00000000")
    closes: dict[date, dict[str, Decimal]] = {}
    for d in days:
        for t in tickers:
            price[t] *= math.exp(rng.gauss(0.0, 0.018))
        closes[d] = {t: Decimal(f"{max(price[t], 0.05):.2f}") for t in tickers}
    holdings_qty = {t: q for t, q in qty.items()}
    scale = sum(float(closes[days[0]][t]) * q for t, q in holdings_qty.items()) / 1e9 / 120_000
    holdings_qty = {t: max(1, round(q / scale)) for t, q in holdings_qty.items()}
    eng = lakes.engine(lake)
    levels: dict[int, list[tuple[date, Decimal]]] = {}
    try:
        with eng.lock():
            writes: list[rawfiles.RawWrite] = []
            for prev, d in itertools.pairwise(days):
                values = {t: float(closes[prev][t]) * q for t, q in holdings_qty.items()}
                parts = _thousandths(values)
                holdings = tuple(
                    Holding(t, f"SINTETICA {t[:4]}", "ON      NM", None, Decimal(parts[t]) / 1000, q)
                    for t, q in sorted(holdings_qty.items())
                )
                writes.append(
                    rawfiles.portfolio(
                        Portfolio(
                            "IBOV",
                            d,
                            holdings,
                            sum(holdings_qty.values()),
                            reductor,
                            "test",
                            source="synthetic",
                            original=f"synthetic {d}".encode(),
                        )
                    )
                )
                level = sum(closes[d][t] * q for t, q in holdings_qty.items()) / reductor
                levels.setdefault(d.year, []).append((d, level.quantize(Decimal("0.01"))))
            for d in days:
                quotes = [fake_cotahist.Quote(d, t, c, especi="ON      NM") for t, c in closes[d].items()]
                name = f"COTAHIST_D{d:%d%m%Y}"
                path = files / f"{name}.ZIP"
                path.write_bytes(fake_cotahist.zipped(fake_cotahist.render(quotes), f"{name}.TXT"))
                writes += quotes_mod.read_writes(path, max_daily_bytes=1 << 24)
            for year, sess in sorted(levels.items()):
                writes.append(
                    rawfiles.levels(
                        LevelsYear(
                            "IBOV",
                            year,
                            tuple(sess),
                            "test",
                            source="synthetic",
                            original=f"levels {year}".encode(),
                        )
                    )
                )
            eng.process(eng.write_raw(writes), lambda _m: None)
    finally:
        eng.close()
    return days[1:]


def _thousandths(values: dict[str, float]) -> dict[str, int]:
    """Shares of 100.000 % in thousandths summing to exactly 100000 (largest remainder), as B3 rounds."""
    import math

    total = sum(values.values())
    exact = {t: v / total * 100_000 for t, v in values.items()}
    out = {t: math.floor(x) for t, x in exact.items()}
    for t in sorted(exact, key=lambda t: out[t] - exact[t])[: 100_000 - sum(out.values())]:
        out[t] += 1
    return out
