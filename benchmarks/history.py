"""A synthetic multi-year lake for the benchmarks, built through ibov's own write path.

The market: a universe of securities (the fixture tickers of ``tests/b3fake.py`` plus made-up ones,
``SYxx3``-style) whose prices follow a mean-reverting random walk. Each index holds its top-K
securities by free-float value (IBOV ~86, IBXX 100); membership changes only on rebalance days (the
first B3 trading day on or after the first Monday of January, May and September); theoretical
quantities are fixed between rebalances, so weights drift with prices, and are renormalised to
exactly 100.000 with three decimals (largest remainder). Trading days are B3's
(:mod:`ibovcli.tradingdays`: weekdays minus BVMF holidays).

Every day of every index is rendered as B3's GetPortfolioDay JSON (pt-br, segment 2, with sectors)
by ``tests/b3fake.py`` and stored by the real CLI, ``ibov scrape --from FOLDER`` (bulk import: parse,
quality gate, raw write, refine, catalog), a chunk of days per command. With several indices the same
steps run in-process (:func:`store_chunk`: one writer lock per chunk), because a JSON answer does not
name its index and one command per index would refine each day once per index. Nothing bypasses the
engine, so the lake is the one ``ibov run`` would have built day after day, only faster to build.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import shutil
import string
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from ibovcli import b3, layout, quality, tradingdays  # noqa: E402
from ibovcli.engines.base import RunRecord  # noqa: E402
from tests import b3fake  # noqa: E402

#: Constituents per index, roughly B3's (IBOV ~85-90, IBrX-100 100, IBrX-50 50, SMLL ~130).
INDEX_SIZES = {"IBOV": 86, "IBXX": 100, "IBXL": 50, "SMLL": 130}
DEFAULT_SIZE = 80
#: The series ends on the last fixture day (the first portfolio of the May 2025 period).
DEFAULT_END = date(2025, 5, 5)
SECTORS = (
    b3fake.BEBIDAS,
    b3fake.COMERCIO,
    b3fake.DIVERSOS,
    b3fake.ENERGIA,
    b3fake.HOSPITAIS,
    b3fake.INTERMS,
    b3fake.MADEIRA,
    b3fake.MAQUINAS,
    b3fake.MAT_TRANSP,
    b3fake.MINERACAO,
    b3fake.PETROLEO,
    b3fake.SERV_FIN,
)
CLASSES = (("ON      NM", "3"), ("ON      N1", "3"), ("ON", "3"), ("PN      N1", "4"), ("PN      N2", "4"))
UNIT = ("UNT     N2", "11")
#: Daily volatility of log prices and their pull back to the mean (half-life of about a year).
SIGMA = 0.018
REVERSION = math.log(2) / 250


@dataclass
class Security:
    ticker: str
    company: str
    type: str
    segment: str
    shares: float  # free-float "shares"; value = shares * price
    log_price: float = 0.0

    @property
    def value(self) -> float:
        return self.shares * math.exp(self.log_price)


@dataclass
class IndexState:
    code: str
    size: int
    members: list[str] = field(default_factory=list)
    qty: dict[str, int] = field(default_factory=dict)
    reductor: Decimal = Decimal("15873402.61937058")
    changes: list[tuple[date, int]] = field(default_factory=list)  # (rebalance day, tickers that entered)


def first_monday(year: int, month: int) -> date:
    d = date(year, month, 1)
    return d + timedelta(days=(7 - d.weekday()) % 7)


def period_start(day: date) -> date:
    """The first Monday of Jan/May/Sep on or before ``day``: the start of its index period."""
    starts = [first_monday(day.year - 1, 9)] + [first_monday(day.year, m) for m in (1, 5, 9)]
    return max(s for s in starts if s <= day)


def trading_days_ending(end: date, n: int) -> list[date]:
    """The last ``n`` B3 trading days up to ``end`` (inclusive)."""
    span = int(n * 7 / 5 * 1.1) + 40
    days = tradingdays.trading_days(end - timedelta(days=span), end)
    while len(days) < n:
        span *= 2
        days = tradingdays.trading_days(end - timedelta(days=span), end)
    return days[-n:]


class Market:
    """Deterministic (seeded) prices and index portfolios, one trading day at a time."""

    def __init__(self, indices: list[str], seed: int = 20250505, *, diverse: bool = False) -> None:
        """``diverse``: every index favours its own companies (a lasting, index-specific tilt of each
        company's score) in a universe six times the largest index, so that, as on B3, the indices
        together hold several hundred distinct tickers a day (34 indices: about 500) rather than
        mostly the same large caps."""
        self.rng = random.Random(seed)
        self.indices = [IndexState(code, INDEX_SIZES.get(code, DEFAULT_SIZE)) for code in indices]
        largest = max(s.size for s in self.indices)
        self.securities = self._universe(6 * largest if diverse else largest + 30)
        self.tilt: dict[str, dict[str, float]] = {
            idx.code: {t: math.exp(self.rng.gauss(0.0, 2.0)) for t in self.securities} if diverse else {}
            for idx in self.indices
        }
        self._period: date | None = None

    def _universe(self, n: int) -> dict[str, Security]:
        out: dict[str, Security] = {}
        # The fixture tickers first, with their fixture weights as free-float values (the heaviest).
        for p in (b3fake.IBOV_2025_04_30, b3fake.IBOV_2025_05_05, b3fake.IBXX_2025_04_30):
            for r in p.rows:
                if r.cod not in out:
                    out[r.cod] = Security(r.cod, r.asset, r.type, r.segment, float(r.part))
        rng = self.rng
        while len(out) < n:
            letters = "SY" + "".join(rng.choice(string.ascii_uppercase) for _ in range(2))
            type_, digit = UNIT if rng.random() < 0.05 else rng.choice(CLASSES)
            ticker = letters + digit
            if ticker in out:
                continue
            value = min(4.0, 0.25 * rng.paretovariate(1.6))  # a long tail of small companies
            out[ticker] = Security(ticker, f"SINTETICA {letters[2:]}", type_, rng.choice(SECTORS), value)
        return out

    def step(self) -> None:
        """One trading day of prices: a mean-reverting random walk of every log price."""
        gauss = self.rng.gauss
        for s in self.securities.values():
            s.log_price += -REVERSION * s.log_price + gauss(0.0, SIGMA)

    def rebalance(self, day: date) -> None:
        """New members (top-K by value, with some noise) and new quantities, for every index."""
        rng = self.rng
        for idx in self.indices:
            tilt = self.tilt[idx.code]
            noise = {t: math.exp(rng.gauss(0.0, 0.02)) for t in self.securities}
            score = {t: s.value * tilt.get(t, 1.0) * noise[t] for t, s in self.securities.items()}
            members = sorted(score, key=lambda t: -score[t])[: idx.size]
            if idx.members:
                idx.changes.append((day, len(set(members) - set(idx.members))))
            idx.members = sorted(members)
            # theoretical quantity ~ free-float shares, revised a little at each rebalance
            idx.qty = {
                t: max(1, round(self.securities[t].shares * 1e8 * (1 + rng.gauss(0.0, 0.03))))
                for t in members
            }
            idx.reductor = (idx.reductor * Decimal(str(1 + rng.gauss(0.0, 0.01)))).quantize(
                Decimal("0.00000001")
            )

    def portfolios(self, day: date) -> list[b3fake.Portfolio]:
        """Every index's portfolio of ``day`` (call once per trading day, in order)."""
        self.step()
        start = period_start(day)
        if start != self._period:
            self._period = start
            self.rebalance(day)
        out = []
        for idx in self.indices:
            values = {t: idx.qty[t] * math.exp(self.securities[t].log_price) for t in idx.members}
            parts = thousandths(values)
            rows = [
                b3fake.Row(
                    cod=t,
                    asset=self.securities[t].company,
                    type=self.securities[t].type,
                    segment=self.securities[t].segment,
                    part=Decimal(parts[t]) / 1000,
                    qty=idx.qty[t],
                )
                for t in idx.members
            ]
            rows.sort(key=lambda r: (r.asset, r.cod))  # B3's segment-1 order: by company
            out.append(
                b3fake.Portfolio(
                    index=idx.code,
                    date=day,
                    reductor=idx.reductor,
                    total_qty=sum(idx.qty.values()),
                    rows=tuple(rows),
                )
            )
        return out


def thousandths(values: dict[str, float]) -> dict[str, int]:
    """Shares of 100.000 % in thousandths that sum to exactly 100000 (largest remainder)."""
    total = sum(values.values())
    exact = {t: v / total * 100_000 for t, v in values.items()}
    out = {t: max(1, math.floor(x)) for t, x in exact.items()}
    missing = 100_000 - sum(out.values())
    by_remainder = sorted(exact, key=lambda t: (out[t] - exact[t], t))
    for t in by_remainder[: max(0, missing)]:
        out[t] += 1
    if missing < 0:  # only possible when tiny weights were raised to 0.001
        for t in sorted(out, key=lambda t: -out[t])[:-missing]:
            out[t] -= 1
    assert sum(out.values()) == 100_000
    return out


def snapshot_bytes(p: b3fake.Portfolio) -> bytes:
    """The day as B3's GetPortfolioDay answer (pt-br, segment 2: rows grouped by sector)."""
    return b3fake.to_json_bytes(b3fake.portfolio_day_json(p, segment=2))


def snapshot_name(p: b3fake.Portfolio) -> str:
    return f"{p.index.lower()}_{p.date.isoformat()}_ptbr_seg2.json"


def parsed(p: b3fake.Portfolio) -> b3.Portfolio:
    """What ``ibov run --from <file>`` turns the file into: parse, then the quality gate."""
    data = snapshot_bytes(p)
    portfolio = b3.parse_snapshot(data, index=p.index, source=f"file:{snapshot_name(p)}")
    collected = datetime.combine(p.date - timedelta(days=1), dtime(22, 0), UTC)
    return quality.validate(portfolio.with_source(portfolio.source, data, collected_at=collected))


def store_chunk(root: Path, folder: Path, indices: list[str]) -> None:
    """What ``ibov scrape --index CODE --from FOLDER`` does for each index's folder, in one process and
    one writer lock, refining each day once: a JSON answer does not name its index, so the CLI would
    need one command per index, and each would refine the day (every index's rows) again."""
    from ibovcli.engines.local import LocalEngine
    from ibovcli.settings import Settings

    writes, steps = chunk_writes(folder, indices)
    engine = LocalEngine(Settings.load(lake_dir=root))
    try:
        with engine.lock():
            engine.process(engine.write_raw(writes), lambda _m: None)
        log_runs(engine, steps)
    finally:
        engine.close()


def chunk_writes(folder: Path, indices: list[str]) -> tuple[list[Any], dict[str, list[dict[str, Any]]]]:
    """The raw writes of a chunk folder (one sub-folder per index), and per day the steps a daily
    ``ibov run -i all`` would log for them."""
    from ibovcli import rawfiles

    writes = []
    steps: dict[str, list[dict[str, Any]]] = {}
    for index in indices:
        for path in sorted((folder / index).iterdir()):
            data = path.read_bytes()
            portfolio = quality.validate(b3.parse_snapshot(data, index=index, source=f"file:{path.name}"))
            write = rawfiles.portfolio(portfolio)
            writes.append(write)
            day = portfolio.session_date.isoformat()
            steps.setdefault(day, []).append(_run_step(portfolio, write, path, indices))
    writes.sort(key=lambda w: w.key)
    return writes, steps


def log_runs(engine: Any, steps: dict[str, list[dict[str, Any]]]) -> None:
    """The run log of a daily ``ibov run -i all`` for each day of ``steps``: what ``status`` reads."""
    for day, day_steps in sorted(steps.items()):
        started = f"{day}T21:00:00+00:00"
        run_id = hashlib.sha256(day.encode()).hexdigest()[:12]
        engine.log_run(RunRecord(started, "run", "running", run_id=run_id, details={"pid": 1}))
        details = {"steps": day_steps, "failures": []}
        engine.log_run(RunRecord(started, "run", "succeeded", 1.0, None, run_id, details))


def _run_step(portfolio: Any, write: Any, path: Path, indices: list[str]) -> dict[str, Any]:
    """One index's step of a run-log entry, in the shape ``ibov run`` logs it (its five top weights)."""
    day = portfolio.session_date.isoformat()
    top = sorted(portfolio.holdings, key=lambda h: -h.part)[:5]
    return {
        "dataset": "portfolio",
        "date": day,
        "format": "json/pt-br",
        "index": portfolio.index,
        "key": write.key,
        "refined": {  # the day's refine, as each step of a run of several indices repeats it
            "dataset": "portfolio",
            "indices": indices,
            "unit": f"dt={day}",
            "rows": len(portfolio.holdings),
            "seconds": 0.5,
        },
        "rows": len(portfolio.holdings),
        "sha256": write.sha256,
        "source": f"file:{path.name}",
        "state": "stored",
        "top": [_top_row(day, h, rank) for rank, h in enumerate(top, 1)],
    }


def _top_row(day: str, h: Any, rank: int) -> dict[str, Any]:
    """One of a step's top weights, as ``ibov run`` logs it."""
    return {
        "session_date": day,
        "ticker": h.cod,
        "company": h.asset,
        "weight_pct": str(h.part),
        "weight_rank": rank,
    }


@dataclass
class BuildReport:
    days: int
    indices: list[str]
    first: date
    last: date
    raw_files: int
    refined_files: int
    catalog_rows: int
    rebalances: int
    entered_per_rebalance: float
    seconds: dict[str, float]

    def as_json(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "indices": self.indices,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "raw_files": self.raw_files,
            "refined_files": self.refined_files,
            "catalog_rows": self.catalog_rows,
            "rebalances": self.rebalances,
            "entered_per_rebalance": round(self.entered_per_rebalance, 2),
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
        }


def build_lake(
    root: Path,
    market: Market,
    days: list[date],
    *,
    notify: Callable[[str], None] = lambda _m: None,
    chunk: int = 250,
) -> BuildReport:
    """Store ``days`` of ``market`` into the (new, empty) lake at ``root`` with ``ibov scrape --from``.

    ``market`` moves on by ``len(days)`` days: keep calling :meth:`Market.portfolios` for the days after.
    """
    import subprocess
    import tempfile

    indices = [i.code for i in market.indices]
    timings = {"render": 0.0, "ibov_scrape": 0.0}
    raw_files = 0
    with tempfile.TemporaryDirectory(prefix="ibov-history-") as tmp:
        for start in range(0, len(days), chunk):
            folder = Path(tmp) / f"chunk-{start:06d}"
            t = time.perf_counter()
            for day in days[start : start + chunk]:
                for p in market.portfolios(day):
                    # a JSON answer does not name its index: one folder (and one command) per index
                    (folder / p.index).mkdir(parents=True, exist_ok=True)
                    (folder / p.index / snapshot_name(p)).write_bytes(snapshot_bytes(p))
                    raw_files += 1
            timings["render"] += time.perf_counter() - t
            t = time.perf_counter()
            if len(indices) == 1:
                command = [sys.executable, "-m", "ibovcli", "scrape", "--index", indices[0]]
                proc = subprocess.run(
                    [*command, "--from", str(folder / indices[0]), "--lake", str(root)],
                    capture_output=True,
                    text=True,
                    check=False,
                    env={**os.environ, "NO_COLOR": "1"},
                )
                if proc.returncode != 0:
                    raise RuntimeError(f"ibov scrape failed ({proc.returncode}): {proc.stderr[-500:]}")
            else:
                store_chunk(root, folder, indices)
            timings["ibov_scrape"] += time.perf_counter() - t
            shutil.rmtree(folder)
            notify(f"stored {min(start + chunk, len(days))}/{len(days)} days")
    refined_files = sum(1 for _ in (root / layout.REFINED_PREFIX).glob("dt=*/ticker=*/*.parquet"))
    import duckdb

    con = duckdb.connect(str(root / "catalog.duckdb"), read_only=True)
    try:
        rows = int(con.execute("SELECT count(*) FROM ibov_refined").fetchall()[0][0])
    finally:
        con.close()
    changes = [c for idx in market.indices for _, c in idx.changes]
    return BuildReport(
        days=len(days),
        indices=indices,
        first=days[0],
        last=days[-1],
        raw_files=raw_files,
        refined_files=refined_files,
        catalog_rows=rows,
        rebalances=len(changes),
        entered_per_rebalance=sum(changes) / len(changes) if changes else 0.0,
        seconds=timings,
    )
