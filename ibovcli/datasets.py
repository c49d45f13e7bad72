"""Every B3 dataset ibov collects, declared once; every stage of the pipeline reads these declarations.

A dataset is: where B3 serves it, its raw key layout, its raw and refined columns, its refine SQL
(``ibovcli/sql/<refine_sql>``, run unchanged by DuckDB and Spark) and its catalog table in the Glue
database ``default``. The scraper writes raw files where :meth:`Dataset.raw_key` says, the trigger
(S3 event -> Lambda, or in-process) turns any raw key into a refine of its *unit* with
:func:`parse_raw_key`, the refine step runs the dataset's SQL over the unit's raw files and replaces the
unit's refined folder and catalog rows, and the saved queries name the tables as ``${<dataset>}``.

The unit is the first folder level under both the raw and the refined prefix (``dt=2025-07-10`` for a
portfolio day, ``index_code=IBOV`` for an index's levels): a refine reads every raw file under
``<raw_prefix><unit>/`` and replaces ``<refined_prefix><unit>/`` and the catalog rows of that unit, so a
rerun is idempotent and never touches another unit. Every refined prefix is outside every other table's
location, because Athena reads a table's whole prefix.

Stdlib only: this module ships to the Glue job and to the Lambda.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from ibovcli import schema
from ibovcli.schema import Column

#: What B3 index codes (IBOV, IBXX, SMLL...) and tickers (PETR4, BPAC11, AAPL34...) look like. They name
#: lake paths, so every check of a code or ticker in ibov uses these.
INDEX_PATTERN = r"[A-Z0-9]{2,12}"
TICKER_PATTERN = r"[A-Z0-9]{4,12}"
DAY_PATTERN = r"\d{4}-\d{2}-\d{2}"

RAW_SUFFIX = ".parquet"


@dataclass(frozen=True)
class Unit:
    """What one refine covers: every raw file under ``<raw_prefix><key>=<value>/``."""

    dataset: str
    value: str

    @property
    def spec(self) -> Dataset:
        return get(self.dataset)

    @property
    def folder(self) -> str:
        """``dt=2025-07-10``: the unit's folder under the raw and refined prefixes."""
        return f"{self.spec.unit_key}={self.value}"

    def __str__(self) -> str:
        return f"{self.dataset} {self.folder}"


@dataclass(frozen=True)
class RawKey:
    """A parsed raw-zone key: its dataset, its unit and the named parts of its file name."""

    key: str
    unit: Unit
    parts: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def dataset(self) -> Dataset:
        return self.unit.spec

    @property
    def index(self) -> str:
        """The index code the file holds (``''`` for a dataset not split by index)."""
        if "index" in self.parts:
            return self.parts["index"]
        return self.unit.value if self.dataset.unit_key == "index_code" else ""

    @property
    def label(self) -> str:
        """What tells the file apart within its index: its day, year or period."""
        return self.parts.get("label") or self.parts.get("year") or self.unit.value


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    #: the B3 service it comes from (for people)
    source: str
    raw_prefix: str
    #: name and pattern of the unit folder (``dt`` / a date; ``index_code`` / an index code)
    unit_key: str
    unit_pattern: str
    #: the raw file name under the unit folder, with named groups: ``index`` (when the unit is not an
    #: index) and ``label`` or ``year`` (what tells an index's files apart)
    member_pattern: str
    refined_prefix: str
    table: str
    raw_columns: tuple[Column, ...]
    refined_columns: tuple[Column, ...]
    #: refined partition columns, in folder order; the first one is the unit key
    partitions: tuple[Column, ...]
    refine_sql: str
    #: the raw column whose value names a row's unit (a raw file's rows must all be of its unit's folder);
    #: the unit key when unset
    raw_unit_column: str = ""

    def __post_init__(self) -> None:
        if self.partitions[0].name != self.unit_key:
            raise ValueError(f"{self.name}: the first partition must be the unit key {self.unit_key}")

    @property
    def columns(self) -> tuple[Column, ...]:
        """Data columns then partition columns, as the engines expose the table."""
        return self.refined_columns + self.partitions

    @property
    def unit_column(self) -> str:
        """The raw column whose value is each raw row's unit."""
        return self.raw_unit_column or self.unit_key

    @property
    def partition_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.partitions)

    @property
    def raw_listing_prefix(self) -> str:
        """The prefix every raw key of this dataset (and no other dataset's) starts with."""
        return f"{self.raw_prefix}{self.unit_key}="

    def unit(self, value: str) -> Unit:
        if not self.valid_unit(value):
            raise ValueError(f"not a {self.name} unit: {self.unit_key}={value!r}")
        return Unit(self.name, value)

    def valid_unit(self, value: str) -> bool:
        if not re.fullmatch(self.unit_pattern, value):
            return False
        if self.unit_pattern == DAY_PATTERN:
            try:
                date.fromisoformat(value)
            except ValueError:
                return False
        return True

    def raw_unit_prefix(self, unit: Unit) -> str:
        return f"{self.raw_prefix}{unit.folder}/"

    def refined_unit_prefix(self, unit: Unit) -> str:
        return f"{self.refined_prefix}{unit.folder}/"

    def raw_key(self, unit: Unit, member: str) -> str:
        key = self.raw_unit_prefix(unit) + member
        if self.parse_raw_key(key) is None:
            raise ValueError(f"not a {self.name} raw file name: {member!r}")
        return key

    def parse_raw_key(self, key: str) -> RawKey | None:
        """The parsed key, or ``None`` for any key that is not one of this dataset's raw files."""
        if not key.startswith(self.raw_prefix):
            return None
        m = re.fullmatch(
            rf"{re.escape(self.unit_key)}=(?P<_unit>{self.unit_pattern})/{self.member_pattern}",
            key[len(self.raw_prefix) :],
        )
        if not m or not self.valid_unit(m.group("_unit")):
            return None
        parts = {k: v for k, v in m.groupdict().items() if k != "_unit" and v is not None}
        return RawKey(key, Unit(self.name, m.group("_unit")), parts)

    def sql(self) -> str:
        """The refine SQL: input view ``raw_rows`` (every raw row of one unit), output = :attr:`columns`."""
        text = schema.sql_file(self.refine_sql)
        if "${sector_table}" in text:  # the portfolio: the shipped sector table, inline
            # imported here: the Lambda zip ships this module without it (the Glue job imports it)
            from ibovcli import sectors

            text = text.replace(sectors.TOKEN, sectors.values_sql())
        return text


PORTFOLIO = Dataset(
    name="portfolio",
    title="daily portfolio (carteira do dia)",
    source="indexProxy/indexCall/GetPortfolioDay",
    raw_prefix="raw/",
    unit_key="dt",
    unit_pattern=DAY_PATTERN,
    member_pattern=rf"(?P<index>{INDEX_PATTERN})\.parquet",
    refined_prefix="refined/",
    table="ibov_refined",
    raw_columns=schema.PORTFOLIO_RAW,
    refined_columns=schema.PORTFOLIO_REFINED,
    partitions=schema.PORTFOLIO_PARTITIONS,
    refine_sql="refine.sql",
    raw_unit_column="session_date",
)

LEVELS = Dataset(
    name="levels",
    title="official index levels",
    source="indexStatisticsProxy/IndexCall/GetPortfolioDay",
    raw_prefix="raw/levels/",
    unit_key="index_code",
    unit_pattern=INDEX_PATTERN,
    member_pattern=r"(?P<year>\d{4})\.parquet",
    refined_prefix="refined_levels/",
    table="ibov_levels",
    raw_columns=schema.LEVELS_RAW,
    refined_columns=schema.LEVELS_REFINED,
    partitions=schema.LEVELS_PARTITIONS,
    refine_sql="refine_levels.sql",
)

#: A period portfolio's raw file: one collection of one period, ``<period>_<collected on>_<sha8>``.
PERIOD_MEMBER_PATTERN = (
    r"(?P<label>\d{4}-(?:01\.\.04|05\.\.08|09\.\.12))_(?P<collected>\d{4}-\d{2}-\d{2})_"
    r"(?P<sha>[0-9a-f]{8})\.parquet"
)

THEORETICAL = Dataset(
    name="theoretical",
    title="theoretical portfolio of a 4-month period (carteira teórica)",
    source="indexProxy/indexCall/GetTheoricalPortfolio",
    raw_prefix="raw/theoretical/",
    unit_key="index_code",
    unit_pattern=INDEX_PATTERN,
    member_pattern=PERIOD_MEMBER_PATTERN,
    refined_prefix="refined_theoretical/",
    table="ibov_theoretical",
    raw_columns=schema.PERIOD_RAW,
    refined_columns=schema.PERIOD_REFINED,
    partitions=schema.PERIOD_PARTITIONS,
    refine_sql="refine_period.sql",
)

PREVIEW = Dataset(
    name="preview",
    title="preview of the next 4-month period (prévia quadrimestral)",
    source="indexProxy/indexCall/GetQuartelyPreview",
    raw_prefix="raw/preview/",
    unit_key="index_code",
    unit_pattern=INDEX_PATTERN,
    member_pattern=PERIOD_MEMBER_PATTERN,
    refined_prefix="refined_preview/",
    table="ibov_preview",
    raw_columns=schema.PERIOD_RAW,
    refined_columns=schema.PERIOD_REFINED,
    partitions=schema.PERIOD_PARTITIONS,
    refine_sql="refine_period.sql",
)

#: One session's cash-market quotes (B3 COTAHIST), whatever file they came from: a daily file gives
#: one raw file, an annual or monthly file one raw file per session it holds (docs/quotes.md).
QUOTES = Dataset(
    name="quotes",
    title="session quotes (COTAHIST)",
    source="InstDados/SerHist COTAHIST files",
    raw_prefix="raw/quotes/",
    unit_key="session_date",
    unit_pattern=DAY_PATTERN,
    member_pattern=r"COTAHIST\.parquet",
    refined_prefix="refined_quotes/",
    table="ibov_quotes",
    raw_columns=schema.QUOTES_RAW,
    refined_columns=schema.QUOTES_REFINED,
    partitions=schema.QUOTES_PARTITIONS,
    refine_sql="refine_quotes.sql",
)


@dataclass(frozen=True)
class Compact:
    """A compact serving copy of a day-unit dataset's refined rows: one file per month and index under
    ``<prefix>month=YYYY-MM/index_code=I/``, rows in (dt, ticker) order, every refined column kept
    (the day and the ticker as data columns), cataloged as its own table. The refined layout stays the
    raw material; the copy is what readers that pay per object (Athena) read.

    Its ``sql`` (``ibovcli/sql/<sql_file>``) turns the refined rows of whole months (the view
    :attr:`INPUT_VIEW`, columns as the source table) into the copy's rows, on DuckDB and Spark alike.
    A month is rebuilt whole, all its indices at once, whenever any day of it is refined.
    """

    INPUT_VIEW = "compact_input"
    #: A refined row's month, as ``compact.sql`` computes the ``month`` partition (DuckDB and Spark SQL).
    MONTH_SQL = "substr(dt, 1, 7)"

    name: str
    source: Dataset
    prefix: str
    table: str
    data_columns: tuple[Column, ...]
    partitions: tuple[Column, ...]
    sql_file: str

    @property
    def columns(self) -> tuple[Column, ...]:
        """Data columns then partition columns, as the engines expose the table."""
        return self.data_columns + self.partitions

    @property
    def partition_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.partitions)

    @staticmethod
    def month_of(day: str) -> str:
        """``2025-07`` for the unit (day) ``2025-07-10``."""
        return day[:7]

    @staticmethod
    def valid_month(value: str) -> bool:
        return bool(re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value))

    def month_folder(self, month: str) -> str:
        if not self.valid_month(month):
            raise ValueError(f"not a month: {month!r}")
        return f"{self.partitions[0].name}={month}"

    def month_prefix(self, month: str) -> str:
        """``compact/month=2025-07/``: every file of the month, all indices, in one listing."""
        return f"{self.prefix}{self.month_folder(month)}/"

    def sql(self) -> str:
        return schema.sql_file(self.sql_file)


#: The compact serving copy of the daily portfolio (``${portfolio}`` of the saved queries on Athena).
COMPACT = Compact(
    name="compact",
    source=PORTFOLIO,
    prefix="compact/",
    table="ibov_compact",
    data_columns=schema.PORTFOLIO_COMPACT,
    partitions=schema.PORTFOLIO_COMPACT_PARTITIONS,
    sql_file="compact.sql",
)

#: Every dataset, by name, in the order the daily run refreshes them.
ALL: dict[str, Dataset] = {d.name: d for d in (PORTFOLIO, LEVELS, THEORETICAL, PREVIEW, QUOTES)}


def get(name: str) -> Dataset:
    try:
        return ALL[name]
    except KeyError:
        raise ValueError(f"no dataset named {name!r}; known: {', '.join(ALL)}") from None


def serving_tables(tables: dict[str, str]) -> dict[str, str]:
    """The tables saved queries read where each object read costs (Athena): ``tables`` with the
    portfolio's replaced by its compact copy (same columns, plus ``month``, its first partition, which
    the saved queries filter on beside ``dt`` so that Athena reads only the months asked for)."""
    return {**tables, COMPACT.source.name: COMPACT.table}


def with_month(table: str) -> str:
    """The portfolio table ``table`` (a quoted name) with the compact copy's ``month`` column: what
    ``${portfolio}`` is in saved queries on DuckDB, whose catalog tables need no month to prune."""
    return f"(SELECT *, {COMPACT.MONTH_SQL} AS month FROM {table})"  # nosec B608 - a table name


def parse_raw_key(key: str) -> RawKey | None:
    """The raw key of any dataset, parsed; ``None`` for any other key (snapshots, refined, junk)."""
    for dataset in ALL.values():
        parsed = dataset.parse_raw_key(key)
        if parsed is not None:
            return parsed
    return None


def tables(portfolio_table: str | None = None) -> dict[str, str]:
    """Catalog table of each dataset; the portfolio's table name can be configured (IBOV_TABLE)."""
    out = {name: d.table for name, d in ALL.items()}
    if portfolio_table:
        out[PORTFOLIO.name] = schema.check_table_name(portfolio_table)
    return out
