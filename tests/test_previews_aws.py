"""The theoretical and preview datasets on the AWS engine (moto): the upload writes the raw file and its
snapshot at the layout's keys, the Lambda starts the Glue job for the index's unit, status reads the
S3 listings (and the next rebalance from them), and rebalance-preview runs on Athena."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from moto.athena.models import QueryResults, athena_backends
from moto.core import DEFAULT_ACCOUNT_ID

from ibovcli import periods, pipeline, previews, rawfiles
from ibovcli.settings import Settings
from tests import fake_previews as fp
from tests.aws_helpers import (
    BUCKET,
    JOB,
    REGION,
    WORKGROUP,
    LambdaContext,
    athena_column,
    athena_rows,
    client,
    create_job,
    load_lambda,
    moto_server,  # noqa: F401 - fixture
    s3_event,
)
from tests.aws_helpers import _moto_server_session as _moto_server_session
from tests.conftest import run_ibov


def test_upload_writes_the_collection_and_the_lambda_starts_the_index_unit(
    tmp_path: Path,
    moto_server: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s3, glue = client("s3"), client("glue")
    s3.create_bucket(Bucket=BUCKET)
    create_job(glue)
    path = tmp_path / "preview.csv"
    path.write_bytes(fp.period_csv(fp.PREVIEW_IBOV_2025_09))
    r = run_ibov(
        "scrape", "preview", "--from", str(path), "--date", "2025-08-20", "--engine", "aws",
        "--bucket", BUCKET, "--json", env={"AWS_ENDPOINT_URL": moto_server},
    )  # fmt: skip
    assert r.code == 0, r.stderr
    [stored] = json.loads(r.stdout)
    key = stored["key"]
    assert key.startswith("raw/preview/index_code=IBOV/2025-09..12_2025-08-20_")
    snapshot = "snapshots/" + key[len("raw/") : -len(".parquet")] + ".csv"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == [key, snapshot]
    assert s3.get_object(Bucket=BUCKET, Key=snapshot)["Body"].read() == path.read_bytes()

    lam = load_lambda(monkeypatch)
    summary = lam.handler(s3_event(s3, BUCKET, key), LambdaContext())
    [run] = glue.get_job_runs(JobName=JOB)["JobRuns"]
    assert (run["Arguments"]["--dataset"], run["Arguments"]["--unit"]) == ("preview", "IBOV")
    assert [s["run_id"] for s in summary["started"]] == [run["Id"]]


@pytest.fixture
def aws_engine() -> Iterator[tuple[Any, Settings]]:
    from ibovcli.aws.clients import Aws
    from ibovcli.engines.aws import AwsEngine

    with mock_aws():
        aws = Aws.connect(region=REGION)
        aws.athena().create_work_group(Name=WORKGROUP)
        aws.s3().create_bucket(Bucket=BUCKET)
        create_job(aws.glue())
        settings = Settings.load(
            engine="aws", bucket=BUCKET, glue_job=JOB, workgroup=WORKGROUP, table="ibov_refined"
        )
        yield AwsEngine(aws, settings, sleep=lambda _s: None), settings


def _preview(period: periods.Period, day: date) -> rawfiles.RawWrite:
    data = fp.period_csv(fp.PREVIEW_IBOV_2025_09)
    p = previews.parse_period_portfolio(data, kind="preview", index=None, period=None)
    return rawfiles.period(previews.PeriodPortfolio(**{**p.__dict__, "period": period}), day)


def test_status_reads_the_listings_and_the_next_rebalance(aws_engine: Any) -> None:
    engine, _settings = aws_engine
    nxt = periods.Period.containing(periods.brasilia_today()).next()
    engine.write_raw([_preview(nxt, date(2025, 8, 20)), _preview(nxt, date(2025, 8, 21))])
    glue = engine.aws.glue()
    glue.create_database(DatabaseInput={"Name": "default"})
    glue.create_table(
        DatabaseName="default",
        TableInput={
            "Name": "ibov_preview",
            "PartitionKeys": [{"Name": "index_code", "Type": "string"}, {"Name": "period", "Type": "string"}],
        },
    )
    report = engine.status()
    [cov] = report.of("preview")
    # two collections of one period, not yet cataloged by the Glue job
    assert (cov.index, cov.first, cov.last, cov.stored, cov.refined) == ("IBOV", nxt.label, nxt.label, 2, 0)
    glue.create_partition(
        DatabaseName="default",
        TableName="ibov_preview",
        PartitionInput={"Values": ["IBOV", nxt.label], "StorageDescriptor": {"Columns": []}},
    )
    report = engine.status()
    [cov] = report.of("preview")
    assert (cov.stored, cov.refined) == (2, 2)
    [reb] = report.rebalances()
    assert (reb.index, reb.period, reb.preview_stored) == ("IBOV", nxt, True)
    assert report.as_json()["rebalances"][0]["next_period"] == nxt.label


COLUMNS = [
    ("period", "string"),
    ("preview_collected_on", "date"),
    ("portfolio_date", "date"),
    ("ticker", "string"),
    ("company", "string"),
    ("change", "string"),
    ("current_weight_pct", "decimal(7,3)"),
    ("preview_weight_pct", "decimal(7,3)"),
    ("delta_weight_pct", "decimal(8,3)"),
    ("n_entering", "bigint"),
    ("n_leaving", "bigint"),
    ("n_staying", "bigint"),
]


def _result(columns: list[tuple[str, str]], rows: list[tuple[Any, ...]]) -> QueryResults:
    info = [athena_column(name, t) for name, t in columns]
    return QueryResults(rows=athena_rows([n for n, _ in columns], rows, info), column_info=info)


def test_rebalance_preview_on_athena(aws_engine: Any) -> None:
    engine, settings = aws_engine
    s3 = engine.aws.s3()
    for day in ("2025-04-30", "2025-05-05"):
        s3.put_object(Bucket=BUCKET, Key=f"raw/dt={day}/IBOV.parquet", Body=b"x")
    queue = athena_backends[DEFAULT_ACCOUNT_ID][REGION].query_results_queue
    queue.append(_result([("dt", "string")], [("2025-04-30",), ("2025-05-05",)]))
    d = date(2025, 8, 25)
    answer = [
        ("2025-09..12", d, date(2025, 5, 5), "PRIO3", "PETRORIO", "entering", None, Decimal("2.813"),
         Decimal("2.813"), 1, 1, 13),
        ("2025-09..12", d, date(2025, 5, 5), "SUZB3", "SUZANO S.A.", "leaving", Decimal("2.812"), None,
         Decimal("-2.812"), 1, 1, 13),
    ]  # fmt: skip
    queue.append(_result(COLUMNS, answer))
    # --date 2025-05-09 is read as the portfolio in force on it: the stored day 2025-05-05
    result = pipeline.query(
        settings, "rebalance-preview", {"index": "IBOV", "date": "2025-05-09"}, engine=engine
    )
    assert result.rows == answer
    ids = engine.aws.athena().list_query_executions(WorkGroup=WORKGROUP)["QueryExecutionIds"]
    found = [engine.aws.athena().get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]
    data = max(found, key=lambda e: e["Status"]["SubmissionDateTime"])
    assert "FROM ibov_preview AS p" in data["Query"] and "FROM ibov_compact AS t" in data["Query"]
    assert data["ExecutionParameters"] == ["'IBOV'", "'IBOV'", "'2025-05-05'", "'2025-05-05'", "'2025-05-05'"]
