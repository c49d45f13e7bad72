"""Bulk import: N saved days in one ``ibov scrape --from DIR`` against N separate ``ibov scrape --from FILE``.

The days are B3 Download CSVs of a synthetic IBOV portfolio (``tests/b3fake.py``, 86 constituents like
the real index), one per B3 trading day ending on the fixture's last day. Both runs start from an empty
lake; each prints wall time, CPU time of the child processes and days per second. The target
(docs/performance.md): one command loads at least 20 days per second on 2 cores.

    .venv/bin/python benchmarks/bulk_import.py                 # 250 days, both ways (~3 minutes)
    .venv/bin/python benchmarks/bulk_import.py --days 60 --json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ibovcli import tradingdays  # noqa: E402
from tests import b3fake  # noqa: E402

IBOV = [sys.executable, "-m", "ibovcli"]


def portfolio(size: int = 86) -> b3fake.Portfolio:
    """An 86-constituent IBOV-like portfolio: the fixture's rows plus made-up ones, weights summing to 100."""
    base = b3fake.IBOV_2025_04_30
    rows = list(base.rows)
    for i in range(size - len(rows)):
        rows.append(b3fake.Row(f"SY{i:02d}3", f"SYNTH {i:02d}", "ON      NM", "", Decimal(0), 1_000_000 + i))
    share = (Decimal(100) / len(rows)).quantize(Decimal("0.001"))
    parts = [share] * len(rows)
    parts[-1] += Decimal(100) - sum(parts)
    made = tuple(dataclasses.replace(r, part=p) for r, p in zip(rows, parts, strict=True))
    return dataclasses.replace(base, rows=made, total_qty=sum(r.qty for r in made))


def make_days(folder: Path, count: int) -> list[Path]:
    base = portfolio()
    days = tradingdays.trading_days(base.date - timedelta(days=count * 2 + 30), base.date)[-count:]
    out = []
    for d in days:
        path = folder / f"IBOVDia_{d:%d-%m-%y}.csv"
        path.write_bytes(b3fake.download_csv(dataclasses.replace(base, date=d)))
        out.append(path)
    return out


def timed(commands: list[list[str]]) -> tuple[float, float, list[int]]:
    """Wall seconds, children's CPU seconds, exit codes."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    codes = [
        subprocess.run(c, capture_output=True, check=False, env={**os.environ, "NO_COLOR": "1"}).returncode
        for c in commands
    ]
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, codes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=250)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="ibov-bulk-"))
    folder = work / "saved"
    folder.mkdir()
    files = make_days(folder, args.days)
    one_wall, one_cpu, one_codes = timed(
        [[*IBOV, "scrape", "--from", str(folder), "--lake", str(work / "one")]]
    )
    many_wall, many_cpu, many_codes = timed(
        [[*IBOV, "scrape", "--from", str(f), "--lake", str(work / "many")] for f in files]
    )
    result = {
        "days": args.days,
        "one_command_s": round(one_wall, 2),
        "one_command_cpu_s": round(one_cpu, 2),
        "one_command_days_per_s": round(args.days / one_wall, 1),
        "separate_commands_s": round(many_wall, 2),
        "separate_commands_cpu_s": round(many_cpu, 2),
        "separate_days_per_s": round(args.days / many_wall, 1),
        "speed_up": round(many_wall / one_wall, 1),
        "exit_codes_ok": one_codes == [0] and set(many_codes) == {0},
        "target_days_per_s": 20,
        "load_average": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k:26} {v}")
    return 0 if result["exit_codes_ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
