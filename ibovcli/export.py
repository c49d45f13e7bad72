"""``ibov export``: the refined rows of an index over a date range as one Parquet or CSV file.

The rows come from the dataset's catalog table through the engine (DuckDB locally, Athena on AWS), with
the partition filters that let Athena prune; the file is written atomically (:mod:`ibovcli.outputs`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ibovcli import datasets
from ibovcli.errors import NoData, UsageError
from ibovcli.outputs import check_output, write_output

FORMATS = ("parquet", "csv")


@dataclass(frozen=True)
class Exported:
    path: Path
    format: str
    dataset: str
    index: str
    rows: int
    first: str
    last: str

    def as_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "format": self.format,
            "dataset": self.dataset,
            "index": self.index,
            "rows": self.rows,
            "first": self.first,
            "last": self.last,
        }


def file_format(out: Path, given: str | None) -> str:
    """``parquet`` or ``csv``: as given, else from the file's extension; a contradiction is refused."""
    suffix = out.suffix.lower().lstrip(".")
    implied = {"parquet": "parquet", "pq": "parquet", "csv": "csv"}.get(suffix)
    if given is not None and given not in FORMATS:
        raise UsageError(f"--format must be parquet or csv, not {given!r}")
    if given and implied and given != implied:
        raise UsageError(f"--format {given} contradicts --out {out.name}", hint="Give one of them, or agree.")
    fmt = given or implied
    if fmt is None:
        raise UsageError(
            f"cannot tell the format of --out {out.name}",
            hint="End it in .parquet or .csv, or give --format.",
        )
    return fmt


def day(option: str, text: str | None) -> date | None:
    """A ``YYYY-MM-DD`` option value, or :class:`UsageError` naming the option."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} must be a date YYYY-MM-DD, got {text!r}") from None


def statement(dataset: datasets.Dataset, *, since: date | None, until: date | None) -> str:
    """The export query of ``dataset`` (``:index``, ``:from``, ``:to`` parameters as needed)."""
    if "session_date" not in {c.name for c in dataset.refined_columns}:
        raise UsageError(f"the {dataset.name} dataset cannot be exported by date")
    where = ["index_code = :index"]
    partitions = set(dataset.partition_names)
    if since is not None:
        where.append("dt >= :from" if "dt" in partitions else "session_date >= CAST(:from AS DATE)")
    if until is not None:
        where.append("dt <= :to" if "dt" in partitions else "session_date <= CAST(:to AS DATE)")
    if "year" in partitions:  # levels: prune whole years as well
        if since is not None:
            where.append(f"year >= {since.year:d}")
        if until is not None:
            where.append(f"year <= {until.year:d}")
    order = ", ".join(
        ["session_date", *(["weight_rank"] if "weight_rank" in {c.name for c in dataset.columns} else [])]
    )
    table = "${" + dataset.name + "}"
    # the declared columns by name: the table a token names may hold more (the portfolio's compact
    # serving copy adds month) and in another order
    columns = ", ".join(c.name for c in dataset.columns)
    # the table token and the column names come from the dataset declaration; values are parameters
    return f"SELECT {columns} FROM {table} WHERE {' AND '.join(where)} ORDER BY {order}"  # nosec B608


def encode(
    columns: list[str], rows: list[tuple[Any, ...]], fmt: str, declared: tuple[Any, ...] = ()
) -> bytes:
    """The file's bytes: Parquet (the table's declared types when the columns are the table's, else as
    the engine returned them) or CSV (UTF-8, a header line)."""
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(["" if v is None else str(v) for v in r] for r in rows)
        return buf.getvalue().encode("utf-8")
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ibovcli import schema

    records = [dict(zip(columns, r, strict=True)) for r in rows]
    if [c.name for c in declared] == columns:
        table = pa.Table.from_pylist(records, schema=schema.arrow_schema(declared))
    else:
        table = pa.Table.from_pylist(records)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def export(
    engine: Any,
    *,
    dataset: str,
    index: str,
    since: date | None,
    until: date | None,
    out: Path,
    fmt: str | None,
) -> Exported:
    """Write the rows and say what was written; no rows is :class:`NoData` and writes nothing."""
    if dataset not in datasets.ALL:
        raise UsageError(f"no dataset named {dataset!r}", hint=f"Datasets: {', '.join(datasets.ALL)}.")
    spec = datasets.get(dataset)
    check_output(out)
    fmt = file_format(out, fmt)
    if since and until and since > until:
        raise UsageError(f"--from {since} is after --to {until}")
    params: dict[str, Any] = {"index": index}
    if since is not None:
        params["from"] = since.isoformat()
    if until is not None:
        params["to"] = until.isoformat()
    columns, rows = engine.sql(
        statement(spec, since=since, until=until), params, what=f"the export of {index}"
    )
    if not rows:
        window = f" from {since or 'the first day'} to {until or 'the latest'}"
        raise NoData(
            f"no {dataset} rows of {index}{window}",
            hint="`ibov status` shows the days stored per index; nothing was written.",
        )
    write_output(out, encode(columns, rows, fmt, spec.columns))
    days = sorted({str(r[columns.index("session_date")]) for r in rows})
    return Exported(out, fmt, dataset, index, len(rows), days[0], days[-1])
