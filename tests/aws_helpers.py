"""Shared pieces of the AWS tests: a loopback moto server, the Lambda module, S3 events and Athena's
result format. Nothing here reaches AWS."""

from __future__ import annotations

import importlib.util
import urllib.parse
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from ibovcli import datasets, schema

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_FILE = ROOT / "lambda" / "trigger.py"
REGION = "us-east-1"
BUCKET = "ibov-test-data"
JOB = "ibov-refine"
WORKGROUP = "ibov"


@pytest.fixture(scope="session")
def _moto_server_session() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def moto_server(_moto_server_session: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A moto server on 127.0.0.1 (emptied for each test); this process's boto3 clients use it too."""
    requests.post(f"{_moto_server_session}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL", _moto_server_session)
    return _moto_server_session


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


def create_job(glue: Any, name: str = JOB) -> None:
    glue.create_job(
        Name=name,
        Role="arn:aws:iam::123456789012:role/ibov-glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://artifacts/refine_job.py", "PythonVersion": "3"},
        GlueVersion="5.0",
        ExecutionProperty={"MaxConcurrentRuns": 1},
        DefaultArguments={"--refined_table": datasets.PORTFOLIO.table, "--database": schema.CATALOG_DATABASE},
    )


def load_lambda(monkeypatch: pytest.MonkeyPatch, job: str = JOB) -> ModuleType:
    """A fresh copy of lambda/trigger.py, its Glue client created on first use (under moto)."""
    spec = importlib.util.spec_from_file_location("ibov_lambda_trigger_aws", LAMBDA_FILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("GLUE_JOB_NAME", job)
    module._glue = None
    return module


class LambdaContext:
    aws_request_id = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def s3_event(s3: Any, bucket: str, key: str) -> dict[str, Any]:
    """The ObjectCreated:Put notification S3 sends for an object that exists (key URL-encoded)."""
    head = s3.head_object(Bucket=bucket, Key=key)
    when: datetime = head["LastModified"].astimezone(UTC)
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {
                        "key": urllib.parse.quote_plus(key, safe="/"),
                        "size": head["ContentLength"],
                        "eTag": head["ETag"].strip('"'),
                    },
                },
            }
        ]
    }


# -- Athena's result format -------------------------------------------------------------------------


def athena_column(name: str, hive_type: str) -> dict[str, Any]:
    """A ``ColumnInfo`` entry as Athena returns it for a refined column of ``hive_type``."""
    info: dict[str, Any] = {
        "CatalogName": "hive",
        "SchemaName": "",
        "TableName": "",
        "Name": name,
        "Label": name,
        "Precision": 0,
        "Scale": 0,
        "Nullable": "UNKNOWN",
        "CaseSensitive": hive_type == "string",
    }
    if hive_type.startswith("decimal("):
        precision, scale = (int(x) for x in hive_type[len("decimal(") : -1].split(","))
        info.update(Type="decimal", Precision=precision, Scale=scale)
    else:
        info["Type"] = {"string": "varchar", "int": "integer"}.get(hive_type, hive_type)
    return info


def refined_column_info(columns: Sequence[str]) -> list[dict[str, Any]]:
    types = {c.name: c.type for d in datasets.ALL.values() for c in d.columns}
    return [athena_column(name, types[name]) for name in columns]


def athena_text(value: Any, info: dict[str, Any]) -> dict[str, str]:
    """One result cell the way Athena prints it (NULL is a cell without VarCharValue)."""
    if value is None:
        return {}
    if isinstance(value, Decimal):
        return {"VarCharValue": f"{value:.{info['Scale']}f}"}
    if isinstance(value, datetime):
        return {"VarCharValue": value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]}
    if isinstance(value, date):
        return {"VarCharValue": value.isoformat()}
    return {"VarCharValue": str(value)}


def athena_rows(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], info: list[dict[str, Any]]
) -> list[Any]:
    """``ResultSet.Rows`` of a SELECT: the header row, then the data."""
    header = {"Data": [{"VarCharValue": c} for c in columns]}
    return [header] + [{"Data": [athena_text(v, i) for v, i in zip(r, info, strict=True)]} for r in rows]


def queue_athena_result(server: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Make moto answer the next Athena query with these rows (moto does not execute SQL)."""
    info = refined_column_info(columns)
    body = {
        "region": REGION,
        "results": [{"rows": athena_rows(columns, rows, info), "column_info": info}],
    }
    requests.post(f"{server}/moto-api/static/athena/query-results", json=body, timeout=10).raise_for_status()


def queue_athena_days(server: str, days: Sequence[str]) -> None:
    """Make moto answer the next Athena query as the partition metadata query of
    :func:`ibovcli.aws.athena.partition_values` (``SELECT DISTINCT dt FROM "<table>$partitions"``)."""
    info = [athena_column("dt", "string")]
    body = {
        "region": REGION,
        "results": [{"rows": athena_rows(["dt"], [(d,) for d in days], info), "column_info": info}],
    }
    requests.post(f"{server}/moto-api/static/athena/query-results", json=body, timeout=10).raise_for_status()


class FakeClock:
    """A fake monotonic clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
