"""Benchmark of the quotes queries on a long synthetic lake: ``contribution`` and ``reconcile`` times.

Builds (or reuses) a lake of ``--sessions`` B3 sessions (default 2,500: ten years) of a made-up market
with ``tests.quotes_lake.synthetic``: each session's IBOV portfolio (80 constituents, B3-style weights),
its official level and its COTAHIST quotes (120 instruments), all stored through the project's own
paths (daily COTAHIST zips read by ibovcli.cotahist, raw writes, refine per unit). Then runs, each
``--repeat`` times as a whole process (what a user waits for), the median wall time of:

    ibov query contribution --date <last day>
    ibov query reconcile --date <last day>
    ibov query reconcile                         # every stored day
    ibov verify                                  # counts + reconciliation of every day

    .venv/bin/python benchmarks/quotes_queries.py --lake /tmp/ibov-quotes-10y
    .venv/bin/python benchmarks/quotes_queries.py --lake /tmp/ibov-quotes-10y --reuse --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def timed(args: list[str], lake: Path, repeat: int) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IBOV_")}
    env["IBOV_LAKE_DIR"] = str(lake)
    times, code, rows = [], 0, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "ibovcli", *args, "--json"],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
        )
        times.append(time.perf_counter() - t0)
        code = proc.returncode
        if proc.stdout.strip().startswith("["):
            rows = len(json.loads(proc.stdout))
    return {
        "command": "ibov " + " ".join(args),
        "median_s": round(statistics.median(times), 3),
        "exit": code,
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lake", type=Path, help="where to build (or find, with --reuse) the lake")
    p.add_argument("--sessions", type=int, default=2500)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--reuse", action="store_true", help="time the queries on an existing lake")
    a = p.parse_args(argv)
    lake = a.lake or Path(tempfile.mkdtemp(prefix="ibov-quotes-bench-")) / "lake"
    build_s = None
    if not a.reuse:
        from tests import quotes_lake

        files = lake.parent / "cotahist-files"
        files.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        days = quotes_lake.synthetic(lake, files, sessions=a.sessions)
        build_s = round(time.perf_counter() - t0, 1)
        print(f"built {len(days)} sessions ({days[0]} .. {days[-1]}) in {build_s} s", file=sys.stderr)
    last = "2024-11-08"
    results = [
        timed(["query", "contribution", "--date", last], lake, a.repeat),
        timed(["query", "reconcile", "--date", last], lake, a.repeat),
        timed(["query", "reconcile"], lake, a.repeat),
        timed(["verify"], lake, 1),
    ]
    print(
        json.dumps(
            {"lake": str(lake), "sessions": a.sessions, "build_s": build_s, "results": results}, indent=2
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
