"""Reruns, concurrent writers and crashes leave the lake consistent; secrets never reach output."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from ibovcli.pipeline import run
from ibovcli.settings import Settings
from tests.conftest import ROOT, run_ibov
from tests.lakes import rows

pytestmark = pytest.mark.slow

FIX = Path(__file__).parent / "fixtures" / "b3"


def visible_parquet(lake: Path) -> list[Path]:
    """Files a reader globbing *.parquet would see."""
    return [
        p
        for p in lake.rglob("*.parquet")
        if not any(part.startswith(".") for part in p.relative_to(lake).parts)
    ]


def assert_consistent(lake: Path) -> None:
    for f in visible_parquet(lake):
        pq.read_metadata(f)  # raises on a partial file
    cat = lake / "catalog.duckdb"
    if not cat.exists():
        return
    con = duckdb.connect(str(cat), read_only=True)
    per_day = dict(con.execute("SELECT dt, count(*) FROM ibov_refined GROUP BY dt").fetchall())
    con.close()
    for dt, n in per_day.items():
        files = list((lake / "refined" / f"dt={dt}").glob("ticker=*/*.parquet"))
        rows = sum(pq.read_metadata(f).num_rows for f in files)
        assert rows == n, f"catalog has {n} rows for {dt}, parquet has {rows}"


def raw_rows(lake: Path, key: str) -> list[dict[str, object]]:
    table = pq.read_table(lake / key).to_pylist()
    for row in table:
        row.pop("collected_at")
    return table


def test_same_input_twice_gives_same_raw_rows(lake: Path) -> None:
    s = Settings.load(lake_dir=lake)
    run(s, from_paths=[str(FIX / "IBOVDia_30-04-25_crlf.csv")])
    first = raw_rows(lake, "raw/dt=2025-04-30/IBOV.parquet")
    (lake / "raw/dt=2025-04-30/IBOV.parquet").unlink()  # stored again for real, not skipped as unchanged
    run(s, from_paths=[str(FIX / "IBOVDia_30-04-25_crlf.csv")])
    assert raw_rows(lake, "raw/dt=2025-04-30/IBOV.parquet") == first


def test_two_concurrent_runs_do_not_corrupt_the_lake(lake: Path) -> None:
    env = dict(os.environ, IBOV_LAKE_DIR=str(lake))
    files = ["ibov_2025-04-30_ptbr_seg2.json", "IBXXDia_30-04-25.csv", "ibov_2025-05-05_ptbr_seg2.json"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "ibovcli", "run", "--from", str(FIX / f)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for f in files * 2
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    assert_consistent(lake)
    counts = rows(lake, "SELECT dt, index_code, count(*) FROM ibov_refined GROUP BY ALL ORDER BY ALL")
    assert counts == [("2025-04-30", "IBOV", 14), ("2025-04-30", "IBXX", 8), ("2025-05-05", "IBOV", 14)]


def test_a_killed_writer_leaves_no_partial_file(lake: Path) -> None:
    env = dict(os.environ, IBOV_LAKE_DIR=str(lake))
    cmd = [sys.executable, "-m", "ibovcli", "run", "--from", str(FIX / "ibov_2025-04-30_ptbr_seg2.json")]
    # how long a whole run takes here, to spread the kills over it
    t0 = time.monotonic()
    subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, check=True, timeout=120)
    duration = time.monotonic() - t0
    rng = random.Random(7)
    killed = 0
    for _ in range(12):
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.0) * duration)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=60)
        assert_consistent(lake)
        day = lake / "refined" / "dt=2025-04-30"
        assert day.is_dir() and len(list(day.glob("ticker=*/*.parquet"))) == 14
    assert killed > 0
    # the next run sweeps what the killed ones left and succeeds
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert res.returncode == 0, res.stderr
    leftovers = [
        p
        for p in lake.rglob("*")
        if p.name.startswith((".staging-", ".old-", "txn-")) or p.name.endswith(".tmp")
    ]
    assert leftovers == []
    assert_consistent(lake)


def test_secrets_never_reach_output_or_logs(lake: Path) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
    token = "FwoGZXIvYXdzSESSIONTOKENSECRET"
    env = {"AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": token, "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"}
    results = [
        run_ibov(
            "run",
            "--from",
            str(FIX / "ibov_2025-04-30_ptbr_seg2.json"),
            "--lake",
            str(lake),
            "--debug",
            env=env,
        ),
        run_ibov("run", "--from", str(lake / "missing.json"), "--lake", str(lake), "--debug", env=env),
        run_ibov(
            "status",
            "--engine",
            "aws",
            "--bucket",
            "b",
            "--debug",
            "--json",
            env={**env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"},
            timeout=120,
        ),
    ]
    for res in results:
        assert secret not in res.stdout + res.stderr
        assert token not in res.stdout + res.stderr
    for f in lake.rglob("*"):
        if f.is_file() and f.suffix in (".jsonl", ".json", ".log"):
            text = f.read_text(errors="replace")
            assert secret not in text and token not in text
