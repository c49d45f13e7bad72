"""Start-up of every ibov subcommand: the median wall and CPU time of ``ibov <command> --help``.

Help is what every command does before its work starts (Typer builds the command, options are parsed),
so it measures the fixed cost of each subcommand. Also shown: ``python -c pass`` (the floor) and what
``import ibovcli.cli`` loads. The target (docs/performance.md): every subcommand < 0.12 s
on 2 cores.

    .venv/bin/python benchmarks/startup.py            # 11 runs each, after one warm-up
    .venv/bin/python benchmarks/startup.py --runs 21 --json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IBOV = str(Path(sys.executable).with_name("ibov"))
#: PYTHONDONTWRITEBYTECODE (set to anything) would make every run compile the modules changed since
#: the last install: measured here is a command as an installed ibov runs it
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "NO_COLOR": "1"}
HEAVY = ("boto3", "botocore", "duckdb", "pandas", "pyarrow", "matplotlib")


def subcommands() -> list[list[str]]:
    import typer.main

    sys.path.insert(0, str(ROOT))
    from ibovcli.cli import app

    group = typer.main.get_command(app)
    out: list[list[str]] = [[]]
    for name in group.commands:  # type: ignore[attr-defined]
        out.append([name])
        sub = group.commands[name]  # type: ignore[attr-defined]
        if hasattr(sub, "list_commands"):
            out += [[name, s] for s in sub.list_commands(None)][:3]
    return out


def measure(argv: list[str], runs: int) -> tuple[float, float]:
    subprocess.run(argv, capture_output=True, check=False, env=ENV)  # warm-up (and .pyc files written)
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=False, env=ENV)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(walls), statistics.median(cpus)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    floor = measure([sys.executable, "-c", "pass"], args.runs)
    rows.append({"command": "python -c pass", "wall_s": round(floor[0], 3), "cpu_s": round(floor[1], 3)})
    for cmd in subcommands():
        wall, cpu = measure([IBOV, *cmd, "--help"], args.runs)
        rows.append(
            {"command": " ".join(["ibov", *cmd, "--help"]), "wall_s": round(wall, 3), "cpu_s": round(cpu, 3)}
        )
    probe = f"import sys, ibovcli.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    heavy = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    ).stdout.strip()
    worst = max(r["wall_s"] for r in rows[1:])
    result = {
        "rows": rows,
        "worst_s": worst,
        "target_s": 0.12,
        "heavy_modules_at_import": heavy or "none",
        "load_average": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for r in rows:
            print(f"{r['wall_s']:6.3f} s  cpu {r['cpu_s']:6.3f} s  {r['command']}")
        print(f"worst {worst:.3f} s (target {result['target_s']} s)")
        print(f"heavy modules at import: {result['heavy_modules_at_import']}")
        print(f"load average at the end: {result['load_average']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
