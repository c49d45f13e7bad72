"""Where things live in the lake: the one place that builds and parses lake paths.

The same relative keys are used under a local lake directory and under ``s3://BUCKET/``:

    raw/dt=YYYY-MM-DD/<INDEX>.parquet            one typed snapshot of one index for one session
    snapshots/dt=YYYY-MM-DD/<INDEX>.<ext>          the original bytes that snapshot was parsed from
    refined/dt=YYYY-MM-DD/ticker=<TICKER>/*.parquet  the refined zone (rule R6)

Stdlib only: this module ships to the Lambda and to the Glue job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

RAW_PREFIX = "raw/"
RAW_SUFFIX = ".parquet"
REFINED_PREFIX = "refined/"
SNAPSHOT_PREFIX = "snapshots/"
ATHENA_RESULTS_PREFIX = "athena-results/"
ARTIFACTS_PREFIX = "artifacts/"

#: Partition keys of the refined zone, in order (Hive style ``key=value`` folders).
REFINED_PARTITIONS = ("dt", "ticker")

#: What B3 index codes (IBOV, IBXX, SMLL...) and tickers (PETR4, BPAC11, AAPL34...) look like. They name
#: lake paths, so every check of a code or ticker in ibov uses these.
INDEX_PATTERN = r"[A-Z0-9]{2,12}"
TICKER_PATTERN = r"[A-Z0-9]{4,12}"
_RAW_KEY_RE = re.compile(rf"^raw/dt=(\d{{4}}-\d{{2}}-\d{{2}})/({INDEX_PATTERN})\.parquet$")


@dataclass(frozen=True)
class RawKey:
    """A parsed raw-zone key."""

    day: date
    index: str

    @property
    def key(self) -> str:
        return raw_key(self.index, self.day)


def is_index(code: str) -> bool:
    return re.fullmatch(INDEX_PATTERN, code) is not None


def is_ticker(ticker: str) -> bool:
    return re.fullmatch(TICKER_PATTERN, ticker) is not None


def check_index(index: str) -> str:
    """Return the index code if it is a valid B3 index code (upper case letters and digits)."""
    if not is_index(index):
        raise ValueError(f"not a B3 index code: {index!r}")
    return index


def day_partition(day: date) -> str:
    return f"dt={day.isoformat()}"


def raw_day_prefix(day: date) -> str:
    return f"{RAW_PREFIX}{day_partition(day)}/"


def raw_key(index: str, day: date) -> str:
    """Key of the raw parquet file of ``index`` for session ``day``."""
    return f"{raw_day_prefix(day)}{check_index(index)}{RAW_SUFFIX}"


def parse_raw_key(key: str) -> RawKey | None:
    """Inverse of :func:`raw_key`; ``None`` for any key that is not a raw snapshot file."""
    m = _RAW_KEY_RE.match(key)
    if not m:
        return None
    try:
        day = date.fromisoformat(m.group(1))
    except ValueError:
        return None
    return RawKey(day=day, index=m.group(2))


def raw_inventory(keys: Iterable[str]) -> dict[str, list[date]]:
    """The session days of each index among ``keys`` (raw keys; any other key is ignored), sorted."""
    out: dict[str, set[date]] = {}
    for key in keys:
        parsed = parse_raw_key(key)
        if parsed:
            out.setdefault(parsed.index, set()).add(parsed.day)
    return {index: sorted(days) for index, days in sorted(out.items())}


def snapshot_key(index: str, day: date, ext: str) -> str:
    """Key of the original bytes of a snapshot (``ext`` without dot: json, csv, txt)."""
    return f"{SNAPSHOT_PREFIX}{day_partition(day)}/{check_index(index)}.{ext}"


def refined_day_prefix(day: date) -> str:
    return f"{REFINED_PREFIX}{day_partition(day)}/"


def parse_day_partition(name: str) -> date | None:
    """``'dt=2025-04-30'`` -> ``date(2025, 4, 30)``; anything else -> ``None``."""
    if not name.startswith("dt="):
        return None
    try:
        return date.fromisoformat(name[3:])
    except ValueError:
        return None
