"""Bulk import through the CLI: folders and quoted globs, date order, byte-identical files reported as
unchanged, a failing file that stops nothing else, a one-line summary and an exit code that says it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

from tests import b3fake
from tests.conftest import run_ibov

DAYS = [dt.date(2025, 4, 28), dt.date(2025, 4, 29), dt.date(2025, 4, 30)]


def saved(folder: Path) -> list[Path]:
    """Three Download CSVs, named so that the folder's order is not the date order, and one broken file."""
    folder.mkdir()
    out = []
    for n, day in zip((3, 1, 2), DAYS, strict=True):
        path = folder / f"{n}-IBOVDia_{day:%d-%m-%y}.csv"
        path.write_bytes(b3fake.download_csv(dataclasses.replace(b3fake.IBOV_2025_04_30, date=day)))
        out.append(path)
    (folder / "0-broken.csv").write_bytes(b"IBOV - Carteira do Dia 02/05/25\nnot;a;portfolio\n")
    return out


def test_a_folder_is_stored_in_date_order_past_a_failing_file(lake: Path, tmp_path: Path) -> None:
    saved(tmp_path / "saved")
    r = run_ibov("scrape", "--from", str(tmp_path / "saved"), "--lake", str(lake))
    assert r.code == 5, r.stderr  # a file failed: the exit code says so
    assert "stored 3, unchanged 0, failed 1" in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "0-broken.csv" in errors[0]
    stored = [line.split()[2].rstrip(":") for line in r.stderr.splitlines() if line.startswith("stored IBOV")]
    assert stored == [d.isoformat() for d in DAYS]  # date order, not the files' order
    status = json.loads(run_ibov("status", "--json", "--lake", str(lake)).stdout)
    [ibov] = [c for c in status["coverage"] if c["dataset"] == "portfolio"]
    assert (ibov["first"], ibov["last"], ibov["stored"], ibov["refined"]) == (
        "2025-04-28",
        "2025-04-30",
        3,
        3,
    )


def test_a_quoted_glob_and_byte_identical_files_are_unchanged(lake: Path, tmp_path: Path) -> None:
    files = saved(tmp_path / "saved")
    assert run_ibov("scrape", "--from", str(files[0]), "--lake", str(lake)).code == 0
    r = run_ibov("scrape", "--from", str(tmp_path / "saved" / "*-IBOVDia_*.csv"), "--lake", str(lake))
    assert r.code == 0, r.stderr
    assert "stored 2, unchanged 1, failed 0" in r.stderr
    assert "unchanged: IBOV 2025-04-28 is already stored" in r.stderr
    r = run_ibov("scrape", "--from", str(tmp_path / "saved" / "*.txt"), "--lake", str(lake))
    assert r.code == 2 and "matches no file" in r.stderr, r.stderr
