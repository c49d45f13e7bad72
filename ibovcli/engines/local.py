"""The local engine: a lake directory on disk, DuckDB as the SQL engine, the trigger called in-process.

Layout under the lake directory (paths from :mod:`ibovcli.layout` and :mod:`ibovcli.datasets`)::

    raw/... snapshots/... refined/... refined_levels/...   the zones, as on S3
    compact/month=YYYY-MM/index_code=I/   the portfolio's compact serving copy (rebuilt per refine batch)
    catalog.duckdb     the local catalog: one table per dataset (also as "default".<table>, its Glue
                       name), and the inventory: every raw file (ibov_raw_files), per unit the raw
                       files it holds now (ibov_raw_units) and those its refined rows were computed
                       from (ibov_units), and per month what its compact files were built from
                       (ibov_compact_months)
    logs/runs.jsonl    the run log
    .lock              held while a command writes
    .status.json       what `ibov status` shows, saved with the catalog's state (.generation: the token
                       every writer takes before it opens the catalog to write)
    .writing/          files of writes in progress (each write a folder with its journal)

What the lake promises, and how:

* **All or nothing.** A write (:meth:`LocalLake.publish`) stages every file first, records a journal,
  then renames each into place, keeping what it replaces; a failure at any point (a full disk, a
  signal) puts everything back, and a crash is rolled back by the next writer (:meth:`LocalLake.sweep`).
* **Zones agree.** A refine builds the unit's refined folder in a staging folder, replaces the unit's
  catalog rows in a transaction, swaps the folder in, then commits; a failed commit swaps the old folder
  back. The inventory records which raw files each unit was refined from, so every writer first refines
  the units whose raw files changed since (:meth:`LocalLake.heal`): a crash, a signal or a busy catalog
  never leaves a day stored but unrefined for long.
* **A damaged catalog is rebuilt** from the refined and raw zones, with a one-line note.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from ibovcli import datasets, partfiles, queries, rawfiles, schema, trigger
from ibovcli.datasets import Dataset, Unit
from ibovcli.engines.base import (
    Coverage,
    Notify,
    RefineResult,
    Removal,
    RunRecord,
    StatusReport,
    UnitCheck,
    compact_checks,
    quiet,
)
from ibovcli.errors import (
    ConfigError,
    IbovError,
    Interrupted,
    JobFailed,
    LakeBusy,
    QueryFailed,
    UsageError,
)
from ibovcli.rawfiles import RawWrite
from ibovcli.settings import Settings

T = TypeVar("T")

CATALOG_FILE = "catalog.duckdb"
RUN_LOG = "logs/runs.jsonl"
LOCK_FILE = ".lock"
#: what ``ibov status`` shows of the catalog, saved with the catalog's state (``LocalLake.catalog_state``)
SUMMARY_FILE = ".status.json"
SUMMARY_VERSION = 1
#: a new token on every writable catalog connection: a summary saved under another token is stale
GENERATION_FILE = ".generation"
WRITING_DIR = ".writing"
#: A refine's staging folder under WRITING_DIR: ``staging-<dataset>-<id>``.
STAGING_PREFIX = "staging-"
#: Where each staging folder's contents go: ``.writing/staging-<name>-<id>`` holds unit folders of a
#: dataset's refined prefix, or month folders of the compact copy's prefix.
_STAGED_PREFIXES = {
    **{d.name: d.refined_prefix for d in datasets.ALL.values()},
    datasets.COMPACT.name: datasets.COMPACT.prefix,
}
JOURNAL = "journal.json"
#: What a failed refine leaves: the raw files stay, the unit is refined again by the next writer.
PENDING = "its raw data is stored and the next write (or `ibov refine`) refines it"
#: How much of the run log's end ``status`` reads (the log may grow to any size).
RUN_LOG_TAIL_BYTES = 256 * 1024
RUN_LOG_MAX_BYTES = 16 * 1024 * 1024

#: DuckDB has no unix_date(); Spark has it built in. This is the only dialect shim the refine SQL needs.
DUCKDB_SHIMS = ("CREATE OR REPLACE MACRO unix_date(d) AS (CAST(d AS DATE) - DATE '1970-01-01')",)

INVENTORY_DDL = (
    """CREATE TABLE IF NOT EXISTS ibov_raw_files (
        key VARCHAR PRIMARY KEY, dataset VARCHAR NOT NULL, unit VARCHAR NOT NULL, index_code VARCHAR,
        label VARCHAR, size BIGINT NOT NULL, mtime_ns BIGINT NOT NULL, sha256 VARCHAR NOT NULL,
        rows BIGINT NOT NULL, written_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS ibov_units (
        dataset VARCHAR NOT NULL, unit VARCHAR NOT NULL, refined_signature VARCHAR NOT NULL,
        raw_files INTEGER NOT NULL, refined_rows BIGINT NOT NULL, refined_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (dataset, unit))""",
    # per month of the compact serving copy (datasets.COMPACT): the signature of the portfolio units it
    # was built from (see LocalLake.month_signatures) and its rows
    """CREATE TABLE IF NOT EXISTS ibov_compact_months (
        month VARCHAR PRIMARY KEY, signature VARCHAR NOT NULL, rows BIGINT NOT NULL,
        built_at TIMESTAMPTZ NOT NULL)""",
)
#: Per unit, the signature of its raw files now (:func:`unit_signature` of ``ibov_raw_files``), kept up
#: to date in the same transaction as every change of ``ibov_raw_files``: a unit is stale when it differs
#: from the unit's ``refined_signature``, found without hashing every unit's files at each command.
RAW_UNITS_TABLE = "ibov_raw_units"
RAW_UNITS_DDL = f"""CREATE TABLE {RAW_UNITS_TABLE} (
    dataset VARCHAR NOT NULL, unit VARCHAR NOT NULL, raw_signature VARCHAR NOT NULL,
    PRIMARY KEY (dataset, unit))"""
#: ``unit_signature`` computed by DuckDB, per unit, from the inventory (``{where}``: which units)
RAW_SIGNATURES = """
    SELECT dataset, unit, sha256(string_agg(key || chr(9) || sha256 || chr(10), '' ORDER BY key))
    FROM ibov_raw_files {where} GROUP BY dataset, unit"""


#: The stale units: raw signature (``{raw}``: dataset, unit, signature) unlike the refined one.
_STALE = """
    SELECT coalesce(r.dataset, u.dataset), coalesce(r.unit, u.unit)
    FROM {raw} AS r (dataset, unit, raw_signature)
    FULL OUTER JOIN ibov_units AS u ON u.dataset = r.dataset AND u.unit = r.unit
    WHERE coalesce(r.raw_signature, ?) IS DISTINCT FROM u.refined_signature"""


def _one_read_only_statement(sql: str) -> None:
    """DuckDB's own parse of a user's statement: exactly one, and a SELECT (SHOW, DESCRIBE, FROM-first
    and VALUES parse as SELECT); the catalog connection it then runs on is read-only as well."""
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise UsageError(f"the statement does not parse: {_first_line(exc)}") from None
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise UsageError("only one read-only statement (a query) is run")


def sql_str(value: object) -> str:
    """A SQL string literal: for the one path DuckDB is given (the COPY's output folder)."""
    return "'" + str(value).replace("'", "''") + "'"


def read_files(
    files: Sequence[Path], *, base: Path | None = None, partitions: tuple[schema.Column, ...] = ()
) -> Any:
    """The rows of parquet ``files``, as one Arrow table (columns merged by name), for DuckDB to read.

    Files are opened by ibov, never handed to DuckDB as paths: DuckDB reads any path holding ``*``,
    ``?`` or ``[`` as a glob pattern, and a lake called ``lake*`` must never read its neighbours'
    files. With ``base``, the ``key=value`` folders between ``base`` and each file become the
    ``partitions`` columns (typed).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow_types: Any = schema.arrow_schema(partitions)
    tables = []
    for f in files:
        with open(f, "rb") as fh:
            table = pq.ParquetFile(fh).read()  # not read_table: its dataset layer costs ~100 ms to import
        if base is not None:
            found = dict(p.split("=", 1) for p in f.relative_to(base).parts[:-1] if "=" in p)
            for field in arrow_types:
                table = table.append_column(
                    field.name, pa.array([found.get(field.name)] * table.num_rows).cast(field.type)
                )
        tables.append(table)
    return pa.concat_tables(tables, promote_options="default")


#: The column a refine adds to the raw rows it reads: the unit of the file each row came from.
UNIT_COLUMN = "__ibov_unit"
#: A refine pass takes at most this many units, and this many bytes of raw files (a year of portfolio
#: days of every index is a few MB; a COTAHIST session about 0.5 MB).
BATCH_UNITS = 250
BATCH_RAW_BYTES = 16 * 1024 * 1024
#: Months of the compact copy rebuilt per catalog transaction outside a refine (a heal, a catalog
#: rebuild): a year of every index is ~0.7 M rows.
COMPACT_BATCH_MONTHS = 12


def _repeat(value: str, n: int) -> Any:
    import pyarrow as pa

    return pa.array([value] * n, pa.string())


#: The catalog connections (``id``) inside a transaction ibov began: DuckDB has no nested transactions,
#: and a second BEGIN aborts the first.
_IN_TRANSACTION: set[int] = set()


@contextlib.contextmanager
def _swapping(con: Any) -> Iterator[tuple[list[Callable[[], None]], list[Path]]]:
    """One catalog transaction whose body also swaps folders in: the body appends how to undo each swap
    it made to ``undo`` and the staging folders to remove to ``staging``. On leaving it commits; if the
    body or the commit fails, every swap is undone (last first) and the transaction rolled back, so the
    folders and the catalog stay as they were. The staging folders go either way."""
    undo: list[Callable[[], None]] = []
    staging: list[Path] = []
    con.execute("BEGIN TRANSACTION")
    _IN_TRANSACTION.add(id(con))
    try:
        yield undo, staging
        con.execute("COMMIT")
    except BaseException:
        for step in reversed(undo):
            step()
        with contextlib.suppress(Exception):
            con.execute("ROLLBACK")
        raise
    finally:
        _IN_TRANSACTION.discard(id(con))
        for folder in staging:
            shutil.rmtree(folder, ignore_errors=True)
            with contextlib.suppress(OSError):
                folder.parent.rmdir()  # .writing/, only when empty


@contextlib.contextmanager
def _atomic(con: Any) -> Iterator[None]:
    """The body's statements in one catalog transaction: its own, or the one the connection is in."""
    if id(con) in _IN_TRANSACTION:  # the enclosing transaction commits or rolls back the body
        yield
        return
    con.execute("BEGIN TRANSACTION")
    _IN_TRANSACTION.add(id(con))
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            con.execute("ROLLBACK")
        raise
    finally:
        _IN_TRANSACTION.discard(id(con))


def _refresh_raw_units(con: Any, units: Sequence[tuple[str, str]]) -> None:
    """Recompute ``ibov_raw_units`` for ``(dataset, unit)`` pairs whose raw files were just recorded or
    removed (call inside the same transaction)."""
    keys = sorted({f"{d}\t{u}" for d, u in units})
    if not keys:
        return
    match = "dataset || chr(9) || unit IN (SELECT unnest(?))"
    con.execute(f"DELETE FROM {RAW_UNITS_TABLE} WHERE {match}", [keys])  # nosec B608 - constants only
    con.execute(
        f"INSERT INTO {RAW_UNITS_TABLE} {RAW_SIGNATURES.format(where='WHERE ' + match)}",  # nosec B608
        [keys],
    )


def _units_text(units: Sequence[Unit]) -> str:
    """``portfolio dt=2025-07-10``, or ``portfolio dt=2025-07-01..2025-07-10 (8 units)``."""
    if len(units) == 1:
        return str(units[0])
    values = sorted(u.value for u in units)
    return f"{units[0].dataset} {units[0].spec.unit_key}={values[0]}..{values[-1]} ({len(units)} units)"


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _missing_parents(path: Path, root: Path) -> list[Path]:
    """The folders between ``root`` and ``path`` that do not exist yet, outermost first."""
    out = []
    for parent in reversed(path.parents):
        if parent == root or root not in parent.parents:
            continue
        if not parent.exists():
            out.append(parent)
    return out


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def unit_signature(files: Sequence[tuple[str, str]]) -> str:
    """What a unit's refined rows were computed from: a hash of its raw files' keys and contents."""
    h = hashlib.sha256()
    for key, sha in sorted(files):
        h.update(f"{key}\t{sha}\n".encode())
    return h.hexdigest()


def _swap_folder(new: Path, target: Path, old: Path) -> Callable[[], None]:
    """Put the folder ``new`` in place of ``target`` (``target`` goes when ``new`` is missing or empty);
    returns how to undo it.

    On Linux one atomic exchange; elsewhere two renames, the old folder waiting in the staging folder
    as ``old`` = ``<staging>/.old-<target name>`` (where :meth:`LocalLake.sweep` finds it if the process
    dies between them).
    """
    has_new = new.is_dir() and any(new.iterdir())
    existed = target.exists()
    if has_new and existed and _exchange(new, target):
        _fsync_dir(target.parent)

        def exchange_back() -> None:
            _exchange(new, target)

        return exchange_back
    if existed:
        os.replace(target, old)
    if has_new:
        try:
            os.replace(new, target)
        except BaseException:
            if existed:
                os.replace(old, target)
            raise
    _fsync_dir(target.parent)

    def undo() -> None:
        if has_new:
            os.replace(target, new)
        if existed:
            os.replace(old, target)

    return undo


@dataclass(frozen=True)
class RawFile:
    key: str
    path: Path
    size: int
    mtime_ns: int


class LocalLake:
    """A lake directory. Writes happen under :meth:`lock`; one catalog connection is kept open."""

    def __init__(
        self,
        root: Path,
        *,
        tables: dict[str, str] | None = None,
        lock_timeout: float = 120.0,
        notify: Notify = quiet,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = Path(root)
        self.tables = dict(tables or datasets.tables())
        self.lock_timeout = lock_timeout
        self.notify = notify
        self.clock = clock
        self._con: Any = None
        self._writable = False
        self._locked = False
        self._swept = False
        #: before this lock's first writable catalog connection: the catalog files' state and the summary
        #: valid for it (None: this lock has not opened the catalog to write)
        self._before: tuple[list[Any], tuple[tuple[Coverage, ...], tuple[str, ...]] | None] | None = None
        #: the command's deadline for waiting on other processes (IBOV_LOCK_TIMEOUT bounds the command)
        self._deadline = clock() + lock_timeout

    # -- the lake directory ------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.root.is_dir()

    def require(self) -> None:
        """For readers: the lake must exist (a reader never creates one)."""
        if not self.root.exists():
            raise ConfigError(
                f"no lake at {self.root}",
                hint="Store something first (`ibov run`), or point --lake / IBOV_LAKE_DIR at a lake.",
            )
        if not self.root.is_dir():
            raise ConfigError(
                f"the lake path {self.root} is not a directory", hint="Pass a directory to --lake."
            )

    def _create(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(
                f"the lake path {self.root} is not a directory", hint="Pass a directory to --lake."
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the lake {self.root}: {exc.strerror}",
                hint="Check the path and its permissions, or choose another with --lake.",
            ) from None

    def remaining(self) -> float:
        return max(0.0, self._deadline - self.clock())

    # -- locking ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive writer lock on the lake (``flock``; released if the process dies).

        Taken at most once per command (reentrant); on taking it, what a killed writer left is rolled
        back (:meth:`sweep`) and stale units are refined (:meth:`heal`).
        """
        if self._locked:
            yield
            return
        self._create()
        try:
            fh = open(self.root / LOCK_FILE, "a+")  # noqa: SIM115 - held for the duration of the context
        except OSError as exc:
            raise ConfigError(
                f"cannot write to the lake {self.root}: {exc.strerror}",
                hint="Check its permissions (the lake must be writable), or use another --lake.",
            ) from None
        try:
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if self.remaining() <= 0:
                        raise LakeBusy(f"the lake {self.root} is locked by another ibov process") from None
                    time.sleep(0.05)
            self._locked = True
            self._before = None
            self.sweep()
            yield
            if self._before is not None:  # the catalog was opened for writing: summarise it again
                self._save_summary_after_write(*self._before)
        finally:
            self._locked = False
            self.close()  # the writable connection goes with the lock
            fh.close()

    # -- all-or-nothing writes -------------------------------------------------------------------

    def publish(self, files: Sequence[tuple[str, bytes | None]]) -> None:
        """Write every ``(key, body)`` or none of them (a ``None`` body removes the key). Call under
        :meth:`lock`.

        Bodies are staged (and fsynced) under ``.writing/<id>/`` first; a journal names each target and
        whether it existed; then each target is moved aside and the new file renamed in. Any failure
        restores every target byte for byte and removes the folders this write created.
        """
        self._require_lock()
        writing = self.root / WRITING_DIR
        txn = writing / f"txn-{uuid.uuid4().hex}"
        entries: list[dict[str, Any]] = []
        try:
            txn.mkdir(parents=True)
            for i, (key, body) in enumerate(files):
                target = self.root / key
                if body is None and not target.exists():
                    continue  # nothing to remove
                if body is not None:
                    _write_file(txn / f"new-{i}", body)
                entries.append(
                    {
                        "key": key,
                        "n": i,
                        "remove": body is None,
                        "existed": target.exists(),
                        "dirs": [str(p.relative_to(self.root)) for p in _missing_parents(target, self.root)],
                    }
                )
            _write_file(txn / JOURNAL, json.dumps({"state": "publishing", "files": entries}).encode())
            for entry in entries:
                i, target = entry["n"], self.root / entry["key"]
                target.parent.mkdir(parents=True, exist_ok=True)
                if entry["existed"]:
                    os.replace(target, txn / f"old-{i}")
                if not entry["remove"]:
                    os.replace(txn / f"new-{i}", target)
            for parent in {(self.root / e["key"]).parent for e in entries}:
                _fsync_dir(parent)
            _write_file(txn / JOURNAL, json.dumps({"state": "published", "files": entries}).encode())
        except OSError as exc:
            self._roll_back(txn)
            raise lake_error(exc, self.root, f"writing {exc.filename or 'a file'}") from None
        except BaseException:
            self._roll_back(txn)
            raise
        shutil.rmtree(txn, ignore_errors=True)
        with contextlib.suppress(OSError):
            writing.rmdir()  # only when empty

    def _roll_back(self, txn: Path) -> None:
        """Undo a write that did not finish (this process, or a killed one: see :meth:`sweep`)."""
        try:
            journal = json.loads((txn / JOURNAL).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            journal = None  # nothing was published before the journal existed
        if journal is not None and journal.get("state") != "published":
            for entry in reversed(journal["files"]):
                i, target = entry["n"], self.root / entry["key"]
                backup = txn / f"old-{i}"
                if backup.exists():
                    os.replace(backup, target)
                elif not entry["existed"] and not (txn / f"new-{i}").exists():
                    with contextlib.suppress(FileNotFoundError):
                        target.unlink()
                for folder in reversed(entry["dirs"]):
                    with contextlib.suppress(OSError):
                        (self.root / folder).rmdir()  # only when empty
        shutil.rmtree(txn, ignore_errors=True)
        with contextlib.suppress(OSError):
            txn.parent.rmdir()

    def sweep(self) -> None:
        """Undo what a killed writer left: unfinished writes, refine staging folders, half swaps.

        Everything in progress lives under ``.writing/``, so when nothing was left this is one ``stat``
        (it runs at every taking of the lock); staging folders inside the refined prefixes (where
        versions before 0.2 staged) are looked for once per command.
        """
        writing = self.root / WRITING_DIR
        if writing.is_dir():
            for entry in sorted(writing.iterdir()):
                if entry.name.startswith("txn-"):
                    self._roll_back(entry)
                elif entry.name.startswith(STAGING_PREFIX):
                    prefix = _STAGED_PREFIXES.get(entry.name[len(STAGING_PREFIX) :].split("-", 1)[0])
                    if prefix is not None:
                        self._drop_staging(entry, self.root / prefix)
                    shutil.rmtree(entry, ignore_errors=True)
                else:  # temporary files of older versions
                    with contextlib.suppress(OSError):
                        entry.unlink()
            with contextlib.suppress(OSError):
                writing.rmdir()
        if self._swept:
            return
        self._swept = True
        for dataset in datasets.ALL.values():
            refined = self.root / dataset.refined_prefix
            if refined.is_dir():
                for staging in refined.glob(".staging-*"):
                    self._drop_staging(staging, refined)

    @staticmethod
    def _drop_staging(staging: Path, refined: Path) -> None:
        """Remove a killed refine's staging folder, first putting back a unit folder a swap had moved
        aside (cut between its two renames)."""
        for old in staging.glob(".old-*"):
            target = refined / old.name[len(".old-") :]
            if not target.exists():
                os.replace(old, target)
        shutil.rmtree(staging, ignore_errors=True)

    def _require_lock(self) -> None:
        if not self._locked:
            raise RuntimeError("lake writes need the writer lock")

    # -- the catalog -----------------------------------------------------------------------------

    @property
    def catalog_path(self) -> Path:
        return self.root / CATALOG_FILE

    def connection(self, *, write: bool = False, rebuilding: bool = False) -> Any:
        """The command's catalog connection (read-only unless ``write``; writing needs the lock).

        A missing catalog in a lake that holds data is :class:`CatalogMissing` unless ``rebuilding``.
        """
        if write:
            self._require_lock()
        if self._con is not None and (self._writable or not write):
            return self._con
        self.close()
        if write:
            self._new_generation()
        self._con = self._open(write, rebuilding)
        self._writable = write
        return self._con

    def _open(self, write: bool, rebuilding: bool = False) -> Any:
        import duckdb

        path = self.catalog_path
        fresh = not path.exists() and not rebuilding
        if fresh and not write:
            if self._has_data():
                raise CatalogMissing(f"{path} is missing")
            con = duckdb.connect(":memory:")
            self._create_tables(con)
            return con
        while True:
            try:
                con = duckdb.connect(str(path), read_only=not write)
                break
            except duckdb.IOException as exc:
                text = str(exc).lower()
                if "lock" not in text and "resource temporarily unavailable" not in text:
                    raise CatalogDamaged(f"{path} cannot be opened: {_first_line(exc)}") from None
                if self.remaining() <= 0:
                    raise LakeBusy(f"the catalog {path} is in use by another ibov process") from None
                time.sleep(0.05)
            except duckdb.Error as exc:  # not a DuckDB file, a truncated one, a newer version...
                raise CatalogDamaged(f"{path} cannot be opened: {_first_line(exc)}") from None
        try:
            con.execute("SET TimeZone = 'UTC'")
            if write:
                self._create_tables(con)
                if fresh and self._has_data():
                    con.close()
                    raise CatalogMissing(f"{path} is missing")
            else:
                con.execute("SELECT count(*) FROM ibov_units").fetchall()
        except duckdb.Error as exc:
            con.close()
            raise CatalogDamaged(f"{path} is damaged: {_first_line(exc)}") from None
        return con

    # -- the status summary ----------------------------------------------------------------------

    def _new_generation(self) -> None:
        """Write a new token before the catalog is opened for writing (under the lock), so that a
        summary saved before this write is stale from now on, even if this process dies mid-write."""
        if self._before is None:  # the first time in this lock: what the catalog was before the write
            self._before = (self.catalog_state()[1:], self.saved_summary())
        token = uuid.uuid4().hex
        tmp = self.root / f"{GENERATION_FILE}.{token}"
        tmp.write_text(token, encoding="ascii")
        os.replace(tmp, self.root / GENERATION_FILE)

    def catalog_state(self) -> list[Any]:
        """What identifies the catalog's content without opening it (nor importing DuckDB): the last
        writer's token and the inode, size and modification time of the catalog and its WAL."""
        try:
            token: str | None = (self.root / GENERATION_FILE).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            token = None
        out: list[Any] = [token]
        for name in (CATALOG_FILE, CATALOG_FILE + ".wal"):
            try:
                st = os.stat(self.root / name)
            except OSError:
                out.append(None)
            else:
                out.append([st.st_ino, st.st_size, st.st_mtime_ns])
        return out

    def saved_summary(self) -> tuple[tuple[Coverage, ...], tuple[str, ...]] | None:
        """The status summary saved for the catalog as it is now, or ``None`` (none saved, unreadable,
        or saved for another state of the catalog)."""
        try:
            data = json.loads((self.root / SUMMARY_FILE).read_bytes())
            if data["version"] != SUMMARY_VERSION or data["catalog"] != self.catalog_state():
                return None
            coverage = tuple(
                Coverage(**{**c, "missing": tuple(c["missing"])}) for c in data["summary"]["coverage"]
            )
            return coverage, tuple(str(p) for p in data["summary"]["pending"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def summary(self) -> tuple[tuple[Coverage, ...], tuple[str, ...]]:
        """What ``ibov status`` shows of the catalog, read from it: each dataset's coverage (first, last,
        stored, refined and missing days per index) and the units waiting to be refined."""
        return _summary(self)

    def save_summary(self, summary: tuple[tuple[Coverage, ...], tuple[str, ...]], state: list[Any]) -> None:
        """Keep ``summary`` for the catalog state ``state`` (a reader's cache: a failure only costs the
        next ``status`` a read of the catalog)."""
        coverage, pending = summary
        body = {
            "version": SUMMARY_VERSION,
            "catalog": state,
            "summary": {"coverage": [asdict(c) for c in coverage], "pending": list(pending)},
        }
        tmp = self.root / f"{SUMMARY_FILE}.{uuid.uuid4().hex}"
        try:
            tmp.write_text(json.dumps(body), encoding="utf-8")
            os.replace(tmp, self.root / SUMMARY_FILE)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _save_summary_after_write(
        self, files: list[Any], before: tuple[tuple[Coverage, ...], tuple[str, ...]] | None
    ) -> None:
        """At the end of a write (under the lock): summarise the catalog, close it (DuckDB checkpoints
        on close) and save the summary with the state the catalog is left in. When the catalog files
        are as they were before the write (``files``: nothing was committed, a re-run with nothing new),
        the summary saved before (``before``) is kept, under the new token, without reading the catalog."""
        if before is not None and self.catalog_state()[1:] == files:
            self.close()
            state = self.catalog_state()
            if state[1:] == files:
                self.save_summary(before, state)
                return
        try:
            summary = self.summary()
        except Interrupted:
            raise
        except Exception:  # the write is done; the next `status` reads the catalog instead
            return
        self.close()
        self.save_summary(summary, self.catalog_state())

    def no_writer(self) -> bool:
        """Whether no ibov command holds the writer lock now (a reader's check; it takes no lock)."""
        try:
            fh = open(self.root / LOCK_FILE, "rb")  # noqa: SIM115 - closed below
        except OSError:
            return True  # no lock file: no writer yet (one that starts now changes the catalog's state)
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        finally:
            fh.close()

    def _has_data(self) -> bool:
        """Whether any zone holds data (then a missing catalog is damage, not a new lake)."""
        return any(
            (self.root / d.raw_prefix).is_dir() or (self.root / d.refined_prefix).is_dir()
            for d in datasets.ALL.values()
        )

    def _create_tables(self, con: Any) -> None:
        """Each dataset's table, named also as in the Glue Data Catalog (``"default".<table>``), and
        the inventory."""
        db = schema.CATALOG_DATABASE
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{db}"')
        for name, table in self.tables.items():
            cols = ", ".join(f'"{c.name}" {schema.duckdb_type(c.type)}' for c in datasets.get(name).columns)
            con.execute(f'CREATE TABLE IF NOT EXISTS "{table}" ({cols})')
            view = f'CREATE VIEW IF NOT EXISTS "{db}"."{table}" AS SELECT * FROM main."{table}"'  # nosec B608
            con.execute(view)
        # the compact copy, named as on AWS: locally a view of the portfolio table (DuckDB's own storage is
        # the local compact store; the files under compact/ are for other readers)
        compact = datasets.COMPACT
        source = self.tables[compact.source.name]
        rows = f'WITH {compact.INPUT_VIEW} AS (SELECT * FROM main."{source}")\n{compact.sql()}'  # nosec B608
        con.execute(f'CREATE VIEW IF NOT EXISTS main."{compact.table}" AS {rows}')
        named = f'"{db}"."{compact.table}" AS SELECT * FROM main."{compact.table}"'  # nosec B608
        con.execute(f"CREATE VIEW IF NOT EXISTS {named}")
        for ddl in INVENTORY_DDL:
            con.execute(ddl)
        exists = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?",
            [RAW_UNITS_TABLE],
        ).fetchall()[0][0]
        if not exists:  # a new catalog, or one from before the table: filled from the inventory, at once
            with _atomic(con):
                con.execute(RAW_UNITS_DDL)
                con.execute(f"INSERT INTO {RAW_UNITS_TABLE} {RAW_SIGNATURES.format(where='')}")  # nosec B608

    def close(self) -> None:
        if self._con is not None:
            with contextlib.suppress(Exception):
                self._con.close()
        self._con = None
        self._writable = False

    def rebuild_catalog(self, reason: str) -> None:
        """Move a damaged or missing catalog aside and rebuild it from the refined and raw zones (and the
        compact copy from the rebuilt catalog)."""
        self._require_lock()
        self.close()
        path = self.catalog_path
        aside = None
        for suffix in ("", ".wal"):
            damaged = path.with_name(path.name + suffix)
            if damaged.exists():
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
                aside = damaged.with_name(f"{damaged.name}.damaged-{stamp}")
                os.replace(damaged, aside)
        moved = f"; the old file is kept as {aside.name}" if aside else ""
        self.notify(f"the catalog was {reason}: rebuilding it from refined/ and raw/{moved}")
        con = self.connection(write=True, rebuilding=True)
        for dataset in datasets.ALL.values():
            files = self.refined_files(dataset)
            if files:
                self._read_refined(con, dataset, files, "rebuilt")
                con.execute(f'INSERT INTO "{self.tables[dataset.name]}" BY NAME SELECT * FROM rebuilt')  # nosec B608
            for unit in sorted({self._unit_of(dataset, f) for f in files} - {None}, key=str):
                assert unit is not None
                raw = self.raw_files(unit)
                signature = unit_signature([(f.key, self._sha_of(con, f, refresh=False)) for f in raw])
                rows = con.execute(
                    f'SELECT count(*) FROM "{self.tables[dataset.name]}" WHERE "{dataset.unit_key}" = ?',  # nosec B608
                    [unit.value],
                ).fetchall()[0][0]
                self._record_unit(con, unit, signature, len(raw), int(rows))
        for raw_file in self.list_raw():
            self._sha_of(con, raw_file, refresh=False)
        with _atomic(con):  # every unit's raw signature at once
            con.execute(f"DELETE FROM {RAW_UNITS_TABLE}")  # nosec B608 - a constant
            con.execute(f"INSERT INTO {RAW_UNITS_TABLE} {RAW_SIGNATURES.format(where='')}")  # nosec B608
        self.rebuild_compact(self.stale_months())  # every month: the catalog has no record of any

    # -- inventory ---------------------------------------------------------------------------------

    def list_raw(self, dataset: Dataset | None = None) -> list[RawFile]:
        """Every raw file on disk (of ``dataset``, or of all): a full listing, for verify and rebuilds."""
        out = []
        for d in [dataset] if dataset else datasets.ALL.values():
            base = self.root / d.raw_prefix
            if not base.is_dir():
                continue
            for unit_dir in sorted(base.iterdir()):
                if not unit_dir.is_dir() or not unit_dir.name.startswith(f"{d.unit_key}="):
                    continue
                value = unit_dir.name.split("=", 1)[1]
                if d.valid_unit(value):
                    out.extend(self.raw_files(Unit(d.name, value)))
        return out

    def raw_files(self, unit: Unit) -> list[RawFile]:
        """The raw files of ``unit`` on disk, sorted by key."""
        dataset = unit.spec
        prefix = dataset.raw_unit_prefix(unit)
        folder = self.root / prefix
        if not folder.is_dir():
            return []
        out = []
        for path in sorted(folder.rglob("*")):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and not path.name.startswith(".") and dataset.parse_raw_key(key):
                st = path.stat()
                out.append(RawFile(key, path, st.st_size, st.st_mtime_ns))
        return out

    def refined_files(self, dataset: Dataset) -> list[Path]:
        base = self.root / dataset.refined_prefix
        if not base.is_dir():
            return []
        return sorted(
            p
            for p in base.rglob("*.parquet")
            if not any(part.startswith(".") for part in p.relative_to(base).parts)
        )

    @staticmethod
    def _unit_of(dataset: Dataset, refined_file: Path) -> Unit | None:
        for part in refined_file.parts:
            if part.startswith(f"{dataset.unit_key}="):
                value = part.split("=", 1)[1]
                return Unit(dataset.name, value) if dataset.valid_unit(value) else None
        return None

    def sha_of(self, con: Any, f: RawFile) -> str:
        """The file's sha256, from the inventory when its size and mtime match, else read (not recorded)."""
        found = con.execute(
            "SELECT sha256 FROM ibov_raw_files WHERE key = ? AND size = ? AND mtime_ns = ?",
            [f.key, f.size, f.mtime_ns],
        ).fetchall()  # fetchall, not fetchone: no unfinished result left on the connection
        return str(found[0][0]) if found else _sha256_file(f.path)

    def _sha_of(
        self, con: Any, f: RawFile, *, rows: int | None = None, sha: str | None = None, refresh: bool = True
    ) -> str:
        """The file's sha256 from the inventory when its size and mtime still match, else computed
        (and recorded; with ``refresh=False`` the caller refreshes ``ibov_raw_units`` itself)."""
        if sha is None:
            found = con.execute(
                "SELECT sha256 FROM ibov_raw_files WHERE key = ? AND size = ? AND mtime_ns = ?",
                [f.key, f.size, f.mtime_ns],
            ).fetchall()
            if found:
                return str(found[0][0])
            sha = _sha256_file(f.path)
        self._record_files(con, [(f, sha, _parquet_rows(f.path) if rows is None else rows)], refresh=refresh)
        return sha

    @staticmethod
    def _record_files(con: Any, files: Sequence[tuple[RawFile, str, int]], *, refresh: bool = True) -> None:
        """Put ``(file, sha256, rows)`` in the inventory and their units' raw signatures, in one catalog
        transaction (``refresh=False``: the caller refreshes ``ibov_raw_units`` itself)."""
        values = []
        now = datetime.now(UTC)
        for f, sha, rows in files:
            parsed = datasets.parse_raw_key(f.key)
            assert parsed is not None
            index = parsed.parts.get("index") or (
                parsed.unit.value if parsed.dataset.unit_key == "index_code" else None
            )
            label = parsed.parts.get("year") or parsed.parts.get("label") or parsed.unit.value
            unit = parsed.unit
            values.append((f.key, unit.dataset, unit.value, index, label, f.size, f.mtime_ns, sha, rows, now))
        if values:
            marks = ", ".join("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" for _ in values)
            with _atomic(con):
                con.execute(
                    f"INSERT OR REPLACE INTO ibov_raw_files VALUES {marks}",  # nosec B608 - placeholders only
                    [v for row in values for v in row],
                )
                if refresh:
                    _refresh_raw_units(con, [(v[1], v[2]) for v in values])

    def record_writes(self, writes: Sequence[RawWrite]) -> None:
        """Put freshly published raw files in the inventory (their contents are known: no re-read)."""
        con = self.connection(write=True)
        files = []
        for w in writes:
            path = self.root / w.key
            st = path.stat()
            files.append((RawFile(w.key, path, st.st_size, st.st_mtime_ns), w.sha256, w.rows))
        self._record_files(con, files)

    def _record_unit(self, con: Any, unit: Unit, signature: str, files: int, rows: int) -> None:
        self._record_units(con, [(unit, signature, files, rows)])

    def _record_units(self, con: Any, records: Sequence[tuple[Unit, str, int, int]]) -> None:
        """What each unit was refined from (signature, raw files) and its rows; a unit without raw files
        is forgotten."""
        gone = [u for u, _sig, files, _rows in records if files == 0]
        kept = [(u.dataset, u.value, sig, files, rows) for u, sig, files, rows in records if files]
        for u in gone:
            con.execute("DELETE FROM ibov_units WHERE dataset = ? AND unit = ?", [u.dataset, u.value])
        if kept:
            now = datetime.now(UTC)
            values = ", ".join("(?, ?, ?, ?, ?, ?)" for _ in kept)
            con.execute(
                f"INSERT OR REPLACE INTO ibov_units VALUES {values}",  # nosec B608 - placeholders only
                [v for row in kept for v in (*row, now)],
            )

    def stale_units(self) -> list[Unit]:
        """Units whose raw files changed since their refine (or were never refined), from the inventory:
        one query, the signatures computed by DuckDB as :func:`unit_signature` computes them."""
        import duckdb

        con = self._con if self._con is not None else self.connection()
        empty = unit_signature([])
        try:
            rows = con.execute(_STALE.format(raw=RAW_UNITS_TABLE), [empty]).fetchall()
        except duckdb.CatalogException:  # a catalog from before the table, opened read-only: hash them all
            every = f"({RAW_SIGNATURES.format(where='')})"
            rows = con.execute(_STALE.format(raw=every), [empty]).fetchall()
        out = [Unit(dataset, value) for dataset, value in rows if dataset in datasets.ALL]
        return sorted(out, key=lambda u: (list(datasets.ALL).index(u.dataset), u.value))

    def heal(self) -> list[RefineResult]:
        """Refine every unit whose raw files changed since its last refine, then rebuild every compact
        month left stale (a killed writer, a rebuilt catalog). Call under :meth:`lock`."""
        out = self.refine_many(
            self.stale_units(),
            lambda batch: self.notify(
                f"refining {_units_text(batch)} (raw files changed since the last refine)"
            ),
        )
        months = self.stale_months()
        if months:
            shown = months[0] if len(months) == 1 else f"{months[0]}..{months[-1]} ({len(months)} months)"
            self.notify(f"rebuilding the compact copy of {shown} (its days changed since it was built)")
            self.rebuild_compact(months)
        return out

    # -- the compact serving copy (datasets.COMPACT) --------------------------------------------

    def month_signatures(self, con: Any) -> dict[str, str]:
        """What each month's compact files must be built from: a hash of the month's portfolio units and
        their refine signatures (the inventory's ``ibov_units``)."""
        spec = datasets.COMPACT
        found: dict[str, list[str]] = {}
        for unit, signature in con.execute(
            "SELECT unit, refined_signature FROM ibov_units WHERE dataset = ? ORDER BY unit",
            [spec.source.name],
        ).fetchall():
            found.setdefault(spec.month_of(unit), []).append(f"{unit}\t{signature}\n")
        return {m: hashlib.sha256("".join(lines).encode()).hexdigest() for m, lines in found.items()}

    def stale_months(self) -> list[str]:
        """Months whose compact files were not built from the month's current units (or are left over
        from units that are gone)."""
        import duckdb

        con = self._con if self._con is not None else self.connection()
        want = self.month_signatures(con)
        try:
            have = dict(con.execute("SELECT month, signature FROM ibov_compact_months").fetchall())
        except duckdb.CatalogException:  # a catalog from before the compact copy, read-only: none built
            have = {}
        return sorted(m for m in set(want) | set(have) if want.get(m) != have.get(m))

    def rebuild_compact(self, months: Sequence[str]) -> None:
        """Rebuild the compact files of ``months`` from the catalog, :data:`COMPACT_BATCH_MONTHS` months
        per catalog transaction (memory stays bounded on a first build of a long history). Call under
        :meth:`lock`."""
        ordered = sorted(set(months))
        for i in range(0, len(ordered), COMPACT_BATCH_MONTHS):
            self._rebuild_compact(ordered[i : i + COMPACT_BATCH_MONTHS])

    def _rebuild_compact(self, months: Sequence[str]) -> None:
        con = self.connection(write=True)
        try:
            with _swapping(con) as (undo, staging):
                self._compact_into(con, months, undo, staging)
        except OSError as exc:
            raise lake_error(exc, self.root, "rebuilding the compact copy", PENDING) from None

    def _compact_into(
        self, con: Any, months: Sequence[str], undo: list[Callable[[], None]], staging: list[Path]
    ) -> None:
        """Inside the caller's transaction: write the compact files of ``months`` (every index) from the
        portfolio table as it stands in the transaction, record each month's signature and rows, and
        swap the month folders in (a month left without rows loses its folder); ``undo`` gets how to
        swap each back, ``staging`` the folder to remove afterwards."""
        spec = datasets.COMPACT
        months = sorted(set(months))
        if not months:
            return
        folders = {m: spec.month_folder(m) for m in months}  # validates each month: they are inlined below
        root = self.root / spec.prefix
        root.mkdir(parents=True, exist_ok=True)
        work = self.root / WRITING_DIR / f"{STAGING_PREFIX}{spec.name}-{uuid.uuid4().hex}"
        work.mkdir(parents=True)
        staging.append(work)
        table = self.tables[spec.source.name]
        wanted = ", ".join(sql_str(m) for m in months)
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {spec.INPUT_VIEW} AS "  # nosec B608 - validated months
            f'SELECT * FROM "{table}" WHERE {spec.MONTH_SQL} IN ({wanted})'
        )
        try:
            rows = con.sql(spec.sql()).to_arrow_table()  # sorted by month and index, as partfiles needs
            counted = f"SELECT {spec.MONTH_SQL}, count(*) FROM {spec.INPUT_VIEW} GROUP BY 1"  # nosec B608
            counts = {str(m): int(n) for m, n in con.execute(counted).fetchall()}
        finally:
            con.execute(f"DROP VIEW IF EXISTS {spec.INPUT_VIEW}")
        partfiles.write(rows, work, spec.partition_names)
        signatures = self.month_signatures(con)
        now = datetime.now(UTC)
        for month in months:
            if month in signatures:
                con.execute(
                    "INSERT OR REPLACE INTO ibov_compact_months VALUES (?, ?, ?, ?)",
                    [month, signatures[month], counts.get(month, 0), now],
                )
            else:
                con.execute("DELETE FROM ibov_compact_months WHERE month = ?", [month])
        for folder in folders.values():
            undo.append(_swap_folder(work / folder, root / folder, work / f".old-{folder}"))

    def refine_many(
        self, units: Sequence[Unit], say: Callable[[Sequence[Unit]], None] = lambda _batch: None
    ) -> list[RefineResult]:
        """:meth:`refine_units` over any units, in batches: consecutive units of one dataset, at most
        :data:`BATCH_UNITS` of them and :data:`BATCH_RAW_BYTES` of raw files (memory stays bounded); ``say``
        is told each batch before it runs. Call under :meth:`lock`."""
        out: list[RefineResult] = []
        batch: list[Unit] = []
        size = 0

        def flush() -> None:
            if batch:
                say(batch)
                out.extend(self.refine_units(batch))
                batch.clear()

        for unit in dict.fromkeys(units):  # each unit once, in the order given
            unit_size = sum(f.size for f in self.raw_files(unit))
            if batch and (
                unit.dataset != batch[0].dataset
                or len(batch) >= BATCH_UNITS
                or size + unit_size > BATCH_RAW_BYTES
            ):
                flush()
                size = 0
            batch.append(unit)
            size += unit_size
        flush()
        return out

    # -- refine ----------------------------------------------------------------------------------

    def refine(self, unit: Unit) -> RefineResult:
        """Recompute the unit's refined folder and catalog rows from its raw files. Call under :meth:`lock`.

        Idempotent; other units are untouched. Raw files that vanished make the unit's rows vanish too.
        """
        return self.refine_units([unit])[0]

    def refine_units(self, units: Sequence[Unit]) -> list[RefineResult]:
        """:meth:`refine` of several units of one dataset in one pass: one read of their raw files, one
        run of the refine SQL (every grouping in it is per unit), one write of their partitions and one
        catalog transaction, all or nothing. Call under :meth:`lock`."""
        import duckdb

        started = time.monotonic()
        dataset = units[0].spec
        if any(u.spec is not dataset for u in units) or len(set(units)) != len(units):
            raise ValueError("refine_units takes distinct units of one dataset")
        con = self.connection(write=True)
        raw = {u: self.raw_files(u) for u in units}
        shas = self._shas(con, [f for files in raw.values() for f in files])
        signatures = {u: unit_signature([(f.key, shas[f.key]) for f in files]) for u, files in raw.items()}
        damaged = {
            u: [(f.key, why) for f in files if (why := damage(f.path, dataset))] for u, files in raw.items()
        }
        for unit, found in damaged.items():
            for key, why in found:
                self.notify(f"left out of {unit}: {key} cannot be read ({why}); `ibov verify` lists it")
        (self.root / dataset.refined_prefix).mkdir(parents=True, exist_ok=True)
        staging = self.root / WRITING_DIR / f"{STAGING_PREFIX}{dataset.name}-{uuid.uuid4().hex}"
        staging.mkdir(parents=True)
        counted: dict[Unit, tuple[int, tuple[str, ...]]] = {}
        try:
            for shim in DUCKDB_SHIMS:
                con.execute(shim)
            tables = []
            for unit, files in raw.items():
                readable = [f.path for f in files if f.key not in dict(damaged[unit])]
                if readable:
                    table = read_files(readable)
                    tables.append(table.append_column(UNIT_COLUMN, _repeat(unit.value, table.num_rows)))
            if tables:
                counted = self._refine_rows(con, dataset, tables, staging)
            self._install(con, dataset, list(raw), staging, bool(tables), signatures, raw)
        except duckdb.InterruptException:
            raise Interrupted("SIGINT", 130) from None
        except duckdb.Error as exc:
            what = _units_text(units)
            if "no space left" in str(exc).lower():
                raise lake_error(
                    OSError(28, "No space left on device"), self.root, f"refining {what}", PENDING
                ) from None
            raise JobFailed(f"refining {what} failed: {_first_line(exc)}") from exc
        except OSError as exc:
            raise lake_error(exc, self.root, f"refining {_units_text(units)}", PENDING) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            with contextlib.suppress(OSError):
                staging.parent.rmdir()  # only when empty
            with contextlib.suppress(Exception):
                con.execute("DROP TABLE IF EXISTS refined_units")
            with contextlib.suppress(Exception):
                con.execute("DROP VIEW IF EXISTS raw_rows")
            with contextlib.suppress(Exception):
                con.unregister("raw_tagged")
        seconds = (time.monotonic() - started) / len(units)
        return [RefineResult(u, *counted.get(u, (0, ())), seconds, damaged=tuple(damaged[u])) for u in units]

    def _refine_rows(
        self, con: Any, dataset: Dataset, tables: Sequence[Any], staging: Path
    ) -> dict[Unit, tuple[int, tuple[str, ...]]]:
        """Run the refine SQL over the tagged raw rows into the temp table ``refined_units`` and write
        its partitions under ``staging``; each unit's rows and indices."""
        import pyarrow as pa

        con.register("raw_tagged", pa.concat_tables(tables, promote_options="default"))
        untagged = f"SELECT * EXCLUDE ({UNIT_COLUMN}) FROM raw_tagged"  # nosec B608
        con.execute(f"CREATE OR REPLACE TEMP VIEW raw_rows AS {untagged}")
        self._check_units(con, dataset)
        con.execute(f"CREATE OR REPLACE TEMP TABLE refined_units AS {dataset.sql()}")  # nosec B608
        con.execute("DROP VIEW raw_rows")
        con.unregister("raw_tagged")
        if any(c.name == "sector" for c in dataset.columns):
            self._say_unknown_sectors(con)
        order = ", ".join(
            f'"{c}"' for c in (*dataset.partition_names, *(c.name for c in dataset.refined_columns))
        )
        ordered = con.sql(f"SELECT * FROM refined_units ORDER BY {order}")  # nosec B608 - declared columns
        partfiles.write(ordered.to_arrow_table(), staging, dataset.partition_names)
        indices_sql = (
            "list(DISTINCT index_code ORDER BY index_code)" if _index_column(dataset) != "''" else "[]"
        )
        key = dataset.unit_key
        found = con.execute(
            f'SELECT CAST("{key}" AS VARCHAR), count(*), {indices_sql} FROM refined_units GROUP BY 1'  # nosec B608
        ).fetchall()
        return {Unit(dataset.name, str(v)): (int(n), tuple(i or ())) for v, n, i in found}

    def _shas(self, con: Any, files: Sequence[RawFile]) -> dict[str, str]:
        """Each file's sha256: from the inventory (one query) when its size and mtime match, else read
        and recorded."""
        known = {
            k: str(sha)
            for k, size, mtime, sha in con.execute(
                "SELECT key, size, mtime_ns, sha256 FROM ibov_raw_files WHERE key IN (SELECT unnest(?))",
                [[f.key for f in files]],
            ).fetchall()
            if any(f.key == k and f.size == size and f.mtime_ns == mtime for f in files)
        }
        return {f.key: known.get(f.key) or self._sha_of(con, f) for f in files}

    def _say_unknown_sectors(self, con: Any) -> None:
        """One line per index when some tickers have no known sector (see ibovcli/sectors.py)."""
        found = con.execute(
            "SELECT index_code, list(DISTINCT ticker ORDER BY ticker), list(DISTINCT dt ORDER BY dt) "
            "FROM refined_units WHERE sector IS NULL GROUP BY index_code ORDER BY index_code"
        ).fetchall()
        for index, tickers, days in found:
            shown = ", ".join(tickers[:8]) + (f" and {len(tickers) - 8} more" if len(tickers) > 8 else "")
            when = days[0] if len(days) == 1 else f"{len(days)} days ({days[0]}..{days[-1]})"
            self.notify(
                f"no sector known for {len(tickers)} {index} tickers of {when}: {shown} "
                "(not in that day's B3 answers nor in ibov's sector table; B3's live answers carry them)"
            )

    def install_refined(self, unit: Unit, staging: Path) -> int:
        """Make the unit's refined folder and catalog rows those written under ``staging/<unit folder>``
        by another engine (the Glue job's local mode). Call under :meth:`lock`. Returns the rows."""
        dataset = unit.spec
        con = self.connection(write=True)
        raw = self.raw_files(unit)
        signature = unit_signature([(f.key, self._sha_of(con, f)) for f in raw])
        files = sorted((staging / unit.folder).rglob("*.parquet"))
        if raw and not files:
            raise JobFailed(f"nothing was staged for {unit}, which has raw files: refusing to empty it")
        if files:
            self._read_refined(con, dataset, files, "refined_units", hive_root=staging)
            others = con.execute(
                f'SELECT list(DISTINCT CAST("{dataset.unit_key}" AS VARCHAR)) FROM refined_units '  # nosec B608
                f'WHERE CAST("{dataset.unit_key}" AS VARCHAR) IS DISTINCT FROM ?',
                [unit.value],
            ).fetchall()[0][0]
            if others:
                raise JobFailed(f"the rows staged for {unit} hold {dataset.unit_key}={', '.join(others)}")
        try:
            self._install(con, dataset, [unit], staging, bool(files), {unit: signature}, {unit: raw})
            rows = con.execute(
                f'SELECT count(*) FROM "{self.tables[dataset.name]}" WHERE "{dataset.unit_key}" = ?',  # nosec B608
                [unit.value],
            ).fetchall()[0][0]
        finally:
            con.execute("DROP TABLE IF EXISTS refined_units")
        return int(rows)

    def _read_refined(
        self, con: Any, dataset: Dataset, files: Sequence[Path], name: str, hive_root: Path | None = None
    ) -> None:
        base = hive_root if hive_root is not None else self.root / dataset.refined_prefix
        con.register(f"{name}_arrow", read_files(files, base=base, partitions=dataset.partitions))
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")  # nosec B608
        con.unregister(f"{name}_arrow")

    def _check_units(self, con: Any, dataset: Dataset) -> None:
        """Every raw row must belong to its file's unit: a raw file holding another day's rows is refused."""
        column = dataset.unit_column
        wrong = con.execute(
            f'SELECT {UNIT_COLUMN}, list(DISTINCT CAST("{column}" AS VARCHAR)) FROM raw_tagged '  # nosec B608
            f'WHERE CAST("{column}" AS VARCHAR) IS DISTINCT FROM {UNIT_COLUMN} GROUP BY 1 ORDER BY 1 LIMIT 1'
        ).fetchall()
        if wrong:
            value, others = wrong[0]
            raise JobFailed(
                f"raw files under {dataset.unit(value).folder} hold rows for "
                f"{dataset.unit_key}={', '.join(map(str, others))}",
                hint="A raw file's rows must match its folder; store that snapshot again.",
            )

    def _install(
        self,
        con: Any,
        dataset: Dataset,
        units: Sequence[Unit],
        staging: Path,
        has_rows: bool,
        signatures: dict[Unit, str],
        raw: dict[Unit, list[RawFile]],
    ) -> None:
        """In one catalog transaction: the units' rows become those of the temp table ``refined_units``,
        the inventory records the refine, the staged folders are swapped in, and so are the rebuilt compact
        files of every month the units touch (for the portfolio); if anything fails, the old folders are
        swapped back and the transaction rolled back (:func:`_swapping`)."""
        table = self.tables[dataset.name]
        key = dataset.unit_key
        key_type = schema.duckdb_type(dataset.partitions[0].type)
        with _swapping(con) as (undo, compact_staging):
            con.execute(
                f'DELETE FROM "{table}" WHERE "{key}" IN (SELECT CAST(unnest(?) AS {key_type}))',  # nosec B608
                [[u.value for u in units]],
            )
            if has_rows:
                con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM refined_units')  # nosec B608
            counts = dict(
                con.execute(
                    f'SELECT CAST("{key}" AS VARCHAR), count(*) FROM refined_units GROUP BY 1'  # nosec B608
                ).fetchall()
                if has_rows
                else []
            )
            self._record_units(
                con, [(u, signatures[u], len(raw[u]), int(counts.get(u.value, 0))) for u in units]
            )
            for unit in units:
                undo.append(self._swap(staging, unit))
            if dataset is datasets.COMPACT.source:  # every month touched, once per batch
                months = {datasets.COMPACT.month_of(u.value) for u in units}
                self._compact_into(con, sorted(months), undo, compact_staging)

    def _swap(self, staging: Path, unit: Unit) -> Callable[[], None]:
        """Put ``staging/<unit folder>`` in place of the unit's refined folder; returns how to undo it."""
        target = self.root / unit.spec.refined_unit_prefix(unit)
        return _swap_folder(staging / unit.folder, target, staging / f".old-{unit.folder}")

    # -- reading ---------------------------------------------------------------------------------

    def query(
        self, sql: str, params: dict[str, Any] | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run read-only SQL on the catalog; column names and rows."""
        import duckdb

        con = self._con if self._con is not None else self.connection()
        try:
            cur = con.execute(sql, params or {})
            columns = [d[0] for d in cur.description]
            return columns, cur.fetchall()
        except duckdb.InterruptException:
            raise Interrupted("SIGINT", 130) from None
        except duckdb.Error as exc:
            if _damaged_file(exc):
                raise CatalogDamaged(f"{self.catalog_path} is damaged: {_first_line(exc)}") from None
            raise QueryFailed(f"the query failed on DuckDB: {_first_line(exc)}") from exc

    # -- run log ---------------------------------------------------------------------------------

    def log_run(self, record: RunRecord) -> None:
        path = self.root / RUN_LOG
        if not self.root.is_dir():
            return  # a command that failed before the lake existed leaves no lake behind
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record.as_json(), default=str, sort_keys=True) + "\n"
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def runs(self, last: int = 10) -> list[RunRecord]:
        """The last ``last`` runs, read from the log's end: the last 256 KB, then a window four times
        larger until it holds ``last`` runs (a run of 34 indices logs ~40 KB), at most 16 MB; damaged
        lines are skipped."""
        path = self.root / RUN_LOG
        window = RUN_LOG_TAIL_BYTES
        try:
            with open(path, "rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                while True:
                    fh.seek(max(0, size - window))
                    by_run = _runs_in(fh.read(), cut=size > window)
                    if len(by_run) >= last or window >= min(size, RUN_LOG_MAX_BYTES):
                        break
                    window *= 4
        except OSError:
            return []
        return [_crashed_if_gone(r) for r in list(by_run.values())[-last:]]


def _runs_in(tail: bytes, *, cut: bool) -> dict[str, RunRecord]:
    """Each run's last entry in ``tail`` (a piece of the run log's end; ``cut``: its first line is
    probably cut), in the order of their last writes."""
    lines = tail.splitlines()
    if cut:
        lines = lines[1:]
    by_run: dict[str, RunRecord] = {}
    for line in lines:
        try:
            entry = json.loads(line)
        except (ValueError, UnicodeDecodeError, RecursionError):
            continue  # a damaged line (a crash mid-write, a hand edit) is skipped
        if isinstance(entry, dict) and "command" in entry:
            record = _record(entry)
            key = record.run_id or f"#{len(by_run)}"
            by_run.pop(key, None)  # the run's last entry wins, in the order of its last write
            by_run[key] = record
    return by_run


def _record(entry: dict[str, Any]) -> RunRecord:
    known = {"started_at", "command", "state", "duration_s", "error", "run_id"}
    return RunRecord(
        started_at=str(entry.get("started_at", "")),
        command=str(entry.get("command", "")),
        state=str(entry.get("state", "")),
        duration_s=entry.get("duration_s"),
        error=entry.get("error"),
        run_id=str(entry.get("run_id", "")),
        details={k: v for k, v in entry.items() if k not in known},
    )


def _index_column(dataset: Dataset) -> str:
    """SQL for a row's index code: its ``index_code`` column, or ``''`` for a dataset not split by
    index (quotes)."""
    return "index_code" if "index_code" in {c.name for c in dataset.columns} else "''"


def _rows_by_index(con: Any, files: Sequence[Path], dataset: Dataset, *, raw: bool) -> dict[str, int]:
    """Rows per index code in ``files`` (its ``index_code`` column, or the path when it is a partition)."""
    if not files:
        return {}
    columns = {c.name for c in (dataset.raw_columns if raw else dataset.refined_columns)}
    if "index_code" not in columns:
        import pyarrow.parquet as pq

        out: dict[str, int] = {}
        for f in files:
            index = next((p.split("=", 1)[1] for p in f.parts if p.startswith("index_code=")), "")
            out[index] = out.get(index, 0) + pq.read_metadata(f).num_rows
        return out
    import pyarrow.parquet as pq

    counts: dict[str, int] = {}
    for f in files:
        with open(f, "rb") as fh:
            for value in pq.read_table(fh, columns=["index_code"]).column("index_code").to_pylist():
                counts[str(value)] = counts.get(str(value), 0) + 1
    return counts


def _is_damage(exc: BaseException) -> bool:
    """Whether ``exc`` says the catalog file is damaged."""
    import duckdb

    return isinstance(exc, CatalogDamaged) or (isinstance(exc, duckdb.Error) and _damaged_file(exc))


def _damaged_file(exc: BaseException) -> bool:
    """Whether a DuckDB error says its database file is damaged (not that the SQL is wrong)."""
    text = str(exc).lower()
    return any(
        marker in text
        for marker in (
            "could not read enough bytes",
            "corrupt",
            "checksum",
            "not a valid duckdb",
            "invalid block",
        )
    )


def _crashed_if_gone(record: RunRecord) -> RunRecord:
    """A ``running`` entry whose process is gone ended without a word: it crashed (or was killed)."""
    pid = record.details.get("pid")
    if record.state != "running" or not isinstance(pid, int) or _alive(pid):
        return record
    return RunRecord(
        record.started_at,
        record.command,
        "crashed",
        None,
        "the process ended without finishing (killed, or the machine stopped); nothing partial is "
        "visible: the next write rolled back or refined what it left",
        record.run_id,
        record.details,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def lake_error(exc: OSError, root: Path, doing: str, after: str = "nothing was changed") -> ConfigError:
    """What a failed file operation in the lake means for the user (exit 3), and what to do."""
    import errno

    reason = exc.strerror or type(exc).__name__
    hints = {
        errno.ENOSPC: "Free some space, or move the lake elsewhere with --lake, and run again.",
        errno.EDQUOT: "Free some space (disk quota), or move the lake elsewhere with --lake.",
        errno.EROFS: "The lake is on a read-only file system: point --lake at a writable directory.",
        errno.EACCES: "The lake must be writable by you: check its permissions, or use another --lake.",
        errno.EPERM: "The lake must be writable by you: check its permissions, or use another --lake.",
        errno.EISDIR: "A folder stands where ibov writes a file: move it out of the lake.",
        errno.ENOTDIR: "A file stands where ibov needs a folder: move it out of the lake.",
    }
    hint = hints.get(exc.errno or 0, "Check the lake directory and run again.")
    return ConfigError(f"{doing} in the lake {root} failed: {reason}; {after}", hint=hint)


def damage(path: Path, dataset: Dataset) -> str:
    """Why the raw file at ``path`` cannot be refined (not parquet, truncated, columns missing), or ``''``."""
    import pyarrow.parquet as pq

    try:
        names = set(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow raises several kinds for a damaged file
        return _first_line(exc)
    missing = [c.name for c in dataset.raw_columns if c.name not in names]
    return f"no column {', '.join(missing)}" if missing else ""


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    try:
        return int(pq.read_metadata(path).num_rows)
    except Exception:  # a damaged raw file: the refine will report it
        return -1


class CatalogDamaged(IbovError):
    """The catalog file cannot be read (truncated, not a DuckDB file): it is rebuilt."""


class CatalogMissing(CatalogDamaged):
    """The catalog file is gone while the zones hold data: it is rebuilt."""


class LocalEngine:
    """The :class:`~ibovcli.engines.base.Engine` on a local lake: the trigger decision runs in-process."""

    name = "local"
    bucket = "local"
    triggers_in_process = True

    def __init__(self, settings: Settings, notify: Notify = quiet) -> None:
        self.settings = settings
        self.notify = notify
        self.lake = LocalLake(
            settings.lake_dir,
            tables=datasets.tables(settings.table),
            lock_timeout=settings.lock_timeout,
            notify=notify,
        )
        #: units refined while taking the lock because their raw files had changed (crash, signal...)
        self.healed: list[RefineResult] = []

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """The writer lock; on taking it, a damaged catalog is rebuilt and stale units are refined."""
        with self.lake.lock():
            if not self.lake._writable:  # first time in this command: check and heal the lake
                try:
                    self.lake.connection(write=True)
                    self.healed += self.lake.heal()
                except CatalogMissing:
                    self.lake.rebuild_catalog("missing")
                    self.healed += self.lake.heal()
                except Exception as exc:
                    if not _is_damage(exc):
                        raise
                    self.lake.rebuild_catalog(f"damaged ({_first_line(exc)})")
                    self.healed += self.lake.heal()
            yield

    def _recovering(self, read: Callable[[], T]) -> T:
        """``read()``; when it finds the catalog damaged (a bad page shows only when it is read), rebuild
        the catalog under the lock and read again."""
        try:
            return read()
        except Exception as exc:
            if not _is_damage(exc):
                raise
            self.lake.close()
            with self.lock():
                self.lake.rebuild_catalog(f"damaged ({_first_line(exc)})")
            self.lake.close()
            return read()

    def write_raw(self, writes: Sequence[RawWrite]) -> list[str]:
        with self.lock():
            self.lake.publish([(key, body) for w in writes for key, body, _ctype in w.files()])
            self.lake.record_writes(writes)
        return [w.key for w in writes]

    def remove(self, raw_keys: Sequence[str], *, dry_run: bool, notify: Notify) -> Removal:
        root = self.lake.root
        self.lake.require()

        def present() -> tuple[list[str], list[str], int]:
            keys = [k for raw in raw_keys for k in rawfiles.keys_of(raw) if (root / k).is_file()]
            raws = [k for k in keys if k in raw_keys]
            return keys, raws, sum(max(_parquet_rows(root / k), 0) for k in raws)

        if dry_run:
            keys, _raws, rows = present()
            return Removal(keys, rows)
        with self.lock():
            keys, raws, rows = present()
            out = Removal(keys, rows)
            if not keys:
                return out
            self.lake.publish([(k, None) for k in keys])
            for folder in sorted({(root / k).parent for k in keys}, reverse=True):
                with contextlib.suppress(OSError):  # a folder left empty goes too; a busy one stays
                    folder.rmdir()
            con = self.lake.connection(write=True)
            units = sorted({u.unit for k in raws if (u := datasets.parse_raw_key(k))}, key=str)
            with _atomic(con):
                for k in raws:
                    con.execute("DELETE FROM ibov_raw_files WHERE key = ?", [k])
                _refresh_raw_units(con, [(u.dataset, u.value) for u in units])
            for unit in units:
                notify(f"refining {unit}")
                result = self.lake.refine(unit)
                (out.refined.append(result) if self.lake.raw_files(unit) else out.cleared.append(unit))
            return out

    def is_stored(self, write: RawWrite) -> bool:
        """True when these original bytes are stored and the raw file made of them is intact: the
        snapshot holds the same bytes and the raw file reads back with their hash (a raw file damaged
        by hand is not "stored", so storing the same input again repairs it)."""
        snapshot, raw = self.lake.root / write.snapshot_key, self.lake.root / write.key
        try:
            if not (
                raw.is_file()
                and snapshot.stat().st_size == len(write.original)
                and snapshot.read_bytes() == write.original
            ):
                return False
            import pyarrow.parquet as pq

            hashes: list[str] = pq.read_table(raw, columns=["source_sha256"]).column(0).unique().to_pylist()
        except (OSError, ValueError, KeyError):  # pyarrow's ArrowInvalid is a ValueError
            return False
        return hashes == [hashlib.sha256(write.original).hexdigest()]

    def stored_units(self, dataset: str) -> dict[Unit, tuple[str, ...]]:
        return self._recovering(lambda: self._stored_units(dataset))

    def _stored_units(self, dataset: str) -> dict[Unit, tuple[str, ...]]:
        con = self._reader()
        rows = con.execute(
            "SELECT unit, list(DISTINCT index_code ORDER BY index_code) FROM ibov_raw_files "
            "WHERE dataset = ? GROUP BY unit ORDER BY unit",
            [dataset],
        ).fetchall()
        return {Unit(dataset, value): tuple(i for i in found if i) for value, found in rows}

    def process(self, keys: Sequence[str], notify: Notify) -> list[RefineResult]:
        return self.refine([r.unit for r in trigger.refine_requests(self.bucket, keys)], notify)

    def refine(self, units: Sequence[Unit], notify: Notify) -> list[RefineResult]:
        with self.lock():
            return self.lake.refine_many(units, lambda batch: notify(f"refining {_units_text(batch)}"))

    def _reader(self) -> Any:
        """The catalog connection for reading; a damaged or missing catalog is rebuilt first."""
        self.lake.require()
        try:
            return self.lake.connection()
        except CatalogDamaged:
            with self.lock():
                pass
            return self.lake.connection()

    def sql(
        self, statement: str, params: dict[str, Any], *, what: str, verbatim: bool = False
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        if verbatim:
            sql = queries.with_tables(statement, self.table_names())
            _one_read_only_statement(sql)
        else:  # saved queries and ibov's own reads: the portfolio with the compact copy's month column
            names = self.table_names()
            portfolio = datasets.COMPACT.source.name
            sql = queries.duckdb_statement(
                statement, {**names, portfolio: datasets.with_month(names[portfolio])}
            )

        def read() -> tuple[list[str], list[tuple[Any, ...]]]:
            self._reader()
            return self.lake.query(sql, params)

        return self._recovering(read)

    def table_names(self) -> dict[str, str]:
        """Every dataset's catalog table (what saved queries read locally: DuckDB's own storage), and
        the compact copy's view as ``${compact}``."""
        names = {name: f'"{table}"' for name, table in self.lake.tables.items()}
        return {**names, datasets.COMPACT.name: f'"{datasets.COMPACT.table}"'}

    def stored_days(self, dataset: str, index: str) -> list[str]:
        if datasets.get(dataset) is datasets.PORTFOLIO:
            sql = "SELECT DISTINCT dt FROM ${portfolio} WHERE index_code = :index ORDER BY dt"
        else:
            table = "${" + dataset + "}"
            sql = f"SELECT DISTINCT CAST(session_date AS VARCHAR) FROM {table} WHERE index_code = :index"  # nosec B608
            sql += " ORDER BY 1"
        _columns, rows = self.sql(sql, {"index": index}, what=f"the stored days of {index}")
        return [str(r[0]) for r in rows]

    def status(self) -> StatusReport:
        return self._recovering(self._status)

    def _status(self) -> StatusReport:
        """From the summary saved for the catalog's current state when there is one (no DuckDB: constant
        time), else read from the catalog and saved for the next ``status``."""
        saved = self.lake.saved_summary()
        if saved is None:
            self.lake.require()
            before = self.lake.catalog_state()

            def read() -> tuple[tuple[Coverage, ...], tuple[str, ...]]:
                self._reader()
                return self.lake.summary()

            saved = self._recovering(read)
            if self.lake.catalog_state() == before and self.lake.no_writer():
                self.lake.save_summary(saved, before)
        coverage, pending = saved
        return StatusReport(
            engine=self.name,
            location=str(self.lake.root),
            coverage=coverage,
            runs=tuple(self.lake.runs(10)),
            pending=pending,
        )

    def verify(self, notify: Notify) -> list[UnitCheck]:
        return self._recovering(lambda: self._verify(notify))

    def _verify(self, notify: Notify) -> list[UnitCheck]:
        """Every unit and index counted in raw/, refined/ and the catalog, with damaged raw files and
        units whose raw files changed since their refine (a full scan of the lake: it reads every raw
        file's footer and contents hash, and every refined file's index column)."""
        con = self._reader()
        refined_signatures = {
            (d, u): sig
            for d, u, sig in con.execute("SELECT dataset, unit, refined_signature FROM ibov_units").fetchall()
        }
        out: list[UnitCheck] = []
        for dataset in datasets.ALL.values():
            notify(f"verifying {dataset.name}")
            table = self.lake.tables[dataset.name]
            raw_rows: dict[tuple[str, str], int] = {}
            damaged: dict[str, list[tuple[str, str]]] = {}
            shas: dict[str, list[tuple[str, str]]] = {}
            for f in self.lake.list_raw(dataset):
                parsed = datasets.parse_raw_key(f.key)
                assert parsed is not None
                unit = parsed.unit.value
                shas.setdefault(unit, []).append((f.key, self.lake.sha_of(con, f)))
                why = damage(f.path, dataset)
                if why:
                    damaged.setdefault(unit, []).append((f.key, why))
                    continue
                for index, n in _rows_by_index(con, [f.path], dataset, raw=True).items():
                    raw_rows[(unit, index or parsed.index)] = (
                        raw_rows.get((unit, index or parsed.index), 0) + n
                    )
            refined_rows: dict[tuple[str, str], int] = {}
            for unit_dir in sorted((self.lake.root / dataset.refined_prefix).glob(f"{dataset.unit_key}=*")):
                unit = unit_dir.name.split("=", 1)[1]
                files = sorted(p for p in unit_dir.rglob("*.parquet") if not p.name.startswith("."))
                for index, n in _rows_by_index(con, files, dataset, raw=False).items():
                    refined_rows[(unit, index)] = n
            key = dataset.unit_key
            catalog_rows = {
                (str(u), str(i)): int(n)
                for u, i, n in con.execute(
                    f'SELECT CAST("{key}" AS VARCHAR), {_index_column(dataset)}, count(*) FROM "{table}" '  # nosec B608
                    "GROUP BY 1, 2"
                ).fetchall()
            }
            units = sorted(
                {u for u, _ in raw_rows}
                | {u for u, _ in refined_rows}
                | {u for u, _ in catalog_rows}
                | set(damaged)
            )
            for unit in units:
                stale = unit_signature(shas.get(unit, [])) != refined_signatures.get(
                    (dataset.name, unit), unit_signature([])
                )
                indices = sorted({i for u, i in (*raw_rows, *refined_rows, *catalog_rows) if u == unit}) or [
                    ""
                ]
                for index in indices:
                    out.append(
                        UnitCheck(
                            dataset.name,
                            f"{key}={unit}",
                            index,
                            raw_rows.get((unit, index), 0),
                            refined_rows.get((unit, index), 0),
                            catalog_rows.get((unit, index), 0),
                            tuple(damaged.get(unit, [])) if index == indices[0] else (),
                            stale,
                        )
                    )
        out.extend(self._verify_compact(con))
        return out

    def _verify_compact(self, con: Any) -> list[UnitCheck]:
        """Each month and index of the compact copy: the portfolio catalog's rows (its input, shown as
        both raw and catalog rows) against the rows of its files, and whether the month is stale."""
        spec = datasets.COMPACT
        table = self.lake.tables[spec.source.name]
        expected = {
            (str(m), str(i)): int(n)
            for m, i, n in con.execute(
                f'SELECT {spec.MONTH_SQL}, index_code, count(*) FROM "{table}" GROUP BY 1, 2'  # nosec B608
            ).fetchall()
        }
        found: dict[tuple[str, str], int] = {}
        root = self.lake.root / spec.prefix
        for f in sorted(root.glob("month=*/index_code=*/*.parquet")):
            key = (f.parent.parent.name.split("=", 1)[1], f.parent.name.split("=", 1)[1])
            found[key] = found.get(key, 0) + max(_parquet_rows(f), 0)  # a damaged file counts no rows
        return compact_checks(expected, found, frozenset(self.lake.stale_months()))

    def watch(self, notify: Notify) -> None:
        """Wait for the ibov command writing to the lake, if any, to finish."""
        self.lake.require()
        if self.lake.no_writer():
            notify("no ibov command is writing to the lake")
            return
        notify(f"an ibov command is writing to {self.lake.root}; waiting for it to finish")
        while not self.lake.no_writer():
            if self.lake.remaining() <= 0:
                raise LakeBusy(f"the lake {self.lake.root} is still being written")
            time.sleep(0.1)
        notify("it finished")

    def log_run(self, record: RunRecord) -> None:
        self.lake.log_run(record)

    def close(self) -> None:
        self.lake.close()


def _summary(lake: LocalLake) -> tuple[tuple[Coverage, ...], tuple[str, ...]]:
    """:meth:`LocalLake.summary`: the coverage from the inventory (calendar joined in SQL, see
    :func:`_day_coverage`) and the pending units."""
    con = lake.connection()
    levels = lake.tables[datasets.LEVELS.name]
    stale = lake.stale_units()
    compact = datasets.COMPACT
    months = lake.stale_months()
    pending = (*(str(u) for u in stale), *(f"{compact.name} {compact.month_folder(m)}" for m in months))
    coverage = _day_coverage(
        con, datasets.PORTFOLIO.name, [u.value for u in stale if u.dataset == "portfolio"]
    )
    raw_sessions = dict(
        con.execute(
            "SELECT index_code, sum(rows) FROM ibov_raw_files WHERE dataset = 'levels' GROUP BY 1"
        ).fetchall()
    )
    sessions = dict(
        con.execute(
            f'SELECT index_code, list(session_date ORDER BY session_date) FROM "{levels}" GROUP BY 1'  # nosec B608
        ).fetchall()
    )
    for index in sorted(set(raw_sessions) | set(sessions)):
        found = sessions.get(index) or []
        coverage.append(
            _coverage(
                "levels",
                index,
                found,
                len(found),
                stored=int(raw_sessions.get(index) or 0),
                unit="sessions",
            )
        )
    for name in datasets.ALL:
        if name in (datasets.PORTFOLIO.name, datasets.LEVELS.name):
            continue  # above, with their sessions
        found = con.execute(
            "SELECT coalesce(index_code, ''), list(label ORDER BY label), list(unit) FROM ibov_raw_files "
            "WHERE dataset = ? GROUP BY 1 ORDER BY 1",
            [name],
        ).fetchall()
        for index, labels, units in found:
            refined = sum(1 for u in units if Unit(name, u) not in stale)
            if datasets.get(name).unit_pattern == datasets.DAY_PATTERN and not index:
                # one unit per session (quotes): the B3 trading days missing in between, too
                quote_days = [date.fromisoformat(u) for u in units]
                coverage.append(_coverage(name, "", quote_days, refined, unit="sessions"))
                continue
            coverage.append(Coverage(name, index, labels[0], labels[-1], len(labels), refined, (), "files"))
    return tuple(coverage), pending


def _day_coverage(con: Any, dataset: str, stale: Sequence[str]) -> list[Coverage]:
    """Each index's days of a dataset stored by day (first, last, how many, how many refined, the B3
    trading days missing in between), from the inventory in two queries: the calendar is joined in
    SQL, so only the missing days reach Python (``status`` stays fast on a lake of many years and
    indices)."""
    from ibovcli.tradingdays import holidays_between

    spans = con.execute(
        """
        SELECT index_code, min(day), max(day), count(DISTINCT day),
            count(DISTINCT day) FILTER (WHERE unit NOT IN (SELECT unnest(?::VARCHAR[])))
        FROM (SELECT index_code, unit, CAST(label AS DATE) AS day FROM ibov_raw_files WHERE dataset = ?)
        GROUP BY 1 ORDER BY 1
        """,
        [list(stale), dataset],
    ).fetchall()
    if not spans:
        return []
    first, last = min(r[1] for r in spans), max(r[2] for r in spans)
    missing = dict(
        con.execute(
            """
            WITH days AS (
                SELECT DISTINCT index_code, CAST(label AS DATE) AS day FROM ibov_raw_files WHERE dataset = ?
            ),
            spans AS (SELECT index_code, min(day) AS first, max(day) AS last FROM days GROUP BY 1),
            calendar AS (
                SELECT CAST(t.d AS DATE) AS day
                FROM range(CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP) + INTERVAL 1 DAY, INTERVAL 1 DAY)
                    AS t(d)
                WHERE isodow(t.d) <= 5 AND CAST(t.d AS DATE) NOT IN (SELECT unnest(?::DATE[]))
            )
            SELECT s.index_code, list(CAST(c.day AS VARCHAR) ORDER BY c.day)
            FROM spans AS s
            JOIN calendar AS c ON c.day BETWEEN s.first AND s.last
            LEFT JOIN days AS d ON d.index_code = s.index_code AND d.day = c.day
            WHERE d.day IS NULL
            GROUP BY 1
            """,
            [dataset, first, last, holidays_between(first, last)],
        ).fetchall()
    )
    return [
        Coverage(dataset, index, a.isoformat(), b.isoformat(), n, refined, tuple(missing.get(index) or ()))
        for index, a, b, n, refined in spans
    ]


def _coverage(
    dataset: str,
    index: str,
    days: Sequence[date],
    refined: int,
    *,
    stored: int | None = None,
    unit: str = "days",
) -> Coverage:
    if not days:
        return Coverage(dataset, index, None, None, stored or 0, refined, (), unit)
    first, last = min(days), max(days)
    present = set(days)
    from ibovcli.tradingdays import trading_days  # computed once per span and command

    missing = tuple(d.isoformat() for d in trading_days(first, last) if d not in present)
    return Coverage(
        dataset,
        index,
        first.isoformat(),
        last.isoformat(),
        len(present) if stored is None else stored,
        refined,
        missing,
        unit,
    )
