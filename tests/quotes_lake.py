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
