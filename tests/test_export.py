"""`ibov export`: the refined rows of a date range as one Parquet or CSV file, written whole or not at all."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ibovcli import datasets, schema
from tests.conftest import FIXTURES, run_ibov

DAY1 = FIXTURES / "b3" / "IBOVDia_30-04-25_crlf.csv"  # IBOV 2025-04-30, 14 rows
DAY2 = FIXTURES / "b3" / "IBOVDia_05-05-25_lf.csv"  # IBOV 2025-05-05, 14 rows
OTHER = FIXTURES / "b3" / "IBXXDia_30-04-25.csv"


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lake = tmp_path_factory.mktemp("export") / "lake"
    r = run_ibov(
        "scrape", "--from", str(DAY1), "--from", str(DAY2), "--from", str(OTHER), "--lake", str(lake)
    )
    assert r.code == 0, r.stderr
    return lake


def test_parquet_holds_the_refined_rows_with_the_tables_types(stored: Path, tmp_path: Path) -> None:
    out = tmp_path / "ibov.parquet"
    r = run_ibov("export", "--out", str(out), "--lake", str(stored), "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout) == {
        "path": str(out),
        "format": "parquet",
        "dataset": "portfolio",
        "index": "IBOV",
        "rows": 28,
        "first": "2025-04-30",
        "last": "2025-05-05",
    }
    table = pq.read_table(out)
    assert table.schema.equals(schema.arrow_schema(datasets.PORTFOLIO.columns))  # type: ignore[arg-type]
    assert set(table.column("index_code").to_pylist()) == {"IBOV"}  # IBXX stays out
    days = table.column("dt").to_pylist()
    assert days == sorted(days)
    [top] = [r for r in table.to_pylist() if r["dt"] == "2025-04-30" and r["weight_rank"] == 1]
    assert (top["ticker"], str(top["weight_pct"])) == ("VALE3", "18.250")


def test_csv_and_a_date_range(stored: Path, tmp_path: Path) -> None:
    out = tmp_path / "may.csv"
    r = run_ibov(
        "export", "--from", "2025-05-01", "--to", "2025-05-31", "--out", str(out), "--lake", str(stored)
    )
    assert r.code == 0, r.stderr
    assert r.stdout.strip() == str(out)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 14 and {row["session_date"] for row in rows} == {"2025-05-05"}
    r = run_ibov(
        "export", "-i", "IBXX", "--to", "2025-04-30", "--out", str(tmp_path / "x.csv"), "--lake", str(stored)
    )
    assert r.code == 0 and "IBXX" in (tmp_path / "x.csv").read_text()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--out", "{tmp}/e.xlsx"], 2, "cannot tell the format"),
        (["--out", "{tmp}/e.csv", "--format", "parquet"], 2, "contradicts"),
        (["--out", "{tmp}/e.csv", "--format", "xml"], 2, "--format must be parquet or csv"),
        (["--out", "{tmp}/e.csv", "--from", "2025-13-01"], 2, "--from must be a date"),
        (["--out", "{tmp}/e.csv", "--from", "2025-05-06", "--to", "2025-05-01"], 2, "is after"),
        (["--out", "{tmp}/e.csv", "-i", "IBOVV"], 2, "Did you mean IBOV"),
        (["--out", "{tmp}/missing/e.csv"], 2, "does not exist"),
        (["--out", "{tmp}"], 2, "is a directory"),
        (["--out", "{tmp}/e.csv", "--from", "2026-01-01"], 8, "no portfolio rows of IBOV"),
        (["--out", "{tmp}/e.csv", "--dataset", "nope"], 2, "nope"),
    ],
)
def test_bad_options_and_no_rows_write_nothing(
    stored: Path, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    r = run_ibov("export", *[a.format(tmp=tmp_path) for a in args], "--lake", str(stored))
    assert r.code == code, r.stderr
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
