"""Parsed B3 data -> the raw zone's files: one typed parquet file per raw key, plus the original bytes.

The one conversion every engine writes (local lake or S3) and the benchmark reuses. Every value is
checked against the raw schema's types before anything is written: a value that does not fit (a weight
with four decimals, a quantity beyond bigint, a name that is not valid Unicode) is refused as bad data
here, so a write never fails half-way for a reason known in advance. pyarrow is imported lazily.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from ibovcli import datasets, layout, schema
from ibovcli.errors import SnapshotError

if TYPE_CHECKING:
    from ibovcli.b3 import Portfolio
    from ibovcli.levels import LevelsYear
    from ibovcli.previews import PeriodPortfolio

#: The kinds of original bytes a raw file can come from: storing one removes the others (a day's portfolio
#: read from a CSV after a JSON keeps only the CSV: the snapshot is always the one the rows came from).
SNAPSHOT_EXTS = ("json", "csv", "txt", "zip")


def keys_of(raw_key: str) -> list[str]:
    """Every key a stored raw file can own: its originals under snapshots/ (any kind), then itself."""
    return [*(layout.snapshot_key(raw_key, ext) for ext in SNAPSHOT_EXTS), raw_key]


CONTENT_TYPES = {
    "json": "application/json",
    "csv": "text/csv",
    "txt": "text/plain",
    "zip": "application/zip",
    "parquet": "application/vnd.apache.parquet",
}


@dataclass(frozen=True)
class RawWrite:
    """The files one stored snapshot adds to the lake: its raw parquet and its original bytes."""

    key: str
    body: bytes
    rows: int
    snapshot_key: str
    original: bytes
    #: what was stored, for people and --json (dataset, index, date or year, rows, key...)
    describe: dict[str, Any] = field(default_factory=dict, compare=False)
    #: a portfolio's tickers, when its index came from the caller, not the content (a JSON answer):
    #: checked against what the lake holds of that index (:func:`ibovcli.quality.looks_like`)
    index_claimed: tuple[str, ...] = field(default=(), compare=False)

    @property
    def raw(self) -> datasets.RawKey:
        parsed = datasets.parse_raw_key(self.key)
        if parsed is None:  # pragma: no cover - keys come from layout's builders
            raise ValueError(f"not a raw key: {self.key}")
        return parsed

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    def files(self) -> list[tuple[str, bytes | None, str]]:
        """``(key, body, content type)`` in write order: the original first, the raw file (whose S3
        event triggers the refine) last; a ``None`` body removes that key (an original of another kind,
        see :data:`SNAPSHOT_EXTS`)."""
        stem, ext = self.snapshot_key.rsplit(".", 1)
        others: list[tuple[str, bytes | None, str]] = [
            (f"{stem}.{e}", None, "") for e in SNAPSHOT_EXTS if e != ext
        ]
        return [
            *others,
            (self.snapshot_key, self.original, CONTENT_TYPES.get(ext, "application/octet-stream")),
            (self.key, self.body, CONTENT_TYPES["parquet"]),
        ]


def table(columns: tuple[schema.Column, ...], values: dict[str, Sequence[Any]]) -> Any:
    """A pyarrow Table with exactly ``columns``; :class:`SnapshotError` when a value does not fit."""
    import pyarrow as pa

    arrow_schema = schema.arrow_schema(columns)
    try:
        return pa.Table.from_pydict(values, schema=arrow_schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        raise SnapshotError(
            f"a value does not fit the raw schema: {_first_line(exc)}",
            hint="Nothing was written. The snapshot holds a number or text outside the types ibov stores "
            "(docs/datasets.md lists them).",
        ) from None


def parquet_bytes(arrow_table: Any) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(arrow_table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _text(value: str, what: str) -> str:
    """``value`` if it can be stored as UTF-8 (a lone surrogate cannot)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise SnapshotError(f"{what} is not valid Unicode text: {value!r:.60}") from None
    return value


def lineage(n: int, collected_at: Any, source: str, source_format: str, sha256: str) -> dict[str, list[Any]]:
    return {
        "collected_at": [collected_at] * n,
        "source": [_text(source, "the source")] * n,
        "source_format": [source_format] * n,
        "source_sha256": [sha256] * n,
    }


class _Parsed(Protocol):
    """What every parsed input carries: its bytes and lineage."""

    @property
    def original(self) -> bytes: ...
    @property
    def original_ext(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def source_format(self) -> str: ...
    @property
    def sha256(self) -> str: ...


def _raw_write(
    key: str,
    columns: tuple[schema.Column, ...],
    values: dict[str, Sequence[Any]],
    original: _Parsed,
    describe: dict[str, Any],
    index_claimed: tuple[str, ...] = (),
) -> RawWrite:
    """The raw write of ``values`` typed as ``columns`` at ``key``, with ``original``'s bytes kept beside
    it; ``describe`` (what the dataset says of itself) is followed by what every write says: rows, key,
    source, format and sha256. ``original`` is the parsed input (its bytes, extension and lineage)."""
    rows = len(values["source_sha256"])
    return RawWrite(
        key=key,
        body=parquet_bytes(table(columns, values)),
        rows=rows,
        snapshot_key=layout.snapshot_key(key, original.original_ext),
        original=original.original,
        index_claimed=index_claimed,
        describe={
            **describe,
            "rows": rows,
            "key": key,
            "source": original.source,
            "format": original.source_format,
            "sha256": original.sha256,
        },
    )


def portfolio(p: Portfolio) -> RawWrite:
    """The raw files of one daily portfolio."""
    n = len(p.holdings)
    values: dict[str, Sequence[Any]] = {
        "index_code": [p.index] * n,
        "session_date": [p.session_date] * n,
        "cod": [_text(h.cod, f"{h.cod!r} ticker") for h in p.holdings],
        "asset": [_text(h.asset, f"{h.cod} company name") for h in p.holdings],
        "type": [_text(h.type, f"{h.cod} type") for h in p.holdings],
        "segment": [None if h.segment is None else _text(h.segment, f"{h.cod} sector") for h in p.holdings],
        "part": [h.part for h in p.holdings],
        "theoricalQty": [h.qty for h in p.holdings],
        "total_theoricalQty": [p.total_qty] * n,
        "reductor": [p.reductor] * n,
        **lineage(n, p.collected_at, p.source, p.source_format, p.sha256),
    }
    return _raw_write(
        layout.raw_key(p.index, p.session_date),
        schema.PORTFOLIO_RAW,
        values,
        p,
        {"dataset": datasets.PORTFOLIO.name, "index": p.index, "date": p.session_date.isoformat()},
        index_claimed=tuple(h.cod for h in p.holdings) if p.source_format.startswith("json") else (),
    )


def levels(y: LevelsYear) -> RawWrite:
    """The raw files of one index's official levels for one calendar year."""
    n = len(y.sessions)
    values: dict[str, Sequence[Any]] = {
        "index_code": [y.index] * n,
        "session_date": [d for d, _ in y.sessions],
        "level": [v for _, v in y.sessions],
        **lineage(n, y.collected_at, y.source, y.source_format, y.sha256),
    }
    describe = {
        "dataset": datasets.LEVELS.name,
        "index": y.index,
        "year": y.year,
        "sessions": n,
        "first": y.sessions[0][0].isoformat() if n else None,
        "last": y.sessions[-1][0].isoformat() if n else None,
    }
    return _raw_write(layout.levels_raw_key(y.index, y.year), schema.LEVELS_RAW, values, y, describe)


def period_content_sha256(holdings: Sequence[Any], total_qty: int) -> str:
    """sha256 of what a period portfolio says, whatever its format: each ticker's weight and quantity
    (sorted by ticker) and the total quantity. The JSON and the CSV of one preview give the same hash."""
    ordered = sorted(holdings, key=lambda h: h.cod)
    lines = [f"{h.cod}|{h.part.quantize(Decimal('0.001'))}|{h.qty}" for h in ordered]
    lines.append(f"total|{total_qty}")
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def period(p: PeriodPortfolio, collected_on: date) -> RawWrite:
    """The raw files of one collection of a theoretical portfolio or preview (``p.kind`` is the dataset)."""
    n = len(p.holdings)
    content = period_content_sha256(p.holdings, p.total_qty)
    values: dict[str, Sequence[Any]] = {
        "index_code": [p.index] * n,
        "period": [p.period.label] * n,
        "period_year": [p.period.year] * n,
        "period_first_month": [p.period.first_month] * n,
        "period_last_month": [p.period.last_month] * n,
        "rebalance_date": [p.period.starts_on] * n,
        "collected_on": [collected_on] * n,
        "cod": [_text(h.cod, f"{h.cod!r} ticker") for h in p.holdings],
        "asset": [_text(h.asset, f"{h.cod} company name") for h in p.holdings],
        "type": [_text(h.type, f"{h.cod} type") for h in p.holdings],
        "part": [h.part for h in p.holdings],
        "theoricalQty": [h.qty for h in p.holdings],
        "cont": [h.cont for h in p.holdings],
        "total_theoricalQty": [p.total_qty] * n,
        "reductor": [p.reductor] * n,
        "content_sha256": [content] * n,
        **lineage(n, p.collected_at, p.source, p.source_format, p.sha256),
    }
    describe = {
        "dataset": p.kind,
        "index": p.index,
        "period": p.period.label,
        "collected_on": collected_on.isoformat(),
        "weights_sum": str(sum((h.part for h in p.holdings), Decimal(0))),
        "content_sha256": content,
    }
    key = layout.period_raw_key(p.kind, p.index, p.period.label, collected_on, p.sha256[:8])
    return _raw_write(key, schema.PERIOD_RAW, values, p, describe)
