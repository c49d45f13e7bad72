"""The shape of the data, as plain data: raw zone columns, refined zone columns, partition keys.

Every engine renders its types from here: pyarrow for raw writes, Spark/DuckDB casts in the Glue job
and tests, the Athena/Glue table. Type names use the Hive/Athena spelling, which Spark SQL accepts as is.
Stdlib only: this module ships to the Glue job.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Name of the refined table, in the Glue Data Catalog database ``default`` and in the local catalog.
REFINED_TABLE = "ibov_refined"
#: Glue Data Catalog database of the refined table (rule R7).
CATALOG_DATABASE = "default"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Hive/Athena spelling: string, date, bigint, int, decimal(p,s), timestamp
    nullable: bool = True
    comment: str = ""


RAW: tuple[Column, ...] = (
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
    Column("collected_at", "timestamp", False, "when ibov collected the snapshot (UTC)"),
    Column("source", "string", False, "URL or file the snapshot came from"),
    Column("source_format", "string", False, "format of the original bytes, e.g. json/pt-br/segment-2"),
    Column("source_sha256", "string", False, "sha256 of the original bytes (kept under snapshots/)"),
)

#: Refined zone data columns, in file order. The partition columns come after them.
REFINED: tuple[Column, ...] = (
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

#: Partition columns of the refined zone (strings in Hive paths and in the catalog).
REFINED_PARTITION_COLUMNS: tuple[Column, ...] = (
    Column("dt", "string", False, "trading session, YYYY-MM-DD"),
    Column("ticker", "string", False, "B3 ticker"),
)

#: The columns R5-B renames (raw name -> refined name). None of them is a grouping column.
RENAMED = {"asset": "company", "part": "weight_pct", "theoricalQty": "theoretical_qty"}


def refine_sql() -> str:
    """``ibovcli/sql/refine.sql``: the one definition of the RAW -> REFINED transformation, read from the
    package (a directory, or the zip the Glue job is given), for DuckDB and Spark alike."""
    from importlib import resources

    return (resources.files("ibovcli") / "sql" / "refine.sql").read_text(encoding="utf-8")


def check_table_name(name: str) -> str:
    """A Glue/Athena/DuckDB-safe table name (lower case letters, digits, underscores)."""
    import re

    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,127}", name):
        raise ValueError(f"not a valid table name: {name!r} (use lower case letters, digits and _)")
    return name


def refined_columns() -> tuple[Column, ...]:
    """Data columns then partition columns, as the engines expose the table."""
    return REFINED + REFINED_PARTITION_COLUMNS


def athena_ddl(table: str, location: str, database: str = CATALOG_DATABASE) -> str:
    """``CREATE EXTERNAL TABLE`` statement for the refined zone at ``location`` (s3://.../refined/)."""
    cols = ",\n".join(f"  `{c.name}` {c.type} COMMENT '{c.comment}'" for c in REFINED)
    parts = ", ".join(f"`{c.name}` {c.type}" for c in REFINED_PARTITION_COLUMNS)
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{table}` (\n{cols}\n)\n"
        f"PARTITIONED BY ({parts})\nSTORED AS PARQUET\nLOCATION '{location}'"
    )


def arrow_raw_schema() -> object:
    """The raw zone's pyarrow schema (imported lazily: pyarrow is heavy)."""
    import pyarrow as pa

    def to_arrow(t: str) -> object:
        if t == "string":
            return pa.string()
        if t == "date":
            return pa.date32()
        if t == "bigint":
            return pa.int64()
        if t == "int":
            return pa.int32()
        if t == "timestamp":
            return pa.timestamp("us", tz="UTC")
        if t.startswith("decimal("):
            p, s = (int(x) for x in t[len("decimal(") : -1].split(","))
            return pa.decimal128(p, s)
        raise ValueError(f"no arrow type for {t}")

    return pa.schema([pa.field(c.name, to_arrow(c.type), nullable=c.nullable) for c in RAW])
