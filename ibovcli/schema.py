"""The shape of the data, as plain data: the raw and refined columns of every dataset.

Every engine renders its types from here: pyarrow for raw writes, Spark/DuckDB casts in the Glue job
and tests, the Glue/Athena tables. Type names use the Hive/Athena spelling, which Spark SQL accepts as
is. Which dataset uses which columns is declared in :mod:`ibovcli.datasets`.
Stdlib only: this module ships to the Glue job and the Lambda.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Glue Data Catalog database of every table (rule R7).
CATALOG_DATABASE = "default"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Hive/Athena spelling: string, date, bigint, int, double, boolean, decimal(p,s), timestamp
    nullable: bool = True
    comment: str = ""


#: Lineage columns every raw file ends with.
LINEAGE: tuple[Column, ...] = (
    Column("collected_at", "timestamp", False, "when ibov collected the data (UTC)"),
    Column("source", "string", False, "URL or file the data came from (credentials redacted)"),
    Column("source_format", "string", False, "format of the original bytes, e.g. json/pt-br/segment-2"),
    Column("source_sha256", "string", False, "sha256 of the original bytes (kept under snapshots/)"),
)

# -- portfolio: B3's "carteira do dia" ------------------------------------------------------------

PORTFOLIO_RAW: tuple[Column, ...] = (
    Column("index_code", "string", False, "B3 index code, e.g. IBOV"),
    Column("session_date", "date", False, "trading session the portfolio applies to (B3 header.date)"),
    Column("cod", "string", False, "ticker, as B3 names the field"),
    Column("asset", "string", False, "B3 short issuer name (nome de pregão)"),
    Column("type", "string", False, "share class, event flag and listing segment, exactly as B3 sent it"),
    Column("segment", "string", True, "B3 sector / subsector text (null when the source has no sectors)"),
    Column("part", "decimal(7,3)", False, "weight in percent"),
    Column("theoricalQty", "bigint", False, "theoretical quantity, as B3 names the field"),
    Column("total_theoricalQty", "bigint", False, "header: total theoretical quantity of the index"),
    Column("reductor", "decimal(20,8)", False, "header: index divisor (redutor)"),
    *LINEAGE,
)

PORTFOLIO_REFINED: tuple[Column, ...] = (
    Column("index_code", "string", False, "B3 index code"),
    Column("session_date", "date", False, "trading session"),
    Column("company", "string", False, "issuer short name (renamed from asset)"),
    Column("share_class", "string", False, "ON, PN, PNA, PNB, UNT, CI..."),
    Column("corporate_event", "string", True, "temporary B3 event flag (EJ, ED, ATZ...), null if none"),
    Column("listing_segment", "string", True, "NM, N1, N2, MA; null = traditional"),
    Column("weight_pct", "decimal(7,3)", False, "weight in the index, percent (renamed from part)"),
    Column("theoretical_qty", "bigint", False, "theoretical quantity (renamed from theoricalQty)"),
    Column("sector", "string", True, "economic sector (B3 classification, normalised)"),
    Column("subsector", "string", True, "B3 subsector text"),
    Column("sector_weight_pct", "decimal(9,3)", True, "sum of weight_pct of the sector in this index/day"),
    Column("sector_members", "int", False, "number of constituents of the sector in this index/day"),
    Column("index_members", "int", False, "number of constituents of the index on this day"),
    Column("weight_rank", "int", False, "1 = largest weight in the index on this day"),
    Column("index_theoretical_qty", "bigint", False, "total theoretical quantity of the index"),
    Column("reductor", "decimal(20,8)", False, "index divisor"),
    Column("next_rebalance_date", "date", False, "first Monday of the next Jan/May/Sep"),
    Column("days_to_rebalance", "int", False, "calendar days from session_date to next_rebalance_date"),
    Column("weekdays_to_rebalance", "int", False, "Mon-Fri days in [session_date, next_rebalance_date)"),
)

PORTFOLIO_PARTITIONS: tuple[Column, ...] = (
    Column("dt", "string", False, "trading session, YYYY-MM-DD"),
    Column("ticker", "string", False, "B3 ticker"),
)

#: The compact serving copy of the refined portfolio (``datasets.COMPACT``): every column of the refined
#: table, the day and the ticker as data columns, one file per month and index.
PORTFOLIO_COMPACT: tuple[Column, ...] = (
    *PORTFOLIO_PARTITIONS,
    *(c for c in PORTFOLIO_REFINED if c.name != "index_code"),
)

PORTFOLIO_COMPACT_PARTITIONS: tuple[Column, ...] = (
    Column("month", "string", False, "month of dt, YYYY-MM"),
    Column("index_code", "string", False, "B3 index code"),
)

# -- levels: B3's official daily closing level of each index ------------------------------------

LEVELS_RAW: tuple[Column, ...] = (
    Column("index_code", "string", False, "B3 index code, e.g. IBOV"),
    Column("session_date", "date", False, "trading session"),
    Column("level", "decimal(18,2)", False, "official closing level, as B3 publishes it"),
    *LINEAGE,
)

LEVELS_REFINED: tuple[Column, ...] = (
    Column("session_date", "date", False, "trading session"),
    Column("level", "decimal(18,2)", False, "official closing level"),
    Column("previous_session_date", "date", True, "the index's previous stored session"),
    Column("previous_level", "decimal(18,2)", True, "the level on previous_session_date"),
    Column("change_points", "decimal(18,2)", True, "level - previous_level"),
    Column("change_pct", "double", True, "daily change, percent (level / previous_level - 1) x 100"),
    Column("year_base_level", "decimal(18,2)", True, "the last level of the previous year"),
    Column("ytd_change_pct", "double", True, "year-to-date change, percent, against year_base_level"),
    Column(
        "current_scale", "boolean", False, "false before 1997-03-03, when IBOV values predate the last /10"
    ),
)

LEVELS_PARTITIONS: tuple[Column, ...] = (
    Column("index_code", "string", False, "B3 index code"),
    Column("year", "int", False, "calendar year of session_date"),
)


# -- theoretical / preview: B3's 4-month portfolios (see ibovcli.previews) -----------------------

PERIOD_RAW: tuple[Column, ...] = (
    Column("index_code", "string", False, "B3 index code, e.g. IBOV"),
    Column("period", "string", False, "the 4-month period, first..last month: 2025-09..12"),
    Column("period_year", "int", False, "the period's year"),
    Column("period_first_month", "int", False, "1, 5 or 9"),
    Column("period_last_month", "int", False, "4, 8 or 12"),
    Column("rebalance_date", "date", False, "first Monday of the period's first month (B3's rule)"),
    Column("collected_on", "date", False, "Brasilia day the answer was collected (fetch, --date or mtime)"),
    Column("cod", "string", False, "ticker, as B3 names the field"),
    Column("asset", "string", False, "B3 short issuer name"),
    Column("type", "string", False, "share class and listing segment, exactly as B3 sent it"),
    Column("part", "decimal(7,3)", False, "weight in percent"),
    Column("theoricalQty", "bigint", False, "theoretical quantity, as B3 names the field"),
    Column("cont", "int", True, "B3's rank of the row in company-name order (JSON only)"),
    Column("total_theoricalQty", "bigint", False, "header/footer: total theoretical quantity"),
    Column("reductor", "decimal(20,8)", True, "header/footer: index divisor (null when B3 sends none)"),
    Column("content_sha256", "string", False, "sha256 of the holdings (tickers, weights, quantities)"),
    *LINEAGE,
)

PERIOD_REFINED: tuple[Column, ...] = (
    Column("period_year", "int", False, "the period's year"),
    Column("period_first_month", "int", False, "1, 5 or 9"),
    Column("period_last_month", "int", False, "4, 8 or 12"),
    Column("rebalance_date", "date", False, "first Monday of the period's first month"),
    Column("ticker", "string", False, "B3 ticker (renamed from cod)"),
    Column("company", "string", False, "issuer short name (renamed from asset)"),
    Column("type", "string", False, "share class and listing segment, as B3 sent it"),
    Column("weight_pct", "decimal(7,3)", False, "weight in percent (renamed from part)"),
    Column("theoretical_qty", "bigint", False, "theoretical quantity (renamed from theoricalQty)"),
    Column("company_rank", "int", True, "B3's rank in company-name order (cont; JSON only)"),
    Column("weight_rank", "int", False, "1 = largest weight in this collection"),
    Column("members", "int", False, "constituents in this collection"),
    Column("weights_sum_pct", "decimal(9,3)", False, "sum of the weights (99.999..100.001 is rounding)"),
    Column("index_theoretical_qty", "bigint", False, "total theoretical quantity"),
    Column("reductor", "decimal(20,8)", True, "index divisor (null when B3 sent none)"),
    Column("collected_on", "date", False, "Brasilia day of the collection"),
    Column("collected_at", "timestamp", False, "when ibov stored the collection (UTC)"),
    Column("collection", "int", False, "1 = the period's first collection, in collection order"),
    Column("collections", "int", False, "collections of this index and period stored"),
    Column("latest", "boolean", False, "true on the period's last collection"),
    Column("version", "int", False, "1, then +1 each time the content differs from the previous collection"),
    Column("first_of_version", "boolean", False, "true on the first collection of each version"),
    Column("version_first_seen", "date", False, "first collected_on of this version"),
    Column("version_last_seen", "date", False, "last collected_on of this version"),
    Column("content_sha256", "string", False, "sha256 of the holdings, whatever the file format"),
    Column("source_format", "string", False, "format of the original bytes, e.g. json/pt-br, csv/pt-br"),
    Column("source_sha256", "string", False, "sha256 of the original bytes (kept under snapshots/)"),
)

PERIOD_PARTITIONS: tuple[Column, ...] = (
    Column("index_code", "string", False, "B3 index code"),
    Column("period", "string", False, "the 4-month period, e.g. 2025-09..12"),
)


# -- quotes: every cash-market quote of every session (B3 COTAHIST files) ---------------------------

_PRICE = "decimal(20,8)"

#: The quote fields ibovcli.cotahist reads from a COTAHIST record, in order (COTAHIST field in brackets).
QUOTES_FIELDS: tuple[Column, ...] = (
    Column("session_date", "date", False, "trading session [DATPRE]"),
    Column("ticker", "string", False, "B3 ticker, trailing blanks removed [CODNEG]"),
    Column("isin", "string", False, "ISIN code; B3 internal code before 1995-05-15 [CODISI]"),
    Column(
        "bdi_code", "string", False, "B3 BDI class, 2 digits: 02 standard lot, 12 real-estate fund [CODBDI]"
    ),
    Column("market_type", "string", False, "market, 3 digits; always 010 (cash) in these tables [TPMERC]"),
    Column("short_name", "string", False, "issuer short name, trailing blanks removed [NOMRES]"),
    Column(
        "specification",
        "string",
        False,
        "class, event flag and listing segment as sent, trailing blanks removed [ESPECI]",
    ),
    Column("currency", "string", False, "currency of the prices, e.g. R$ [MODREF]"),
    Column("open", _PRICE, False, "first trade price per unit [PREABE / FATCOT]"),
    Column("high", _PRICE, False, "highest trade price per unit [PREMAX / FATCOT]"),
    Column("low", _PRICE, False, "lowest trade price per unit [PREMIN / FATCOT]"),
    Column("average", _PRICE, False, "average trade price per unit [PREMED / FATCOT]"),
    Column("close", _PRICE, False, "last trade price per unit [PREULT / FATCOT]"),
    Column("best_bid", _PRICE, True, "best buy offer per unit at the close, null if none [PREOFC / FATCOT]"),
    Column("best_ask", _PRICE, True, "best sell offer per unit at the close, null if none [PREOFV / FATCOT]"),
    Column("trades", "int", False, "number of trades [TOTNEG]"),
    Column("quantity", "bigint", False, "units traded [QUATOT]"),
    Column("volume", "decimal(20,2)", False, "value traded in the currency [VOLTOT]"),
    Column("quote_factor", "int", False, "the file quotes prices per this many units: 1 or 1000 [FATCOT]"),
    Column(
        "distribution", "int", False, "distribution number, bumped by B3 at each corporate event [DISMES]"
    ),
)

QUOTES_RAW: tuple[Column, ...] = (*QUOTES_FIELDS, *LINEAGE)

#: The refined quotes: every field but the session date, which is the partition (one per session).
QUOTES_REFINED: tuple[Column, ...] = tuple(c for c in QUOTES_FIELDS if c.name != "session_date")

QUOTES_PARTITIONS: tuple[Column, ...] = (Column("session_date", "date", False, "trading session"),)


def check_table_name(name: str) -> str:
    """A Glue/Athena/DuckDB-safe table name (lower case letters, digits, underscores)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,127}", name):
        raise ValueError(f"not a valid table name: {name!r} (use lower case letters, digits and _)")
    return name


def sql_file(name: str) -> str:
    """``ibovcli/sql/<name>``, read from the package (a directory, or the zip the Glue job is given)."""
    from importlib import resources

    return (resources.files("ibovcli") / "sql" / name).read_text(encoding="utf-8")


def duckdb_type(hive_type: str) -> str:
    """The DuckDB spelling of a Hive/Athena type."""
    t = hive_type.lower()
    simple = {
        "string": "VARCHAR",
        "date": "DATE",
        "bigint": "BIGINT",
        "int": "INTEGER",
        "double": "DOUBLE",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMPTZ",
    }
    if t in simple:
        return simple[t]
    if t.startswith("decimal("):
        return t.upper()
    raise ValueError(f"no DuckDB type for {hive_type}")


def arrow_schema(columns: tuple[Column, ...]) -> object:
    """The pyarrow schema of ``columns`` (pyarrow is imported here: it is heavy)."""
    import pyarrow as pa

    def to_arrow(t: str) -> object:
        simple = {
            "string": pa.string(),
            "date": pa.date32(),
            "bigint": pa.int64(),
            "int": pa.int32(),
            "double": pa.float64(),
            "boolean": pa.bool_(),
            "timestamp": pa.timestamp("us", tz="UTC"),
        }
        if t in simple:
            return simple[t]
        if t.startswith("decimal("):
            p, s = (int(x) for x in t[len("decimal(") : -1].split(","))
            return pa.decimal128(p, s)
        raise ValueError(f"no arrow type for {t}")

    return pa.schema([pa.field(c.name, to_arrow(c.type), nullable=c.nullable) for c in columns])
