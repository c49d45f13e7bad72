"""`ibov sql`: one read-only statement on the catalog tables, with the output options of `ibov query`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ibovcli import queries
from ibovcli.errors import UsageError
from tests.conftest import FIXTURES, run_ibov

GOOD = FIXTURES / "b3" / "IBOVDia_30-04-25_crlf.csv"  # IBOV 2025-04-30, 14 rows


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lake = tmp_path_factory.mktemp("sql") / "lake"
    assert run_ibov("scrape", "--from", str(GOOD), "--lake", str(lake)).code == 0
    return lake


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("SELECT 1;", "SELECT 1"),
        ("SELECT ';' AS x; -- done", "SELECT ';' AS x"),
        (
            "/* why */ WITH a AS (SELECT 1) SELECT * FROM a ;; ",
            "/* why */ WITH a AS (SELECT 1) SELECT * FROM a",
        ),
        ("select 'it''s'", "select 'it''s'"),
        ('SELECT 1 AS "a;b"', 'SELECT 1 AS "a;b"'),
    ],
)
def test_one_read_only_statement_is_kept_as_written(text: str, kept: str) -> None:
    assert queries.adhoc(text) == kept


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no SQL statement"),
        ("  ; ", "no SQL statement"),
        ("-- only a comment", "no SQL statement"),
        ("SELECT 1; SELECT 2", "only one statement"),
        ("SELECT 1; DROP TABLE ibov_refined", "only one statement"),
        ("DELETE FROM ibov_refined", "not DELETE"),
        ("insert into t values (1)", "not INSERT"),
        ("COPY ibov_refined TO '/tmp/x.csv'", "not COPY"),
        ("ATTACH 'x.duckdb'", "not ATTACH"),
        ("SELECT 'open", "unterminated quote"),
        ("SELECT 1 /* open", "unterminated"),
    ],
)
def test_anything_else_is_refused(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        queries.adhoc(text)


def test_sql_answers_with_the_query_output_options(stored: Path) -> None:
    statement = "SELECT dt, count(*) AS n FROM ibov_refined GROUP BY dt ORDER BY dt"
    r = run_ibov("sql", statement, "--lake", str(stored), "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout) == [{"dt": "2025-04-30", "n": 14}]
    r = run_ibov("sql", "SELECT count(*) AS n FROM ${portfolio}", "--lake", str(stored), "--format", "csv")
    assert (r.code, r.stdout.splitlines()) == (0, ["n", "14"])
    r = run_ibov("sql", statement, "--lake", str(stored))
    assert r.code == 0 and "2025-04-30\t14" in r.stdout


def test_sql_reads_the_statement_from_stdin(stored: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "ibovcli", "sql", "-", "--lake", str(stored), "--json"],
        input="SELECT max(weight_pct) AS top FROM ibov_refined;\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert list(json.loads(r.stdout)[0]) == ["top"]


def test_writes_are_refused_and_change_nothing(stored: Path) -> None:
    before = run_ibov("sql", "SELECT count(*) AS n FROM ibov_refined", "--lake", str(stored), "--json").stdout
    for statement in (
        "DELETE FROM ibov_refined",
        "SELECT 1; DELETE FROM ibov_refined",
        "CREATE TABLE x AS SELECT 1",
        "PRAGMA version",
    ):
        r = run_ibov("sql", statement, "--lake", str(stored))
        assert r.code == 2, (statement, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1
    after = run_ibov("sql", "SELECT count(*) AS n FROM ibov_refined", "--lake", str(stored), "--json").stdout
    assert before == after


def test_no_rows_bad_sql_and_no_lake(stored: Path, tmp_path: Path) -> None:
    r = run_ibov("sql", "SELECT * FROM ibov_refined WHERE false", "--lake", str(stored), "--json")
    assert (r.code, r.stdout.strip()) == (8, "[]")
    assert "the statement returned no rows" in r.stderr
    r = run_ibov("sql", "SELECT * FROM nope", "--lake", str(stored))
    assert r.code == 6 and "ibov_refined" in r.stderr and "Traceback" not in r.stderr
    r = run_ibov("sql", "SELECT * FROM ${nope}", "--lake", str(stored))
    assert r.code == 2 and "no dataset named 'nope'" in r.stderr
    r = run_ibov("sql", "SELECT 1", "--lake", str(tmp_path / "none"))
    assert r.code == 3 and not (tmp_path / "none").exists()
    r = run_ibov("sql", "SELECT 1", "--json", "--format", "csv", "--lake", str(stored))
    assert r.code == 2
