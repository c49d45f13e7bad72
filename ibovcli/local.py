"""The local engine: a lake directory on disk, DuckDB as the SQL engine, the trigger called in-process.

Layout under the lake directory (see :mod:`ibovcli.layout`)::

    raw/dt=YYYY-MM-DD/<INDEX>.parquet
    snapshots/dt=YYYY-MM-DD/<INDEX>.<ext>
    refined/dt=YYYY-MM-DD/ticker=<TICKER>/part-0.parquet
    catalog.duckdb          the local catalog: table ibov_refined, same rows as refined/
    logs/runs.jsonl         the run log
    .lock                   held while a command writes
    .writing/               files being written (renamed into place when whole)

Writes are atomic: files are written under a temporary name and renamed into place; a refined day is
built in a staging folder and swapped in. Readers never see half a file or half a day.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ibovcli import layout, schema
from ibovcli.b3 import Portfolio
from ibovcli.errors import JobFailed, LakeBusy, QueryError

CATALOG_FILE = "catalog.duckdb"
RUN_LOG = "logs/runs.jsonl"
LOCK_FILE = ".lock"
#: Where raw and snapshot files are written before their rename into place: one folder, so that
#: :meth:`LocalLake.sweep` never has to list every day of the lake (it runs on each lock).
WRITING_DIR = ".writing"

#: DuckDB has no unix_date(); Spark has it built in. This is the only dialect shim refine.sql needs.
DUCKDB_SHIMS = ("CREATE OR REPLACE MACRO unix_date(d) AS (CAST(d AS DATE) - DATE '1970-01-01')",)


@dataclass(frozen=True)
class RefineResult:
    day: date
    rows: int
    indices: tuple[str, ...]
    tickers: int
    seconds: float


def duckdb_type(hive_type: str) -> str:
    t = hive_type.lower()
    if t == "string":
        return "VARCHAR"
    if t == "timestamp":
        return "TIMESTAMPTZ"
    if t == "int":
        return "INTEGER"
    return t.upper()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _sql_str(value: object) -> str:
    """A SQL string literal (for file paths in DuckDB statements that take no parameters)."""
    return "'" + str(value).replace("'", "''") + "'"


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return bool(rc == 0)


def atomic_write(path: Path, data: bytes, tmp_dir: Path | None = None) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one.

    The temporary file goes to ``tmp_dir`` (same file system as ``path``), default ``path``'s folder.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = tmp_dir or path.parent
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    _fsync_dir(path.parent)


def portfolio_table(p: Portfolio) -> Any:
    """The raw rows of a portfolio as a pyarrow Table with the raw schema."""
    import pyarrow as pa

    n = len(p.holdings)
    columns: dict[str, list[Any]] = {
        "index_code": [p.index] * n,
        "session_date": [p.session_date] * n,
        "cod": [h.cod for h in p.holdings],
        "asset": [h.asset for h in p.holdings],
        "type": [h.type for h in p.holdings],
        "segment": [h.segment for h in p.holdings],
        "part": [h.part for h in p.holdings],
        "theoricalQty": [h.qty for h in p.holdings],
        "total_theoricalQty": [p.total_qty] * n,
        "reductor": [p.reductor] * n,
        "collected_at": [p.collected_at] * n,
        "source": [p.source] * n,
        "source_format": [p.source_format] * n,
        "source_sha256": [p.sha256] * n,
    }
    return pa.Table.from_pydict(columns, schema=schema.arrow_raw_schema())


def parquet_bytes(table: Any) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


class LocalLake:
    """A lake directory. All writes go through :meth:`lock`."""

    def __init__(self, root: Path, table: str = schema.REFINED_TABLE) -> None:
        self.root = Path(root)
        self.table = schema.check_table_name(table)

    # -- locking ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, timeout: float = 120.0) -> Iterator[None]:
        """Exclusive writer lock on the lake (an advisory ``flock``; released if the process dies)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fh = open(self.root / LOCK_FILE, "a+")  # noqa: SIM115 - held for the duration of the context
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LakeBusy(f"the lake {self.root} is locked by another ibov process") from None
                    time.sleep(0.05)
            self.sweep()
            yield
        finally:
            fh.close()

    def sweep(self) -> None:
        """Clean what a killed writer may have left (call under the lock: then nothing is in flight).

        Temporary files and staging folders are hidden (dot names, never ``*.parquet`` at a visible
        path), so readers never saw them; a refined day caught between its two renames is restored.
        """
        refined = self.root / layout.REFINED_PREFIX
        if refined.is_dir():
            for entry in refined.iterdir():
                if entry.name.startswith(".staging-"):
                    shutil.rmtree(entry, ignore_errors=True)
                elif entry.name.startswith(".trash-"):
                    day_dir = refined / entry.name[len(".trash-") :].rsplit("-", 1)[0]
                    if layout.parse_day_partition(day_dir.name) and not day_dir.exists():
                        os.replace(entry, day_dir)
                    else:
                        shutil.rmtree(entry, ignore_errors=True)
        writing = self.root / WRITING_DIR
        if writing.is_dir():
            for tmp in writing.glob(".*.tmp"):
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()

    # -- raw zone --------------------------------------------------------------------------------

    def write_raw(self, p: Portfolio) -> str:
        """Store the original bytes and the typed rows of ``p``; returns the raw key. Call under lock."""
        snap = self.root / layout.snapshot_key(p.index, p.session_date, p.original_ext)
        atomic_write(snap, p.original, self.root / WRITING_DIR)
        key = layout.raw_key(p.index, p.session_date)
        atomic_write(self.root / key, parquet_bytes(portfolio_table(p)), self.root / WRITING_DIR)
        return key

    def raw_files(self, day: date) -> list[Path]:
        folder = self.root / layout.raw_day_prefix(day)
        if not folder.is_dir():
            return []
        return sorted(
            f for f in folder.iterdir() if f.name.endswith(layout.RAW_SUFFIX) and not f.name.startswith(".")
        )

    def raw_inventory(self) -> dict[str, list[date]]:
        """Days present in the raw zone, per index."""
        raw = self.root / layout.RAW_PREFIX
        if not raw.is_dir():
            return {}
        return layout.raw_inventory(
            f"{layout.RAW_PREFIX}{folder.name}/{f.name}"
            for folder in raw.iterdir()
            if folder.is_dir()
            for f in folder.iterdir()
        )

    # -- refine ----------------------------------------------------------------------------------

    def connect(self, *, read_only: bool = False, retries: float = 10.0) -> Any:
        """A DuckDB connection to the local catalog (created on first use)."""
        import duckdb

        path = self.root / CATALOG_FILE
        if read_only and not path.exists():
            self.ensure_catalog()
        deadline = time.monotonic() + retries
        while True:
            try:
                con = duckdb.connect(str(path), read_only=read_only)
                break
            except duckdb.IOException as exc:  # another process holds the catalog open for writing
                if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise LakeBusy(f"the catalog {path} is in use by another process") from None
                time.sleep(0.05)
        con.execute("SET TimeZone = 'UTC'")
        return con

    def ensure_catalog(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        con = self.connect()
        try:
            self._create_table(con)
        finally:
            con.close()

    def _create_table(self, con: Any) -> None:
        """The refined table, and a view naming it as the Glue Data Catalog does: ``"default".<table>``."""
        cols = ", ".join(f'"{c.name}" {duckdb_type(c.type)}' for c in schema.refined_columns())
        con.execute(f'CREATE TABLE IF NOT EXISTS "{self.table}" ({cols})')
        db = schema.CATALOG_DATABASE
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{db}"')
        view = f'CREATE VIEW IF NOT EXISTS "{db}"."{self.table}" AS SELECT * FROM main."{self.table}"'  # nosec B608
        con.execute(view)

    def refine_day(self, day: date) -> RefineResult:
        """Recompute ``refined/dt=day/`` from every raw file of that day and update the catalog.

        Idempotent; other days are untouched. Call under :meth:`lock`.
        """
        started = time.monotonic()
        files = self.raw_files(day)
        refined_root = self.root / layout.REFINED_PREFIX
        refined_root.mkdir(parents=True, exist_ok=True)
        staging = refined_root / f".staging-{uuid.uuid4().hex}"
        con = self.connect()
        try:
            self._create_table(con)
            for shim in DUCKDB_SHIMS:
                con.execute(shim)
            if files:
                paths = "[" + ", ".join(_sql_str(f) for f in files) + "]"
                # the paths are quoted literals of files listed above
                view = f"CREATE OR REPLACE TEMP VIEW raw_day AS SELECT * FROM read_parquet({paths}, "  # nosec B608
                con.execute(view + "hive_partitioning = false, union_by_name = true)")
                con.execute(f"CREATE OR REPLACE TEMP TABLE refined_day AS {schema.refine_sql()}")  # nosec B608
                con.execute(
                    f"COPY refined_day TO {_sql_str(staging)} (FORMAT parquet, COMPRESSION zstd, "
                    "PARTITION_BY (dt, ticker), FILENAME_PATTERN 'part-{i}')"
                )
                rows, indices, tickers = con.execute(
                    "SELECT count(*), list(DISTINCT index_code ORDER BY index_code), count(DISTINCT ticker) "
                    "FROM refined_day"
                ).fetchone()
            else:
                rows, indices, tickers = 0, [], 0
            self.swap_day(staging, day)
            self._replace_catalog_day(con, day, "refined_day" if rows else None)
        except Exception as exc:
            if isinstance(exc, LakeBusy):
                raise
            import duckdb

            if isinstance(exc, duckdb.Error):
                raise JobFailed(f"refining {day} failed: {exc}") from exc
            raise
        finally:
            con.close()
            shutil.rmtree(staging, ignore_errors=True)
        return RefineResult(day, int(rows), tuple(indices), int(tickers), time.monotonic() - started)

    def _replace_catalog_day(self, con: Any, day: date, relation: str | None) -> None:
        """In one transaction, the catalog's rows of ``day`` become those of ``relation`` (none if None)."""
        table = self.table  # a checked identifier (schema.check_table_name); relation is ours
        con.execute("BEGIN TRANSACTION")
        con.execute(f'DELETE FROM "{table}" WHERE dt = ?', [day.isoformat()])  # nosec B608
        if relation is not None:
            con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM {relation}')  # nosec B608
        con.execute("COMMIT")

    def load_catalog_day(self, day: date) -> int:
        """Make the catalog's rows of ``day`` equal the day's refined parquet files; returns the rows.

        For refined days written by another engine (the Glue job's local mode). Call under :meth:`lock`.
        """
        files = sorted((self.root / layout.refined_day_prefix(day)).glob("ticker=*/*.parquet"))
        con = self.connect()
        try:
            self._create_table(con)
            relation = None
            if files:
                paths = "[" + ", ".join(_sql_str(f) for f in files) + "]"
                view = f"CREATE OR REPLACE TEMP VIEW day_files AS SELECT * FROM read_parquet({paths}, "  # nosec B608
                con.execute(
                    view + "hive_partitioning = true, hive_types = {'dt': VARCHAR, 'ticker': VARCHAR})"
                )
                relation = "day_files"
            self._replace_catalog_day(con, day, relation)
            count = f'SELECT count(*) FROM "{self.table}" WHERE dt = ?'  # nosec B608 - checked identifier
            return int(con.execute(count, [day.isoformat()]).fetchone()[0])
        finally:
            con.close()

    def swap_day(self, staging: Path, day: date) -> None:
        """Put ``staging/dt=day`` in place of ``refined/dt=day``; on Linux in one atomic exchange."""
        day_dir = self.root / layout.refined_day_prefix(day)
        new = staging / layout.day_partition(day)
        if not new.exists():  # the day has no rows any more
            new.mkdir(parents=True)
        if day_dir.exists() and _exchange(new, day_dir):
            shutil.rmtree(new, ignore_errors=True)  # ``new`` now holds the old day
        else:
            trash = day_dir.parent / f".trash-{day_dir.name}-{uuid.uuid4().hex}"
            if day_dir.exists():
                os.replace(day_dir, trash)
            os.replace(new, day_dir)
            shutil.rmtree(trash, ignore_errors=True)
        _fsync_dir(day_dir.parent)

    def refined_days(self) -> dict[str, list[str]]:
        """Days in the local catalog, per index."""
        if not (self.root / CATALOG_FILE).exists():
            return {}
        con = self.connect(read_only=True)
        try:
            table = self.table  # a checked identifier (schema.check_table_name)
            sql = f'SELECT index_code, list(DISTINCT dt ORDER BY dt) FROM "{table}" GROUP BY 1 ORDER BY 1'  # nosec B608
            rows = con.execute(sql).fetchall()
        finally:
            con.close()
        return {r[0]: list(r[1]) for r in rows}

    # -- queries ---------------------------------------------------------------------------------

    def query(
        self, sql: str, params: dict[str, Any] | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run SQL on the local catalog (read-only); returns column names and rows."""
        import duckdb

        con = self.connect(read_only=True)
        try:
            cur = con.execute(sql, params or {})
            columns = [d[0] for d in cur.description]
            return columns, cur.fetchall()
        except duckdb.Error as exc:
            raise QueryError(f"query failed on DuckDB: {str(exc).splitlines()[0]}") from exc
        finally:
            con.close()

    # -- run log ---------------------------------------------------------------------------------

    def log_run(self, entry: dict[str, Any]) -> None:
        path = self.root / RUN_LOG
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, default=str, sort_keys=True) + "\n"
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def runs(self, last: int = 10) -> list[dict[str, Any]]:
        path = self.root / RUN_LOG
        if not path.exists():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines()[-last * 4 :]:
            with contextlib.suppress(json.JSONDecodeError):
                out.append(json.loads(line))
        return out[-last:]
