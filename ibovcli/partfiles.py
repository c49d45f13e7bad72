"""Hive-partitioned parquet files of an Arrow table, written fast: the local refine's file writer.

A portfolio day is one file per ticker (``dt=/ticker=``, as the rules ask): 80-90 files of one or a few
rows, so what a refine of many days costs is parquet's fixed per-file work (footer, column chunks), not
the rows. :func:`write` spreads the files over the machine's cores: threads for a few thousand files
(parquet encoding runs outside the GIL), worker processes above that (the Python around each file
holds the GIL; see :func:`_in_processes`). Each file is encoded in memory and written with one system
call (pyarrow's file sink makes about 80 writes and 40 seeks per small file).

Imports only the standard library at module level: worker processes start from this module.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: The file name in each partition folder (what DuckDB's ``FILENAME_PATTERN 'part-{i}'`` gives).
FILE_NAME = "part-0.parquet"
#: Parallel writers (threads or processes).
WORKERS = max(1, min(4, os.cpu_count() or 1))
#: From this many files on, worker processes write them (below, starting them costs more than it saves).
PROCESS_FILES = 4096

#: Files of at most this many rows (a portfolio day's ticker: one row per index holding it) are written
#: without column statistics or dictionary pages.
SMALL_FILE_ROWS = 64

#: (folder, first row, rows) of each file
Group = tuple[str, int, int]


def write(table: Any, root: Path, partitions: Sequence[str]) -> int:
    """Write ``table``, whose rows are sorted by ``partitions``, under ``root`` as
    ``<p1>=<v1>/<p2>=<v2>/part-0.parquet``: one snappy file per distinct value of ``partitions`` holding
    the other columns, rows in table order (as Spark and Athena lay out hive partitions). ``root`` may
    exist; no partition folder may (rows not sorted by ``partitions`` fail on that). Returns the number
    of files."""
    if table.num_rows == 0:
        return 0
    # str() of Arrow's Python values: dates in ISO form, numbers and text as they are (no pyarrow.compute,
    # whose import costs a one-day refine ~80 ms)
    keys = list(zip(*([str(v) for v in table.column(p).to_pylist()] for p in partitions), strict=True))
    data = table.drop_columns(list(partitions))
    groups: list[Group] = []
    start = 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            parts = (f"{p}={v}" for p, v in zip(partitions, keys[start], strict=True))
            groups.append((os.path.join(root, *parts), start, i - start))
            start = i
    for parent in sorted({os.path.dirname(folder) for folder, _, _ in groups}):
        os.makedirs(parent, exist_ok=True)
    shares = [groups[i::WORKERS] for i in range(WORKERS)]
    if WORKERS == 1 or len(groups) < 4 * WORKERS:
        _write_groups(data, groups)
    elif len(groups) >= PROCESS_FILES and sys.executable:
        _in_processes(data, shares, root)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(WORKERS) as pool:
            for done in [pool.submit(_write_groups, data, share) for share in shares]:
                done.result()
    return len(groups)


def _in_processes(data: Any, shares: Sequence[Sequence[Group]], root: Path) -> None:
    """Each share written by a ``python -m ibovcli.partfiles`` process, which reads the table (Arrow
    IPC) and its files (JSON) from a scratch folder under ``root``. Plain child processes, not
    :mod:`multiprocessing`, which would import the caller's ``__main__`` again in each worker."""
    import json
    import shutil
    import subprocess  # nosec B404 - this module, run by this interpreter, without a shell
    import uuid

    import pyarrow as pa

    work = Path(root) / f".partfiles-{uuid.uuid4().hex}"
    work.mkdir()
    table = work / "table.arrow"
    here = str(Path(__file__).resolve().parent.parent)  # found even when ibov is not installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with pa.OSFile(str(table), "wb") as sink, pa.ipc.new_file(sink, data.schema) as out:
            out.write_table(data)
        for i, share in enumerate(shares):
            groups = work / f"groups-{i}.json"
            groups.write_text(json.dumps(share), encoding="utf-8")
            command = [sys.executable, "-m", "ibovcli.partfiles", str(table), str(groups)]
            workers.append(
                subprocess.Popen(  # nosec B603
                    command,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )
        failures = []
        for worker in workers:
            _out, err = worker.communicate()
            if worker.returncode != 0:
                lines = err.decode("utf-8", "replace").strip().splitlines()
                failures.append(lines[-1] if lines else f"exit code {worker.returncode}")
        if failures:
            raise OSError(f"a parquet writer process failed: {failures[0]}")
    finally:
        for worker in workers:  # when this process is stopped, its writers stop too
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        shutil.rmtree(work, ignore_errors=True)


def _main(argv: Sequence[str]) -> int:
    """A worker process: ``python -m ibovcli.partfiles TABLE.arrow GROUPS.json``."""
    import json

    import pyarrow as pa

    table_path, groups_path = argv
    with pa.memory_map(table_path) as source:
        data = pa.ipc.open_file(source).read_all()
    groups = [(str(f), int(o), int(n)) for f, o, n in json.loads(Path(groups_path).read_text("utf-8"))]
    _write_groups(data, groups)
    return 0


def _write_groups(data: Any, groups: Sequence[Group]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for folder, offset, length in groups:
        buffer = pa.BufferOutputStream()
        small = length <= SMALL_FILE_ROWS
        pq.write_table(
            data.slice(offset, length),
            buffer,
            compression="snappy",
            store_decimal_as_integer=True,  # small decimals as integers, as DuckDB and Spark store them
            store_schema=False,  # the parquet types say it all, as in DuckDB's and Spark's files
            # a file of a few rows is read whole: column statistics and dictionaries would only cost
            # (a quarter of the CPU of a one-row file, and 40 % of its bytes)
            write_statistics=not small,
            use_dictionary=not small,
        )
        os.mkdir(folder)
        with open(os.path.join(folder, FILE_NAME), "wb") as fh:
            fh.write(buffer.getvalue())


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
