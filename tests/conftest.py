"""Shared fixtures. Tests never reach B3 or AWS: B3 is tests/b3fake.py, AWS is moto, Glue is local Spark."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's IBOV_* / AWS_* settings or writes to the real per-user lake."""
    for key in list(os.environ):
        if key.startswith("IBOV_") or key.startswith("AWS_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    # `ibov run` fetches quotes from another host than the portfolio: never the real B3 in tests
    # (a closed loopback port; tests that serve quotes set IBOV_QUOTES_URL themselves)
    monkeypatch.setenv("IBOV_QUOTES_URL", "http://127.0.0.1:9/InstDados/SerHist")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    """An empty lake directory."""
    path = tmp_path / "lake"
    path.mkdir()
    return path


@pytest.fixture
def b3_fixtures() -> Path:
    return FIXTURES / "b3"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def run_ibov(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
    """Run the real ``ibov`` entry point in a subprocess (as a user would)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "ibovcli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=ROOT,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def ibov() -> Iterator[object]:
    yield run_ibov


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session for the whole test run (started on first use: about 5 s)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("ibov-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.codegen.wholeStage", "false")  # tiny data: compiling costs more than it saves
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def analysis_lake_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic analysis lake of tests/analysis_lake.py, built once per test session (read only)."""
    from tests import analysis_lake

    return analysis_lake.build(tmp_path_factory.mktemp("analysis") / "lake")
