"""Saved queries on Athena: statement, parameters, polling, paging, typing; output identical to local."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.athena.models import QueryResults, athena_backends
from moto.core import DEFAULT_ACCOUNT_ID

from ibovcli import pipeline, queries
from ibovcli.aws import athena
from ibovcli.errors import NoData, NotDeployed, QueryFailed
from ibovcli.settings import Settings
from tests.aws_helpers import (
    BUCKET,
    REGION,
    WORKGROUP,
    FakeClock,
    athena_rows,
    client,
    moto_server,  # noqa: F401 - fixture
    queue_athena_days,
    queue_athena_result,
    refined_column_info,
)
from tests.aws_helpers import _moto_server_session as _moto_server_session
from tests.conftest import FIXTURES, run_ibov

TOP_COLUMNS = ["session_date", "weight_rank", "ticker", "company", "sector", "weight_pct"]


@pytest.mark.parametrize(
    ("text", "athena_type", "expected"),
    [
        ("PETR4", "varchar", "PETR4"),
        ("18.250", "decimal", Decimal("18.250")),
        ("3", "integer", 3),
        ("1481593024", "bigint", 1481593024),
        ("0.5", "double", 0.5),
        ("true", "boolean", True),
        ("2025-04-30", "date", date(2025, 4, 30)),
        ("2025-04-30 21:03:12.123", "timestamp", datetime(2025, 4, 30, 21, 3, 12, 123000, tzinfo=UTC)),
        (
            "2025-04-30 21:03:12.123 UTC",
            "timestamp with time zone",
            datetime(2025, 4, 30, 21, 3, 12, 123000, UTC),
        ),
        ("[1, 2]", "array", "[1, 2]"),
        (None, "decimal", None),
    ],
)
def test_convert_types_values_like_duckdb(text: str | None, athena_type: str, expected: Any) -> None:
    value = athena.convert(text, athena_type)
    assert value == expected and type(value) is type(expected)


def stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("athena", region_name=REGION)
    return client, Stubber(client)


def execution(state: str, reason: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"State": state}
    if reason:
        status["StateChangeReason"] = reason
    return {"QueryExecution": {"QueryExecutionId": "q-1", "Status": status}}


def test_saved_query_polls_with_backoff_and_pages_through_results() -> None:
    q = queries.get("top-weights")
    # latest, resolved before the query: the statement gets the stored day itself
    params = queries.resolve(
        q, queries.bind(q, {"index": "ibov", "limit": "3"}), lambda _index: ["2025-04-28", "2025-04-30"]
    ).params
    sql, order = queries.athena_statement(q.sql, {"portfolio": "ibov_compact"})
    expected_start = {
        "QueryString": sql,
        "WorkGroup": WORKGROUP,
        "QueryExecutionContext": {"Database": "default"},
        "ExecutionParameters": ["'IBOV'", "'2025-04-30'", "'2025-04-30'", "3"],
    }
    # the day bounds dt, and its month the compact table's month partition
    assert order == ["index", "date", "date", "limit"]
    assert "t.dt = ?" in sql and "t.month = substr(?, 1, 7)" in sql
    assert "${portfolio}" not in sql and "FROM ibov_compact AS t" in sql
    info = refined_column_info(TOP_COLUMNS)
    data = [
        (date(2025, 4, 30), 1, "VALE3", "VALE", None, Decimal("18.250")),
        (date(2025, 4, 30), 2, "ITUB4", "ITAUUNIBANCO", "Financeiro", Decimal("14.500")),
        (date(2025, 4, 30), 3, "PETR4", "PETROBRAS", None, Decimal("12.750")),
    ]
    rows = athena_rows(TOP_COLUMNS, data, info)
    client, stub = stubbed()
    stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"}, expected_start)
    for state in ("QUEUED", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"):
        stub.add_response("get_query_execution", execution(state), {"QueryExecutionId": "q-1"})
    page1 = {"ResultSet": {"Rows": rows[:2], "ResultSetMetadata": {"ColumnInfo": info}}, "NextToken": "t2"}
    page2 = {"ResultSet": {"Rows": rows[2:], "ResultSetMetadata": {"ColumnInfo": info}}}
    stub.add_response("get_query_results", page1, {"QueryExecutionId": "q-1"})
    stub.add_response("get_query_results", page2, {"QueryExecutionId": "q-1", "NextToken": "t2"})
    pauses = FakeClock()
    with stub:
        columns, got = athena.run(
            client,
            sql,
            [queries.athena_literal(params[name]) for name in order],
            workgroup=WORKGROUP,
            database="default",
            sleep=pauses.sleep,
            clock=pauses,
        )
    stub.assert_no_pending_responses()
    assert columns == TOP_COLUMNS
    assert got == data  # the header row is dropped once, the rows of page 2 are kept
    assert [[type(v) for v in r] for r in got] == [[type(v) for v in r] for r in data]  # 18.25 == Decimal
    assert pauses.sleeps == pytest.approx([0.2, 0.3, 0.45, 0.675])


def test_a_failed_query_carries_athenas_reason() -> None:
    client, stub = stubbed()
    stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"}, None)
    reason = "TABLE_NOT_FOUND: line 12:6: Table 'awsdatacatalog.default.ibov_refined' does not exist"
    stub.add_response("get_query_execution", execution("FAILED", reason), None)
    with stub, pytest.raises(QueryFailed) as caught:
        athena.run(
            client, "SELECT 1", [], workgroup=WORKGROUP, database="default", what="query top-weights",
            sleep=lambda _s: None,
        )  # fmt: skip
    assert str(caught.value) == f"Athena query top-weights FAILED: {reason}"
    assert caught.value.exit_code == 6
    assert "first successful Glue run" in caught.value.hint


def test_runs_against_moto_with_canned_results() -> None:
    with mock_aws():
        athena_client = boto3.client("athena", region_name=REGION)
        athena_client.create_work_group(Name=WORKGROUP)
        info = refined_column_info(TOP_COLUMNS)
        data = [(date(2025, 4, 30), 1, "VALE3", "VALE", None, Decimal("18.250"))]
        athena_backends[DEFAULT_ACCOUNT_ID][REGION].query_results_queue.append(
            QueryResults(rows=athena_rows(TOP_COLUMNS, data, info), column_info=info)
        )
        columns, rows = athena.run(
            athena_client, "SELECT 1", [], workgroup=WORKGROUP, database="default", sleep=lambda _s: None
        )
        assert (columns, rows) == (TOP_COLUMNS, data)
        [execution_id] = athena_client.list_query_executions(WorkGroup=WORKGROUP)["QueryExecutionIds"]
        started = athena_client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
        assert started["QueryExecutionContext"]["Database"] == "default"
        with pytest.raises(NotDeployed, match="the Athena workgroup nope cannot be used"):
            athena.start(athena_client, "SELECT 1", [], workgroup="nope", database="default")


def test_query_on_aws_prints_exactly_like_local(tmp_path: Path, moto_server: str) -> None:  # noqa: F811
    """`ibov query top-weights` on Athena (moto, with the local engine's rows as Athena would print them)
    gives the same JSON and the same table as the local engine on the same data."""
    client("athena").create_work_group(Name=WORKGROUP)
    lake = tmp_path / "lake"
    loaded = run_ibov(
        "run", "--from", str(FIXTURES / "b3" / "IBOVDia_30-04-25_crlf.csv"), "--lake", str(lake)
    )
    assert loaded.code == 0, loaded.stderr
    # the bucket holds the same raw snapshot: `latest` is resolved from its listing and the catalog's days
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for raw in sorted((lake / "raw").rglob("*.parquet")):
        s3.put_object(Bucket=BUCKET, Key=raw.relative_to(lake).as_posix(), Body=raw.read_bytes())
    aws_env = {"AWS_ENDPOINT_URL": moto_server, "IBOV_BUCKET": BUCKET, "IBOV_WORKGROUP": WORKGROUP}
    for args in (["--json"], ["--limit", "4"], ["--format", "csv", "--date", "2025-04-30"]):
        local = run_ibov("query", "top-weights", "--lake", str(lake), *args)
        assert local.code == 0, local.stderr
        given = dict(zip(args[::2], args[1::2], strict=False))
        params = {k.lstrip("-"): v for k, v in given.items() if k in ("--limit", "--date")}
        expected = pipeline.query(Settings.load(lake_dir=lake), "top-weights", params)
        assert expected.columns == TOP_COLUMNS and expected.rows
        local_rows = expected.rows
        if "--date" not in args:  # latest: first the partition metadata query, then the data query
            queue_athena_days(moto_server, ["2025-04-30"])
        queue_athena_result(moto_server, TOP_COLUMNS, local_rows)
        remote = run_ibov("query", "top-weights", "--engine", "aws", *args, env=aws_env)
        assert remote.code == 0, remote.stderr
        assert remote.stdout == local.stdout


# -- dates resolved before the query: the data query filters dt with a plain parameter ---------------


def days_result(days: list[str]) -> QueryResults:
    info = [{"Name": "dt", "Label": "dt", "Type": "varchar", "Nullable": "UNKNOWN", "CaseSensitive": True}]
    return QueryResults(rows=athena_rows(["dt"], [(d,) for d in days], info), column_info=info)


def executions(athena_client: Any) -> list[dict[str, Any]]:
    """Every Athena query started, oldest first, as Athena records it."""
    ids = athena_client.list_query_executions(WorkGroup=WORKGROUP)["QueryExecutionIds"]
    found = [athena_client.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]
    return sorted(found, key=lambda e: e["Status"]["SubmissionDateTime"])


@pytest.fixture
def aws_engine() -> Any:
    from ibovcli.aws.clients import Aws
    from ibovcli.engines.aws import AwsEngine

    with mock_aws():
        aws = Aws.connect(region=REGION)
        aws.athena().create_work_group(Name=WORKGROUP)
        settings = Settings.load(
            engine="aws", bucket=BUCKET, glue_job="ibov-refine", workgroup=WORKGROUP, table="ibov_refined"
        )
        yield AwsEngine(aws, settings, sleep=lambda _s: None), settings


def test_a_given_date_reaches_athena_as_a_plain_dt_parameter(aws_engine: Any) -> None:
    engine, settings = aws_engine
    # no bucket, no catalog: a given date needs no lookup, so nothing but the data query is sent
    result = pipeline.query(settings, "top-weights", {"date": "2025-04-30", "limit": "3"}, engine=engine)
    assert result.rows == []  # moto runs no SQL
    [data] = executions(engine.aws.athena())
    assert "t.dt = ?" in data["Query"] and "SELECT coalesce" not in data["Query"]
    assert "t.month = substr(?, 1, 7)" in data["Query"] and "FROM ibov_compact AS t" in data["Query"]
    assert data["ExecutionParameters"] == ["'IBOV'", "'2025-04-30'", "'2025-04-30'", "3"]


def test_latest_comes_from_the_raw_listing_and_the_partition_metadata(aws_engine: Any) -> None:
    engine, settings = aws_engine
    s3 = engine.aws.s3()
    s3.create_bucket(Bucket=BUCKET)
    for day in ("2025-04-28", "2025-04-30", "2025-05-05"):
        s3.put_object(Bucket=BUCKET, Key=f"raw/dt={day}/IBOV.parquet", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="raw/dt=2025-05-02/SMLL.parquet", Body=b"x")
    queue = athena_backends[DEFAULT_ACCOUNT_ID][REGION].query_results_queue
    # 2025-05-05 is uploaded but its Glue run has not cataloged it yet; 2025-05-02 is SMLL's only
    queue.append(days_result(["2025-04-28", "2025-04-30", "2025-05-02"]))
    assert engine.stored_days("portfolio", "IBOV") == ["2025-04-28", "2025-04-30"]
    [listing] = executions(engine.aws.athena())
    assert listing["Query"] == 'SELECT DISTINCT "dt" FROM "default"."ibov_refined$partitions"'
    assert "ExecutionParameters" not in listing

    queue.append(days_result(["2025-04-28", "2025-04-30", "2025-05-02"]))
    pipeline.query(settings, "rebalance-diff", {"from": "2025-04-29"}, engine=engine)
    *_, days_query, data = executions(engine.aws.athena())
    assert "$partitions" in days_query["Query"]
    assert data["Query"].count("t.dt = ?") == 2
    # before: index, from, from's month; after: index, to, to's month; from_date, to_date. --from
    # 2025-04-29 is read on or before it, and --to latest is the last cataloged day (2025-05-05 is not
    # in the catalog yet)
    assert data["ExecutionParameters"] == [
        "'IBOV'",
        "'2025-04-28'",
        "'2025-04-28'",
        "'IBOV'",
        "'2025-04-30'",
        "'2025-04-30'",
        "'2025-04-28'",
        "'2025-04-30'",
    ]


def test_an_index_without_raw_days_fails_before_athena(aws_engine: Any) -> None:
    engine, settings = aws_engine
    engine.aws.s3().create_bucket(Bucket=BUCKET)
    with pytest.raises(NoData, match="no IBXX portfolio is stored"):
        pipeline.query(settings, "sector-weights", {"index": "IBXX"}, engine=engine)
    assert executions(engine.aws.athena()) == []


def test_ibov_sql_reaches_athena_verbatim_with_table_names(aws_engine: Any) -> None:
    engine, settings = aws_engine
    statement = "SELECT index_code, ':kept' AS x FROM ${levels} WHERE year = 2022;"
    result = pipeline.sql(settings, statement, engine=engine)
    assert (result.rows, result.empty) == ([], "the statement returned no rows")  # moto runs no SQL
    [data] = executions(engine.aws.athena())
    assert data["Query"] == "SELECT index_code, ':kept' AS x FROM ibov_levels WHERE year = 2022"
    assert "ExecutionParameters" not in data
