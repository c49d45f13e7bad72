"""The compact serving table (``ibov_compact``): what it holds next to the required layout, and what
keeping it costs.

Builds a lake of N synthetic IBOV days through the real CLI (``ibov scrape --from FOLDER``; the 86
constituents of ``benchmarks/bulk_import.py``, each day's weights and quantities moved at random, so the
files do not compress an unchanging portfolio), then reports:

* objects and bytes of ``refined/dt=/ticker=/`` and of ``compact/month=/index_code=/``, and bytes a row;
* the time to rebuild every compact month in one batch (what a bulk import pays once per batch);
* the time to rebuild one month at 34 indices: the catalog's rows copied under 34 index codes (a
  month of ~56,000 rows, 34 files), what ``ibov run -i all`` pays for a new day.

The extrapolation to ten years of 34 indices and the Athena prices are in docs/performance.md.

    .venv/bin/python benchmarks/compact_table.py               # 250 days (~1 minute)
    .venv/bin/python benchmarks/compact_table.py --days 60 --json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
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

from benchmarks.bulk_import import portfolio  # noqa: E402
from ibovcli import datasets, tradingdays  # noqa: E402
from ibovcli.engines.local import LocalLake  # noqa: E402
from tests import b3fake  # noqa: E402


def make_days(folder: Path, count: int, seed: int = 7) -> None:
    rnd = random.Random(seed)  # nosec B311 - synthetic test data, not security
    base = portfolio()
    for d in tradingdays.trading_days(base.date - timedelta(days=count * 2 + 30), base.date)[-count:]:
        raw = [Decimal(rnd.uniform(0.2, 3.0)).quantize(Decimal("0.001")) for _ in base.rows]
        scale = Decimal(100) / sum(raw)
        parts = [(p * scale).quantize(Decimal("0.001")) for p in raw]
        parts[-1] += Decimal(100) - sum(parts)
        rows = tuple(
            dataclasses.replace(r, part=p, qty=r.qty + rnd.randint(0, 5000))
            for r, p in zip(base.rows, parts, strict=True)
        )
        day = dataclasses.replace(base, date=d, rows=rows, total_qty=sum(r.qty for r in rows))
        (folder / f"IBOVDia_{d:%d-%m-%y}.csv").write_bytes(b3fake.download_csv(day))


def zone(lake: Path, prefix: str) -> tuple[int, int]:
    files = list((lake / prefix).rglob("*.parquet"))
    return len(files), sum(f.stat().st_size for f in files)


def timed(step: object, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        step()  # type: ignore[operator]
        out.append(round(time.perf_counter() - started, 3))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=250)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="ibov-compact-"))
    try:
        folder, lake = work / "saved", work / "lake"
        folder.mkdir()
        make_days(folder, args.days)
        started = time.perf_counter()
        subprocess.run(  # nosec B603 - this interpreter, this package
            [sys.executable, "-m", "ibovcli", "scrape", "--from", str(folder), "--lake", str(lake)],
            cwd=ROOT,
            check=True,
            capture_output=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
        import_s = time.perf_counter() - started
        refined_n, refined_b = zone(lake, datasets.PORTFOLIO.refined_prefix)
        compact_n, compact_b = zone(lake, datasets.COMPACT.prefix)
        store = LocalLake(lake)
        with store.lock():
            con = store.connection(write=True)
            rows = int(con.execute("SELECT count(*) FROM ibov_refined").fetchall()[0][0])
            months = sorted(m for (m,) in con.execute("SELECT month FROM ibov_compact_months").fetchall())
            all_months = timed(lambda: store.rebuild_compact(months), args.repeat)
            # 34 indices: the same rows under 34 index codes (the catalog only; timing, not data)
            con.execute("CREATE TEMP TABLE one AS SELECT * FROM ibov_refined")
            con.execute("DELETE FROM ibov_refined")
            con.execute(
                "INSERT INTO ibov_refined SELECT one.* REPLACE "
                "('IX' || lpad(CAST(r.i AS VARCHAR), 2, '0') AS index_code) FROM one, range(34) AS r(i)"
            )
            month = months[-2] if len(months) > 1 else months[-1]  # a whole month
            month_rows = int(
                con.execute(
                    f"SELECT count(*) FROM ibov_refined WHERE {datasets.COMPACT.MONTH_SQL} = ?", [month]
                ).fetchall()[0][0]
            )
            one_month = timed(lambda: store.rebuild_compact([month]), args.repeat)
            files_34, bytes_34 = zone(lake, datasets.COMPACT.month_prefix(month))
        store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "days": args.days,
        "rows": rows,
        "import_s": round(import_s, 2),
        "refined_objects": refined_n,
        "refined_bytes": refined_b,
        "compact_objects": compact_n,
        "compact_bytes": compact_b,
        "compact_bytes_per_row": round(compact_b / rows, 1),
        "rebuild_all_months_s": all_months,
        "months": len(months),
        "month_at_34_indices_rows": month_rows,
        "month_at_34_indices_files": files_34,
        "month_at_34_indices_bytes": bytes_34,
        "rebuild_month_at_34_indices_s": one_month,
        "load_average": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k:30} {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
