"""Benchmark of ibovcli.cotahist on a synthetic annual COTAHIST file: speed and peak memory.

Builds a realistic annual file (default: 250 sessions x ~11,600 records = 2.9 million records, about
710 MB of text, zipped as B3 does, one member) in a temporary directory, then reads it with
``cotahist.read_quotes(...).days()`` **in a fresh child process** and prints the time, MB/s (of text
and of zip), records/s, kept rows and the child's peak RSS. The market mix per session is
``tests.fake_cotahist.DAILY_MIX`` (the proportions of a real 2024 session: ~11 % kept).

    .venv/bin/python benchmarks/cotahist_parse.py                     # build + read, ~1 min
    .venv/bin/python benchmarks/cotahist_parse.py --size 300000       # a smaller file (records)
    .venv/bin/python benchmarks/cotahist_parse.py --keep /tmp/cot     # keep the built file there
    .venv/bin/python benchmarks/cotahist_parse.py --file /tmp/cot/COTAHIST_A2024.ZIP   # read only
    .venv/bin/python benchmarks/cotahist_parse.py --shuffle           # sessions out of date order

Peak RSS is read in the child twice: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` and ``VmHWM`` from
``/proc/self/status``. They agree when the parent is small; Linux folds the parent's RSS at fork into
the child's ``ru_maxrss`` but not into ``VmHWM`` (see benchmarks/README.md, "Method").
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests import fake_cotahist as fake  # noqa: E402

VARIANTS = 8  # pre-rendered quotes per instrument, rotated over the sessions


def build(
    path: Path, *, records: int, sessions: int, year: int, ending: bytes, shuffle: bool, zip_: bool
) -> int:
    """Write a synthetic annual file to ``path``; the number of 01 records."""
    per_day = records / sessions
    mix = fake.small_mix(per_day / sum(n for n, *_ in fake.DAILY_MIX.values()))
    insts = fake.instruments(mix)
    insts.sort(key=lambda i: (i.bdi, i.short_name, i.ticker))
    rng = random.Random(11)
    template_day = date(year, 1, 2)
    variants = [
        [fake.record(fake.quote_for(inst, template_day, rng))[10:] for _ in range(VARIANTS)] for inst in insts
    ]
    days = fake.sessions(date(year, 1, 2), sessions)
    order = list(range(len(days)))
    if shuffle:
        random.Random(3).shuffle(order)
    count = 0
    generated = days[-1]

    def write(out: object) -> None:
        nonlocal count
        w = out.write  # type: ignore[attr-defined]
        w(fake.header(year, generated) + ending)
        for k in order:
            prefix = b"01" + days[k].strftime("%Y%m%d").encode()
            lines = []
            for j, recs in enumerate(variants):
                rest = recs[(k + j) % VARIANTS]
                # vary trades and quantity per day, so the zip compresses like real data
                lines.append(prefix + rest[:137] + b"%05d" % rng.randrange(100000) + rest[142:] + ending)
            count += len(lines)
            w(b"".join(lines))
        w(fake.trailer(year, generated, count + 2) + ending)

    if zip_:
        with (
            zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf,
            zf.open(f"COTAHIST_A{year}.TXT", "w", force_zip64=True) as member,
        ):
            write(member)
    else:
        with path.open("wb") as fh:
            write(fh)
    return count


def read(path: Path, name: str | None) -> dict[str, object]:
    """Read ``path`` with the library, the way a consumer would (every day's table); the numbers."""
    from ibovcli import cotahist

    t0 = time.perf_counter()
    qf = cotahist.read_quotes(path, name=name)
    first_day_at = None
    rows = days = 0
    for _day, table in qf.days():
        if first_day_at is None:
            first_day_at = time.perf_counter() - t0
        rows += table.num_rows
        days += 1
    elapsed = time.perf_counter() - t0
    s = qf.summary
    hwm = 0
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) // 1024
    return {
        "file": str(path),
        "zip_mb": round(s.size / 1e6, 1),
        "text_mb": round(s.text_size / 1e6, 1),
        "records": s.records,
        "kept": s.kept,
        "rows_yielded": rows,
        "days": days,
        "seconds": round(elapsed, 2),
        "first_day_after_s": round(first_day_at or 0.0, 2),
        "text_mb_per_s": round(s.text_size / 1e6 / elapsed, 1),
        "zip_mb_per_s": round(s.size / 1e6 / elapsed, 1),
        "records_per_s": round(s.records / elapsed),
        "peak_rss_mb_getrusage": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "peak_rss_mb_vmhwm": hwm,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=2_900_000, help="01 records in the built file (2,900,000)")
    p.add_argument("--sessions", type=int, default=250, help="sessions in the built file (250)")
    p.add_argument("--year", type=int, default=2024)
    p.add_argument("--lf", action="store_true", help="LF line endings instead of B3's CRLF")
    p.add_argument("--txt", action="store_true", help="write the text file, not a zip")
    p.add_argument("--shuffle", action="store_true", help="sessions out of date order")
    p.add_argument("--keep", type=Path, help="build into this directory and keep the file")
    p.add_argument("--file", type=Path, help="read this existing file instead of building one")
    p.add_argument("--name", help="COTAHIST name to check the content against (default: the file's)")
    p.add_argument("--repeat", type=int, default=1, help="read it this many times (1)")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.add_argument("--read", type=Path, help=argparse.SUPPRESS)  # the child process
    args = p.parse_args(argv)

    if args.read:
        print(json.dumps(read(args.read, args.name)))
        return 0

    with tempfile.TemporaryDirectory(prefix="cotahist-bench-") as tmp:
        path = args.file
        if path is None:
            folder = args.keep or Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"COTAHIST_A{args.year}.{'TXT' if args.txt else 'ZIP'}"
            t0 = time.perf_counter()
            n = build(
                path,
                records=args.size,
                sessions=args.sessions,
                year=args.year,
                ending=b"\n" if args.lf else b"\r\n",
                shuffle=args.shuffle,
                zip_=not args.txt,
            )
            if not args.json:
                print(
                    f"built {path.name}: {n:,} records, {path.stat().st_size / 1e6:.1f} MB "
                    f"in {time.perf_counter() - t0:.1f} s",
                    file=sys.stderr,
                )
        results = []
        for _ in range(args.repeat):
            cmd = [sys.executable, __file__, "--read", str(path)]
            if args.name:
                cmd += ["--name", args.name]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
            results.append(json.loads(out.stdout))
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for r in results:
        print(
            f"{Path(str(r['file'])).name}: {r['records']:,} records ({r['text_mb']} MB text, "
            f"{r['zip_mb']} MB input) in {r['seconds']} s = {r['text_mb_per_s']} MB/s text, "
            f"{r['zip_mb_per_s']} MB/s input, "
            f"{r['records_per_s']:,} records/s; kept {r['kept']:,} rows in {r['days']} days "
            f"(first day after {r['first_day_after_s']} s); peak RSS {r['peak_rss_mb_getrusage']} MB "
            f"(getrusage), {r['peak_rss_mb_vmhwm']} MB (VmHWM)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
