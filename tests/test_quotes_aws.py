"""The quotes dataset on AWS (moto): an upload under raw/quotes/ starts the Glue job for its session,
and contribution / reconcile reach Athena from the same SQL files, printing exactly like local."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from ibovcli import pipeline
from ibovcli.settings import Settings
from tests import quotes_lake
from tests.aws_helpers import (
    BUCKET,
    REGION,
    WORKGROUP,
    athena_column,
    athena_rows,
    client,
    moto_server,  # noqa: F401 - fixture
)
from tests.aws_helpers import _moto_server_session as _moto_server_session
from tests.conftest import run_ibov
from tests.test_lambda import JOB, Context, event, record
from tests.test_lambda import glue as glue
from tests.test_lambda import lam as lam

#: Athena's type of each column of the two queries (as Athena would print them).
TYPES = {
    "session_date": "date",
    "previous_session_date": "date",
    "ticker": "string",
    "company": "string",
    "corporate_event": "string",
    "weight_pct": "decimal(7,3)",
    "previous_close": "decimal(20,8)",
    "close": "decimal(20,8)",
    "official_level": "decimal(18,2)",
    "constituents": "bigint",
    "weights_checked": "bigint",
    "worst_weight_ticker": "string",
    "missing": "string",
}


def test_an_upload_of_a_session_starts_the_job_for_that_session(lam: Any, glue: Any) -> None:
    summary = lam.handler(
        event(
            record("raw/quotes/session_date=2024-11-08/COTAHIST.parquet"),
            record("raw/quotes/session_date=2024-11-07/COTAHIST.parquet"),
            record("raw/quotes/session_date=2024-11-08/other.parquet"),  # not a quotes raw file
        ),
        Context(),
    )
    runs = glue.get_job_runs(JobName=JOB)["JobRuns"]
    assert sorted((r["Arguments"]["--dataset"], r["Arguments"]["--unit"]) for r in runs) == [
        ("quotes", "2024-11-07"),
        ("quotes", "2024-11-08"),
    ]
    assert summary["ignored"] == ["raw/quotes/session_date=2024-11-08/other.parquet"]


@pytest.mark.parametrize(
    ("name", "params", "order"),
    [
        ("contribution", {"date": "2024-11-08"}, ["'IBOV'", "'2024-11-08'"]),
        ("reconcile", {"date": "2024-11-08", "from": "2024-11-01", "to": "2024-11-11"}, None),
    ],
)
def test_the_queries_reach_athena_from_the_same_sql_and_come_back_typed_like_local(
    tmp_path: Path, name: str, params: dict[str, str], order: list[str] | None
) -> None:
    """The Athena rendering of the same SQL file (tables from the catalog, ``?`` parameters in order)
    is what StartQueryExecution gets; Athena's text answer comes back as the local engine's values."""
    from botocore.stub import Stubber

    from ibovcli import queries
    from ibovcli.aws import athena

    lake = tmp_path / "lake"
    quotes_lake.build(lake, tmp_path)
    local = pipeline.query(Settings.load(lake_dir=lake), name, params)
    assert local.rows
    q = queries.get(name)
    resolved = queries.resolve(q, queries.bind(q, params), lambda _i: ["2024-11-08", "2024-11-11"]).params
    sql, names = queries.athena_statement(
        q.sql, {"portfolio": "ibov_refined", "levels": "ibov_levels", "quotes": "ibov_quotes"}
    )
    assert "${" not in sql and "FROM ibov_quotes AS q" in sql and "FROM ibov_refined AS t" in sql
    values = [queries.athena_literal(resolved[n]) for n in names]
    if order is not None:
        assert values == [order[["index", "date"].index(n)] for n in names]
    assert sql.count("?") == len(values)
    info = [athena_column(c, TYPES.get(c, "double")) for c in local.columns]
    rows = athena_rows(local.columns, local.rows, info)
    athena_client = client("athena")
    stub = Stubber(athena_client)
    stub.add_response(
        "start_query_execution",
        {"QueryExecutionId": "q-1"},
        {
            "QueryString": sql,
            "WorkGroup": WORKGROUP,
            "QueryExecutionContext": {"Database": "default"},
            "ExecutionParameters": values,
        },
    )
    stub.add_response(
        "get_query_execution",
        {"QueryExecution": {"QueryExecutionId": "q-1", "Status": {"State": "SUCCEEDED"}}},
        {"QueryExecutionId": "q-1"},
    )
    stub.add_response(
        "get_query_results",
        {"ResultSet": {"Rows": rows, "ResultSetMetadata": {"ColumnInfo": info}}},
        {"QueryExecutionId": "q-1"},
    )
    with stub:
        columns, got = athena.run(athena_client, sql, values, workgroup=WORKGROUP, database="default")
    stub.assert_no_pending_responses()
    assert columns == local.columns
    assert [tuple(float(v) if isinstance(v, float) else v for v in r) for r in got] == local.rows


def queue(server: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    info = [athena_column(c, TYPES.get(c, "double")) for c in columns]
    body = {"region": REGION, "results": [{"rows": athena_rows(columns, rows, info), "column_info": info}]}
    requests.post(f"{server}/moto-api/static/athena/query-results", json=body, timeout=10).raise_for_status()


@pytest.mark.parametrize(
    "args",
    [
        ("contribution", "--date", "2024-11-08"),
        ("reconcile", "--date", "2024-11-08", "--from", "2024-11-08", "--to", "2024-11-11"),
    ],
)
def test_on_athena_the_answer_prints_exactly_like_local(
    tmp_path: Path,
    moto_server: str,  # noqa: F811
    args: tuple[str, ...],
) -> None:
    from botocore.exceptions import ClientError

    try:
        client("athena").create_work_group(Name=WORKGROUP)
    except ClientError as exc:  # botocore >= 1.44 speaks rest-json to Athena; moto 5.2 serves json
        pytest.skip(f"this moto cannot serve this botocore's Athena protocol: {exc}")
    lake = tmp_path / "lake"
    quotes_lake.build(lake, tmp_path)
    name, *rest = args
    params = dict(zip([a.lstrip("-") for a in rest[::2]], rest[1::2], strict=True))
    expected = pipeline.query(Settings.load(lake_dir=lake), name, params)
    assert expected.rows
    aws_env = {"AWS_ENDPOINT_URL": moto_server, "IBOV_BUCKET": BUCKET, "IBOV_WORKGROUP": WORKGROUP}
    for fmt in ("--json", "--format=csv"):
        local = run_ibov("query", *args, fmt, "--lake", str(lake))
        assert local.code == 0, local.stderr
        queue(moto_server, expected.columns, expected.rows)
        remote = run_ibov("query", *args, fmt, "--engine", "aws", env=aws_env)
        assert remote.code == 0, remote.stderr
        assert remote.stdout == local.stdout
