"""Athena: run a saved query in the stack's workgroup, wait for it, page through and type its rows.

Athena returns every value as text (``VarCharValue``); :func:`convert` types it from the column's
Athena type so that rows print exactly as the local engine's DuckDB rows do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ibovcli.aws.clients import error_code, error_message
from ibovcli.errors import NotDeployed, QueryFailed

if TYPE_CHECKING:
    from mypy_boto3_athena import AthenaClient

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})

Sleep = Callable[[float], None]
Clock = Callable[[], float]

_INTS = {"tinyint", "smallint", "integer", "int", "bigint"}
_FLOATS = {"double", "float", "real"}


def convert(text: str | None, athena_type: str) -> Any:
    """One Athena result value (text, ``None`` for NULL) as the Python value DuckDB would return.

    varchar/char -> str, decimal -> Decimal, integers -> int, double/real -> float, boolean -> bool,
    date -> date, timestamp -> datetime in UTC (Athena prints timestamps in UTC; the local engine's are
    UTC-aware); anything else (arrays, maps, rows, json) stays text.
    """
    if text is None:
        return None
    t = athena_type.lower().split("(", 1)[0].strip()
    if t in ("varchar", "char", "string"):
        return text
    if t == "decimal":
        return Decimal(text)
    if t in _INTS:
        return int(text)
    if t in _FLOATS:
        return float(text)
    if t == "boolean":
        return text.lower() == "true"
    if t == "date":
        return date.fromisoformat(text)
    if t.startswith("timestamp"):
        return _timestamp(text)
    return text


def _timestamp(text: str) -> datetime | str:
    value = text.strip()
    zone = None
    if value.endswith(" UTC"):
        value, zone = value[: -len(" UTC")], UTC
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return text
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone or UTC)
    return parsed


def start(
    client: AthenaClient,
    sql: str,
    parameters: list[str],
    *,
    workgroup: str,
    database: str,
) -> str:
    kwargs: dict[str, Any] = {
        "QueryString": sql,
        "WorkGroup": workgroup,
        "QueryExecutionContext": {"Database": database},
    }
    if parameters:
        kwargs["ExecutionParameters"] = parameters
    from botocore.exceptions import ClientError

    try:
        return client.start_query_execution(**kwargs)["QueryExecutionId"]
    except ClientError as exc:
        message = error_message(exc)
        if error_code(exc) == "InvalidRequestException" and "WorkGroup" in message:
            raise NotDeployed(f"the Athena workgroup {workgroup} cannot be used: {message}") from None
        raise


def wait(
    client: AthenaClient,
    query_id: str,
    *,
    what: str = "query",
    first_delay: float = 0.2,
    max_delay: float = 2.0,
    timeout: float = 600.0,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> dict[str, Any]:
    """Poll with a growing delay until the query ends; :class:`QueryFailed` with Athena's reason unless it
    SUCCEEDED."""
    delay = first_delay
    deadline = clock() + timeout
    while True:
        response = client.get_query_execution(QueryExecutionId=query_id)
        execution: dict[str, Any] = dict(response["QueryExecution"])
        status: dict[str, Any] = dict(execution.get("Status", {}))
        state = status.get("State", "")
        if state in TERMINAL:
            break
        if clock() >= deadline:
            client.stop_query_execution(QueryExecutionId=query_id)
            raise QueryFailed(f"Athena {what} ({query_id}) still {state} after {timeout:.0f}s; cancelled it")
        sleep(delay)
        delay = min(delay * 1.5, max_delay)
    if state != "SUCCEEDED":
        reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage") or ""
        hint = None
        if "TABLE_NOT_FOUND" in reason or "does not exist" in reason:
            hint = (
                "The refined table appears after the first successful Glue run: `ibov run --engine aws`, "
                "then `ibov status --engine aws`."
            )
        raise QueryFailed(f"Athena {what} {state}: {reason or 'no reason given'}", hint=hint)
    return execution


def results(client: AthenaClient, query_id: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and typed rows of a finished SELECT, across every result page."""
    columns: list[str] = []
    types: list[str] = []
    rows: list[tuple[Any, ...]] = []
    header_skipped = False
    for page in client.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
        result_set = page.get("ResultSet", {})
        if not columns:
            info = result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
            columns = [c["Name"] for c in info]
            types = [c["Type"] for c in info]
        for row in result_set.get("Rows", []):
            cells: list[Mapping[str, Any]] = list(row.get("Data", []))
            texts = [c.get("VarCharValue") for c in cells]
            if not header_skipped:
                header_skipped = True  # a SELECT's first row repeats the column names
                if texts == columns:
                    continue
            rows.append(tuple(convert(v, t) for v, t in zip(texts, types, strict=True)))
    return columns, rows


def partition_values(
    client: AthenaClient,
    column: str,
    *,
    workgroup: str,
    database: str,
    table: str,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> set[str]:
    """The distinct values of one partition column of the table, from Athena's partition metadata table
    ``"<table>$partitions"``.

    Metadata only: Athena reads the partition list from the Glue catalog and opens no S3 object, so the
    query is billed the 10 MB minimum; the client makes one StartQueryExecution, the polls, and one
    GetQueryResults per 1,000 values. (Glue ``GetPartitions`` instead returns one entry per (dt, ticker):
    about 217 pages of 1,000 after ten years of IBOV.)
    """
    # quoted identifiers, not values: a metadata table name cannot be an execution parameter
    target = f"{_quoted(database)}.{_quoted(table + '$partitions')}"
    sql = f"SELECT DISTINCT {_quoted(column)} FROM {target}"  # nosec B608
    query_id = start(client, sql, [], workgroup=workgroup, database=database)
    wait(client, query_id, what=f"listing the partitions of {table}", sleep=sleep, clock=clock)
    _columns, rows = results(client, query_id)
    return {str(r[0]) for r in rows if r and r[0] is not None}


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def run(
    client: AthenaClient,
    sql: str,
    values: list[str],
    *,
    workgroup: str,
    database: str,
    what: str = "query",
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run ``sql`` (``?`` placeholders, ``values`` as ``ExecutionParameters``), wait, and page through
    its typed rows."""
    query_id = start(client, sql, values, workgroup=workgroup, database=database)
    wait(client, query_id, what=what, sleep=sleep, clock=clock)
    return results(client, query_id)
