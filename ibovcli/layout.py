"""Where things live in the lake: the one place that builds lake paths.

The same relative keys are used under a local lake directory and under ``s3://BUCKET/``::

    raw/dt=YYYY-MM-DD/<INDEX>.parquet                 portfolio: one index, one session (rule R2)
    raw/levels/index_code=<INDEX>/<YYYY>.parquet      levels: one index, one calendar year
    raw/quotes/session_date=YYYY-MM-DD/COTAHIST.parquet   quotes: one session (from any COTAHIST file)
    snapshots/<the raw key, minus raw/>.<ext>          the original bytes each raw file was parsed from
    refined/dt=YYYY-MM-DD/ticker=<TICKER>/*.parquet   portfolio, refined (rule R6): table ibov_refined
    refined_levels/index_code=<INDEX>/year=<YYYY>/    levels, refined: table ibov_levels
    refined_quotes/session_date=YYYY-MM-DD/          quotes, refined: table ibov_quotes

Each dataset's prefixes and file names are declared in :mod:`ibovcli.datasets`; this module adds the
zones that are not datasets and the helpers every engine shares.
Stdlib only: this module ships to the Lambda and to the Glue job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from ibovcli import datasets
from ibovcli.datasets import INDEX_PATTERN, PORTFOLIO, TICKER_PATTERN, RawKey

RAW_PREFIX = PORTFOLIO.raw_prefix
REFINED_PREFIX = PORTFOLIO.refined_prefix
SNAPSHOT_PREFIX = "snapshots/"
ATHENA_RESULTS_PREFIX = "athena-results/"
ARTIFACTS_PREFIX = "artifacts/"

__all__ = ["INDEX_PATTERN", "TICKER_PATTERN", "RawKey"]


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
    return PORTFOLIO.raw_unit_prefix(PORTFOLIO.unit(day.isoformat()))


def raw_key(index: str, day: date) -> str:
    """Key of the raw parquet file of ``index``'s portfolio for session ``day``."""
    return PORTFOLIO.raw_key(PORTFOLIO.unit(day.isoformat()), f"{check_index(index)}.parquet")


def levels_raw_key(index: str, year: int) -> str:
    """Key of the raw parquet file of ``index``'s official levels in ``year``."""
    return datasets.LEVELS.raw_key(datasets.LEVELS.unit(check_index(index)), f"{year:04d}.parquet")


def quotes_raw_key(day: date) -> str:
    """Key of the raw parquet file of the quotes of session ``day``."""
    return datasets.QUOTES.raw_key(datasets.QUOTES.unit(day.isoformat()), "COTAHIST.parquet")


def refined_day_prefix(day: date) -> str:
    return PORTFOLIO.refined_unit_prefix(PORTFOLIO.unit(day.isoformat()))


def snapshot_key(raw: str, ext: str) -> str:
    """Where the original bytes of the raw file ``raw`` are kept (``ext`` without dot: json, csv...)."""
    if not raw.startswith(RAW_PREFIX) or not raw.endswith(datasets.RAW_SUFFIX):
        raise ValueError(f"not a raw key: {raw!r}")
    return f"{SNAPSHOT_PREFIX}{raw[len(RAW_PREFIX) : -len(datasets.RAW_SUFFIX)]}.{ext}"


def parse_day_partition(name: str) -> date | None:
    """``'dt=2025-04-30'`` -> ``date(2025, 4, 30)``; anything else -> ``None``."""
    if not name.startswith("dt="):
        return None
    try:
        return date.fromisoformat(name[3:])
    except ValueError:
        return None


def raw_keys(keys: Iterable[str], dataset: str | None = None) -> list[RawKey]:
    """The raw keys among ``keys`` (of ``dataset``, or of any), parsed and sorted; others are ignored."""
    out = []
    for key in keys:
        parsed = datasets.parse_raw_key(key)
        if parsed is not None and (dataset is None or parsed.unit.dataset == dataset):
            out.append(parsed)
    return sorted(out, key=lambda r: r.key)


def portfolio_inventory(keys: Iterable[str]) -> dict[str, list[date]]:
    """The session days of each index among ``keys`` (portfolio raw keys; others are ignored), sorted."""
    out: dict[str, set[date]] = {}
    for parsed in raw_keys(keys, PORTFOLIO.name):
        out.setdefault(parsed.parts["index"], set()).add(date.fromisoformat(parsed.unit.value))
    return {index: sorted(days) for index, days in sorted(out.items())}


def period_raw_key(dataset: str, index: str, period_label: str, collected_on: date, sha8: str) -> str:
    """Key of one collection of ``index``'s theoretical portfolio or preview of a 4-month period:
    ``raw/<dataset>/index_code=<INDEX>/<2025-09..12>_<collected on>_<sha8>.parquet``."""
    spec = datasets.get(dataset)
    member = f"{period_label}_{collected_on.isoformat()}_{sha8}.parquet"
    return spec.raw_key(spec.unit(check_index(index)), member)
