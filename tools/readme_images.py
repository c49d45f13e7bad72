"""Draw the README's images from real B3 files (recorded by third parties), through the real CLI.

python tools/readme_images.py [--fixtures ../shared/fixtures/b3] [--out docs/img]

The files are the ones listed in the fixtures' SOURCES.md: B3's Download CSVs and GetPortfolioDay
answers of IBOV (2022-2026) and the official IBOV levels of 2022. They are read where they are, never
copied into this repository; only the images are kept. Without the files, nothing is drawn (exit 1).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FIXTURES = ROOT.parent / "shared" / "fixtures" / "b3"


def ibov(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "ibovcli", *args], check=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = ap.parse_args(argv)
    portfolios = sorted(args.fixtures.glob("IBOVDia_*.csv")) + sorted(
        args.fixtures.glob("IBOV_GetPortfolioDay_*_segment2_*.json")
    )
    levels = (
        args.fixtures
        / "history"
        / "levels"
        / "IBOV_2022_ptbr_indexStatistics_GetPortfolioDay_rec2022-12-08.json"
    )
    if not portfolios or not levels.is_file():
        print(f"no real B3 files under {args.fixtures}: nothing drawn", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        lake = str(Path(tmp) / "lake")
        ibov(
            "scrape", *[a for p in portfolios for a in ("--from", str(p))], "--index", "IBOV", "--lake", lake
        )
        ibov("scrape", "levels", "--from", str(levels), "--index", "IBOV", "--year", "2022", "--lake", lake)
        out = args.out
        ibov("chart", "levels", "--index", "IBOV", "--out", str(out / "levels.png"), "--lake", lake)
        ibov(
            "chart",
            "weight-history",
            "--ticker",
            "PETR4",
            "--out",
            str(out / "weight-history.png"),
            "--lake",
            lake,
        )
        ibov("chart", "concentration", "--out", str(out / "concentration.png"), "--lake", lake)
        # the latest real day with B3's sectors (segment-2 answer)
        ibov("chart", "sectors", "--date", "2025-04-07", "--out", str(out / "sectors.png"), "--lake", lake)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
