"""Soak: N writers and M readers against one local lake for T seconds, then ``ibov verify``.

Every writer is a loop of real ``ibov scrape --from FILE`` processes, each storing a *different* trading day
(B3's Download CSV of a synthetic IBOV portfolio, made by ``tests/b3fake.py``); every reader is a loop of real
``ibov query top-weights`` and ``ibov status`` processes. Exit codes are counted per kind: 0 is a success,
8 (no data yet) counts as a success for a reader, 7 is a lock timeout (reported apart: the lake was busy for
longer than ``IBOV_LOCK_TIMEOUT``, which is the documented behaviour), anything else is an error. At the end,
``ibov verify`` must find raw rows = refined rows = catalog rows for every stored day, every day a writer
reported as stored must be in the lake, and ``ibov status`` must show from its saved summary what it shows
when it reads the catalog.

    .venv/bin/python benchmarks/soak.py                          # 3 writers, 3 readers, 60 s
    .venv/bin/python benchmarks/soak.py --writers 4 --readers 6 --seconds 120 --json

It exits 1 when an error happened or the lake is inconsistent. Numbers are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ibovcli import tradingdays  # noqa: E402
from tests import b3fake  # noqa: E402

IBOV = [sys.executable, "-m", "ibovcli"]


@dataclasses.dataclass
class Tally:
    kind: str
    codes: Counter[int] = dataclasses.field(default_factory=Counter)
    seconds: list[float] = dataclasses.field(default_factory=list)
    failures: list[str] = dataclasses.field(default_factory=list)
    stored: list[str] = dataclasses.field(default_factory=list)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def add(self, code: int, took: float, stderr: str, ok: tuple[int, ...], day: str | None = None) -> None:
        with self.lock:
            self.codes[code] += 1
            self.seconds.append(took)
            if code not in ok and code != 7:
                self.failures.append(f"{self.kind} exit {code}: {stderr.strip().splitlines()[-1:]}")
            if day is not None and code == 0:
                self.stored.append(day)

    @property
    def done(self) -> int:
        return sum(self.codes.values())


def call(args: list[str], env: dict[str, str]) -> tuple[int, float, str]:
    started = time.monotonic()
    r = subprocess.run([*IBOV, *args], capture_output=True, text=True, env=env, check=False, timeout=600)
    return r.returncode, time.monotonic() - started, r.stderr


def make_days(folder: Path, count: int) -> list[tuple[str, Path]]:
    """``count`` trading days back from the fixture's, each as a Download CSV of its own."""
    base = b3fake.IBOV_2025_04_30
    days = tradingdays.trading_days(base.date - timedelta(days=count * 2 + 30), base.date)[-count:]
    out = []
    for d in days:
        path = folder / f"IBOVDia_{d:%d-%m-%y}.csv"
        path.write_bytes(b3fake.download_csv(dataclasses.replace(base, date=d)))
        out.append((d.isoformat(), path))
    return out


def soak(writers: int, readers: int, seconds: float, lake: Path, lock_timeout: float) -> dict[str, Any]:
    env = {**os.environ, "IBOV_LOCK_TIMEOUT": str(lock_timeout), "NO_COLOR": "1"}
    files = Path(tempfile.mkdtemp(prefix="ibov-soak-files-"))
    # enough distinct days that no writer runs out: ~1 scrape per second per writer, at most
    per_writer = int(seconds * 2) + 10
    days = make_days(files, per_writer * writers)
    queues = [days[i::writers] for i in range(writers)]
    write, read = Tally("write"), Tally("read")
    # the lake exists before readers start (a query on a lake that does not exist is exit 3, by design)
    first_day, first_path = queues[0].pop(0)
    code, took, err = call(["scrape", "--from", str(first_path), "--lake", str(lake)], env)
    write.add(code, took, err, (0,), first_day)
    started = time.monotonic()
    deadline = started + seconds

    def writer(mine: list[tuple[str, Path]]) -> None:
        for day, path in mine:
            if time.monotonic() >= deadline:
                return
            code, took, err = call(["scrape", "--from", str(path), "--lake", str(lake)], env)
            write.add(code, took, err, (0,), day)

    def reader(n: int) -> None:
        i = n
        while time.monotonic() < deadline:
            args = ["status", "--json"] if i % 2 else ["query", "top-weights", "--limit", "5", "--json"]
            code, took, err = call([*args, "--lake", str(lake)], env)
            read.add(code, took, err, (0, 8))
            i += 1

    threads = [threading.Thread(target=writer, args=(q,)) for q in queues]
    threads += [threading.Thread(target=reader, args=(n,)) for n in range(readers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    verify = subprocess.run(
        [*IBOV, "verify", "--json", "--lake", str(lake)], capture_output=True, text=True, env=env, check=False
    )
    code, err = verify.returncode, verify.stderr
    verified = json.loads(verify.stdout or "{}")
    refined_days = {
        c["unit"].split("=", 1)[1]
        for c in verified.get("checks", [])
        if c["dataset"] == "portfolio" and c["ok"] and c["refined_rows"] > 0
    }
    missing = sorted(set(write.stored) - refined_days)
    # the status summary left by the last writer (or reader) must be what the catalog says
    shown = _status(lake, env)
    (lake / ".status.json").unlink(missing_ok=True)
    summary_current = shown == _status(lake, env)
    return {
        "writers": writers,
        "readers": readers,
        "seconds": round(elapsed, 1),
        "lock_timeout_s": lock_timeout,
        "writes": write.done,
        "writes_ok": write.codes[0],
        "writes_per_s": round(write.done / elapsed, 2),
        "write_median_s": round(sorted(write.seconds)[len(write.seconds) // 2], 3) if write.seconds else None,
        "reads": read.done,
        "reads_per_s": round(read.done / elapsed, 2),
        "read_median_s": round(sorted(read.seconds)[len(read.seconds) // 2], 3) if read.seconds else None,
        "lock_timeouts": write.codes[7] + read.codes[7],
        "errors": write.failures + read.failures,
        "verify_exit": code,
        "verify_units": len(verified.get("checks", [])),
        "verify_problems": len(verified.get("problems", [])),
        "days_reported_stored": len(write.stored),
        "days_missing": missing,
        "status_summary_current": summary_current,
        "consistent": code == 0 and not missing and summary_current,
        "verify_stderr": err.strip().splitlines()[-1:] if code else [],
    }


def _status(lake: Path, env: dict[str, str]) -> Any:
    """What ``ibov status --json`` shows of the lake's content (its coverage and pending units)."""
    proc = subprocess.run(
        [*IBOV, "status", "--json", "--lake", str(lake)], capture_output=True, text=True, env=env, check=False
    )
    shown = json.loads(proc.stdout or "{}")
    return shown.get("coverage"), shown.get("pending")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--writers", type=int, default=3)
    ap.add_argument("--readers", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--lock-timeout", type=float, default=60.0, help="IBOV_LOCK_TIMEOUT for every process")
    ap.add_argument("--lake", type=Path, help="lake folder (default: a new temporary one)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    lake = args.lake or Path(tempfile.mkdtemp(prefix="ibov-soak-")) / "lake"
    result = soak(args.writers, args.readers, args.seconds, lake, args.lock_timeout)
    result["lake"] = str(lake)
    result["date"] = date.today().isoformat()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k:22} {v}")
    return 0 if result["consistent"] and not result["errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
