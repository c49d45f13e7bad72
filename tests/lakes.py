"""Helpers to build and read local lakes in tests (through the real engine, never by hand)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from ibovcli import rawfiles
from ibovcli.b3 import Portfolio
from ibovcli.engines.base import RefineResult
from ibovcli.engines.local import LocalEngine
from ibovcli.settings import Settings


def engine(lake: Path, **settings: Any) -> LocalEngine:
    return LocalEngine(Settings.load(lake_dir=lake, **settings))


def store(lake: Path, *portfolios: Portfolio) -> list[RefineResult]:
    """Store validated-or-not portfolios as `ibov scrape` would, and refine what they touch."""
    eng = engine(lake)
    try:
        with eng.lock():
            keys = eng.write_raw([rawfiles.portfolio(p) for p in portfolios])
            return eng.process(keys, lambda _m: None)
    finally:
        eng.close()


@contextmanager
def catalog(lake: Path) -> Iterator[Any]:
    """A read-only connection to the lake's catalog."""
    con = duckdb.connect(str(lake / "catalog.duckdb"), read_only=True)
    try:
        yield con
    finally:
        con.close()


def rows(lake: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with catalog(lake) as con:
        return con.execute(sql, params or []).fetchall()


def refined_files(lake: Path, prefix: str = "refined") -> list[Path]:
    return sorted(p.relative_to(lake) for p in (lake / prefix).rglob("*.parquet"))


def refined_rows(lake: Path, prefix: str = "refined") -> list[tuple[Any, ...]]:
    """Every row of the refined parquet files (partitions from the paths), ordered."""
    files = sorted((lake / prefix).rglob("*.parquet"))
    if not files:
        return []
    paths = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
    con = duckdb.connect()
    try:
        return con.execute(
            f"SELECT * FROM read_parquet({paths}, hive_partitioning = true) ORDER BY ALL"  # nosec B608
        ).fetchall()
    finally:
        con.close()


def lake_bytes(lake: Path) -> dict[str, str]:
    """Every file of the lake and its hash; aside: the run log, the lock file, the writers' token and the
    status summary (a write that fails still took a token, and a summary always matches its catalog:
    ``tests/test_status_summary.py``)."""
    from ibovcli.engines.local import GENERATION_FILE, LOCK_FILE, SUMMARY_FILE

    out = {}
    for p in sorted(lake.rglob("*")):
        rel = p.relative_to(lake).as_posix()
        if (
            p.is_file()
            and not rel.startswith("logs/")
            and rel not in (LOCK_FILE, GENERATION_FILE, SUMMARY_FILE)
        ):
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        elif p.is_dir() and not any(p.iterdir()):
            out[rel + "/"] = "empty folder"
    return out
