"""Saved queries on a lake of several indices and days (tests/analysis_lake.py), answers worked out by hand.

The lake: IBOV on 2025-04-28, 2025-04-30 and 2025-05-05 (12 members; MGLU3 leaves and RDOR3 enters on
2025-05-05) and SMLL on 2025-04-30 and 2025-05-05 (4 members). Every weight is in analysis_lake.SNAPSHOTS.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from ibovcli import pipeline, queries
from ibovcli.errors import NoData, UsageError
from ibovcli.settings import Settings
from tests import analysis_lake
from tests.conftest import run_ibov

#: the portfolio's saved queries (the analysis lake holds portfolios only); every query: queries.names()
SAVED = ("concentration", "rebalance-diff", "sector-weights", "top-weights", "weight-history")
ALL = tuple(queries.names())


@pytest.fixture
def lake_dir(analysis_lake_dir: Path) -> Path:
    return analysis_lake_dir


def q(lake_dir: Path, name: str, **params: str) -> list[dict[str, Any]]:
    """The records of a saved query through the library (pipeline.query), JSON-normalised like --json."""
    from ibovcli.render import jsonable

    settings = Settings.load(lake_dir=lake_dir, engine="local")
    result = pipeline.query(settings, name, params)
    return jsonable(result.records())  # type: ignore[no-any-return]


def cli_json(lake_dir: Path, *args: str) -> Any:
    r = run_ibov("query", *args, "--json", "--lake", str(lake_dir))
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)


# -- the set of saved queries, and their SQL dialect ---------------------------------------------


def test_list_json_names_every_saved_query_with_its_parameters() -> None:
    r = run_ibov("query", "--list", "--json")
    assert r.code == 0, r.stderr
    listed = {e["name"]: e for e in json.loads(r.stdout)}
    assert tuple(sorted(listed)) == ALL and set(SAVED) <= set(ALL)
    params = {name: {p["name"]: p["default"] for p in e["params"]} for name, e in listed.items()}
    assert params["sector-weights"] == {"index": "IBOV", "date": "latest"}
    assert params["weight-history"] == {"ticker": None, "index": "IBOV", "from": "first", "to": "latest"}
    assert params["rebalance-diff"] == {"index": "IBOV", "from": None, "to": "latest"}
    assert params["concentration"] == {"index": "IBOV", "from": "first", "to": "latest"}
    assert all(e["description"] for e in listed.values())
    assert "0-10000" in listed["concentration"]["description"]


@pytest.mark.parametrize("name", ALL)
def test_saved_query_is_trino_sql_without_duckdb_isms(name: str) -> None:
    """Athena engine v3 is Trino: the Athena rendering must parse as Trino and avoid DuckDB-only syntax."""
    import sqlglot

    from ibovcli import datasets

    sql, order = queries.athena_statement(queries.get(name).sql, datasets.tables())
    code = queries._strip_comments(sql)
    assert "::" not in code, "DuckDB-style cast; use CAST(x AS t)"
    assert not re.search(r"\bLIMIT\s+\?", code, re.IGNORECASE), "Athena cannot bind LIMIT ?"
    assert '"' not in code, "string literals and identifiers: single quotes / bare names only"
    assert not re.search(r"\b(list|string_agg|strftime|epoch|arg_max|arg_min|struct_pack)\s*\(", code, re.I)
    tree = sqlglot.parse_one(sql, read="trino", error_level=sqlglot.ErrorLevel.RAISE)
    unknown = {f.name.lower() for f in tree.find_all(sqlglot.exp.Anonymous)}
    assert unknown <= {"min_by", "max_by"}, unknown  # both exist in Trino and DuckDB
    assert sorted(set(order)) == sorted(p.name for p in queries.get(name).params)


@pytest.mark.parametrize("name", SAVED)
def test_saved_query_runs_with_defaults_or_minimal_params(lake_dir: Path, name: str) -> None:
    needs = {"weight-history": {"ticker": "PETR4"}, "rebalance-diff": {"from": "first"}}
    assert q(lake_dir, name, **needs.get(name, {}))


# -- sector-weights -------------------------------------------------------------------------------


def test_sector_weights_latest_ibov(lake_dir: Path) -> None:
    rows = cli_json(lake_dir, "sector-weights")
    assert [
        (r["sector"], r["sector_members"], r["sector_weight_pct"], r["largest_ticker"]) for r in rows
    ] == [
        ("Financeiro", 4, 35.0, "ITUB4"),  # ITUB4 14 + BBDC4 9 + BBAS3 8 + B3SA3 4
        ("Materiais Básicos", 2, 23.0, "VALE3"),  # VALE3 21 + SUZB3 2
        ("Petróleo, Gás e Biocombustíveis", 2, 22.0, "PETR4"),  # PETR4 12 + PETR3 10
        ("Utilidade Pública", 1, 7.0, "ELET3"),
        ("Bens Industriais", 1, 6.0, "WEGE3"),
        ("Consumo não Cíclico", 1, 4.0, "ABEV3"),
        ("Saúde", 1, 3.0, "RDOR3"),
    ]
    assert {r["session_date"] for r in rows} == {"2025-05-05"}
    assert sum(r["sector_weight_pct"] for r in rows) == pytest.approx(100)


def test_sector_weights_given_day_and_index(lake_dir: Path) -> None:
    old = q(lake_dir, "sector-weights", date="2025-04-28")
    assert [(r["sector"], r["sector_weight_pct"]) for r in old][-2:] == [
        ("Consumo não Cíclico", 5.0),
        ("Consumo Cíclico", 2.0),  # MGLU3, before it left
    ]
    smll = q(lake_dir, "sector-weights", index="smll", date="2025-04-30")
    assert [
        (r["sector"], r["sector_members"], r["sector_weight_pct"], r["largest_weight_pct"]) for r in smll
    ] == [
        ("Consumo Cíclico", 2, 60.5, 40.5),  # MGLU3 40.5 + CASH3 20
        ("Saúde", 1, 30.0, 30.0),
        ("Bens Industriais", 1, 9.5, 9.5),
    ]
    assert q(lake_dir, "sector-weights", date="2025-04-29") == []  # no snapshot that day


# -- weight-history -------------------------------------------------------------------------------


def test_weight_history_whole_range(lake_dir: Path) -> None:
    rows = cli_json(lake_dir, "weight-history", "--ticker", "vale3")
    assert [
        (r["session_date"], r["weight_pct"], r["previous_date"], r["delta_weight_pct"]) for r in rows
    ] == [
        ("2025-04-28", 20.0, None, None),
        ("2025-04-30", 22.0, "2025-04-28", 2.0),
        ("2025-05-05", 21.0, "2025-04-30", -1.0),
    ]
    assert {(r["ticker"], r["company"], r["weight_rank"], r["index_members"]) for r in rows} == {
        ("VALE3", "VALE", 1, 12)
    }


def test_weight_history_window_keeps_the_change_since_the_day_before_it(lake_dir: Path) -> None:
    rows = q(lake_dir, "weight-history", ticker="VALE3", **{"from": "2025-04-29", "to": "2025-05-04"})
    assert [(r["session_date"], r["weight_pct"], r["delta_weight_pct"]) for r in rows] == [
        ("2025-04-30", 22.0, 2.0)  # vs 2025-04-28, outside the window
    ]


def test_weight_history_is_per_index(lake_dir: Path) -> None:
    ibov = q(lake_dir, "weight-history", ticker="MGLU3")
    assert [(r["session_date"], r["weight_pct"], r["delta_weight_pct"]) for r in ibov] == [
        ("2025-04-28", 2.0, None),
        ("2025-04-30", 2.0, 0.0),
    ]
    smll = cli_json(lake_dir, "weight-history", "-t", "MGLU3", "-i", "SMLL")
    assert [
        (r["session_date"], r["weight_pct"], r["delta_weight_pct"], r["index_members"]) for r in smll
    ] == [
        ("2025-04-30", 40.5, None, 4),
        ("2025-05-05", 45.0, 4.5, 4),
    ]
    assert q(lake_dir, "weight-history", ticker="RDOR3", **{"to": "2025-04-30"}) == []


# -- rebalance-diff -------------------------------------------------------------------------------


def test_rebalance_diff_ibov(lake_dir: Path) -> None:
    rows = cli_json(lake_dir, "rebalance-diff", "--from", "2025-04-30", "--to", "2025-05-05")
    got = [
        (r["ticker"], r["change"], r["from_weight_pct"], r["to_weight_pct"], r["delta_weight_pct"])
        for r in rows
    ]
    assert got == [
        ("RDOR3", "entered", None, 3.0, 3.0),
        ("MGLU3", "left", 2.0, None, -2.0),
        ("ABEV3", "changed", 5.0, 4.0, -1.0),
        ("BBDC4", "changed", 8.0, 9.0, 1.0),
        ("VALE3", "changed", 22.0, 21.0, -1.0),
        ("B3SA3", "unchanged", 4.0, 4.0, 0.0),
        ("BBAS3", "unchanged", 8.0, 8.0, 0.0),
        ("ELET3", "unchanged", 7.0, 7.0, 0.0),
        ("ITUB4", "unchanged", 14.0, 14.0, 0.0),
        ("PETR3", "unchanged", 10.0, 10.0, 0.0),
        ("PETR4", "unchanged", 12.0, 12.0, 0.0),
        ("SUZB3", "unchanged", 2.0, 2.0, 0.0),
        ("WEGE3", "unchanged", 6.0, 6.0, 0.0),
    ]
    assert {(r["from_date"], r["to_date"]) for r in rows} == {("2025-04-30", "2025-05-05")}


def test_rebalance_diff_reads_each_date_as_the_portfolio_in_force(lake_dir: Path) -> None:
    # 2025-05-01 (holiday) -> the 2025-04-30 snapshot; --to defaults to the latest day (2025-05-05).
    rows = q(lake_dir, "rebalance-diff", index="SMLL", **{"from": "2025-05-01"})
    assert [(r["from_date"], r["to_date"]) for r in rows][:1] == [("2025-04-30", "2025-05-05")]
    assert [(r["ticker"], r["change"], r["delta_weight_pct"]) for r in rows] == [
        ("SLCE3", "entered", 10.0),
        ("RDOR3", "left", -30.0),
        ("AZUL4", "changed", 10.5),  # 9.5 -> 20
        ("CASH3", "changed", 5.0),
        ("MGLU3", "changed", 4.5),
    ]
    first_to_first = q(lake_dir, "rebalance-diff", **{"from": "first", "to": "2025-04-29"})
    assert {r["change"] for r in first_to_first} == {"unchanged"}
    assert {(r["from_date"], r["to_date"]) for r in first_to_first} == {("2025-04-28", "2025-04-28")}
    two_days = q(lake_dir, "rebalance-diff", **{"from": "2025-04-28", "to": "2025-04-30"})
    assert [(r["ticker"], r["delta_weight_pct"]) for r in two_days if r["change"] == "changed"] == [
        ("VALE3", 2.0),
        ("ITUB4", -1.0),
        ("SUZB3", -1.0),
    ]
    assert q(lake_dir, "rebalance-diff", **{"from": "2025-01-02"}) == []  # nothing in force then


# -- concentration --------------------------------------------------------------------------------


def test_concentration_ibov(lake_dir: Path) -> None:
    rows = cli_json(lake_dir, "concentration")
    got = [
        (
            r["session_date"],
            r["members"],
            r["hhi"],
            r["effective_members"],
            r["top5_weight_pct"],
            r["top10_weight_pct"],
        )
        for r in rows
    ]
    assert got == [
        # 20²+15²+12²+10²+8²+8²+7²+6²+5²+4²+3²+2² = 1136; top 5 = 20+15+12+10+8; top 10 = 100-3-2
        ("2025-04-28", 12, 1136.0, 8.8, 65.0, 95.0),
        # 22²+14²+12²+10²+8²+8²+7²+6²+5²+4²+2²+2² = 1186; 10000/1186 = 8.43
        ("2025-04-30", 12, 1186.0, 8.43, 66.0, 96.0),
        # 21²+14²+12²+10²+9²+8²+7²+6²+4²+4²+3²+2² = 1156; top 10 = 100 - RDOR3 3 - SUZB3 2
        ("2025-05-05", 12, 1156.0, 8.65, 66.0, 95.0),
    ]


def test_concentration_window_and_other_index(lake_dir: Path) -> None:
    rows = q(lake_dir, "concentration", index="SMLL", **{"from": "2025-05-01"})
    # 45² + 25² + 20² + 10² = 3150; four members, so the top 5 and top 10 hold everything
    assert [(r["session_date"], r["hhi"], r["effective_members"], r["top5_weight_pct"]) for r in rows] == [
        ("2025-05-05", 3150.0, 3.17, 100.0)
    ]
    assert [r["session_date"] for r in q(lake_dir, "concentration", to="2025-04-30")] == [
        "2025-04-28",
        "2025-04-30",
    ]


def test_top_weights_on_the_same_lake(lake_dir: Path) -> None:
    rows = cli_json(lake_dir, "top-weights", "--date", "2025-04-30", "--limit", "3")
    assert [(r["weight_rank"], r["ticker"], r["weight_pct"]) for r in rows] == [
        (1, "VALE3", 22.0),
        (2, "ITUB4", 14.0),
        (3, "PETR4", 12.0),
    ]


# -- output formats and errors --------------------------------------------------------------------


def test_format_csv(lake_dir: Path) -> None:
    r = run_ibov("query", "concentration", "-i", "SMLL", "--format", "csv", "--lake", str(lake_dir))
    assert r.code == 0, r.stderr
    assert r.stdout == (
        "session_date,members,hhi,effective_members,top5_weight_pct,top10_weight_pct\n"
        "2025-04-30,4,3030.500,3.3,100.000,100.000\n"  # 40.5² + 30² + 20² + 9.5²
        "2025-05-05,4,3150.000,3.17,100.000,100.000\n"
    )
    rows = list(
        csv.DictReader(
            io.StringIO(run_ibov("query", "sector-weights", "-f", "csv", "--lake", str(lake_dir)).stdout)
        )
    )
    assert rows[2]["sector"] == "Petróleo, Gás e Biocombustíveis"  # quoted: it holds a comma


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["weight-history"], "needs --ticker"),
        (["weight-history", "--ticker", "PETR 4"], "not a B3 ticker"),
        (["weight-history", "--ticker", "PETR4", "--from", "2025-13-01"], "--from must be a date"),
        (["concentration", "--to", "yesterday"], "--to must be a date"),
        (["rebalance-diff"], "needs --from"),
        (["rebalance-diff", "--from", "30/04/2025"], "--from must be a date"),
        (["sector-weights", "--index", "IB-OV"], "not a B3 index code"),
        (["sector-weights", "--ticker", "PETR4"], "No such option: --ticker"),
        (["top-weights", "--limit", "0"], "between 1 and 100000"),
        (["no-such-query"], "no saved query named"),
        (["top-weight"], "Did you mean top-weights?"),
        (["top-weights", "--format", "xml"], "--format must be table, json or csv"),
        (["top-weights", "--json", "--format", "csv"], "contradict each other"),
    ],
)
def test_bad_parameters_are_one_error_line_and_exit_2(lake_dir: Path, args: list[str], message: str) -> None:
    r = run_ibov("query", *args, "--lake", str(lake_dir))
    assert r.code == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error:") and message in lines[0]
    assert "Traceback" not in r.stderr


def test_bind_rejects_bad_values_in_the_library_too() -> None:
    with pytest.raises(UsageError, match="must be a date"):
        queries.bind(queries.get("concentration"), {"from": "2025-02-30"})
    assert queries.bind(queries.get("weight-history"), {"ticker": "petr4"}) == {
        "ticker": "PETR4",
        "index": "IBOV",
        "from": "0000-00-00",  # first: no lower bound
        "to": "",  # latest: no upper bound
    }


# -- dates are resolved in Python, before the SQL ----------------------------------------------------

IBOV_DAYS = ["2025-04-28", "2025-04-30", "2025-05-05"]


class Days:
    """An ``index_days`` stand-in that counts its calls."""

    def __init__(self, days: list[str]) -> None:
        self.days = days
        self.calls: list[str] = []

    def __call__(self, index: str) -> list[str]:
        self.calls.append(index)
        return self.days


def resolved(name: str, days: Days | None = None, **given: str) -> dict[str, Any]:
    q_ = queries.get(name)
    return queries.resolve(q_, queries.bind(q_, given), days or Days(IBOV_DAYS)).params


def test_latest_and_first_become_the_index_stored_days() -> None:
    assert resolved("top-weights")["date"] == "2025-05-05"
    assert resolved("top-weights", date="first")["date"] == "2025-04-28"
    assert resolved("sector-weights", date="latest")["date"] == "2025-05-05"
    window = resolved("concentration")
    assert (window["from"], window["to"]) == ("2025-04-28", "2025-05-05")
    window = resolved("concentration", **{"from": "latest", "to": "first"})
    assert (window["from"], window["to"]) == ("2025-05-05", "2025-04-28")


def test_given_dates_stay_as_given_without_looking_the_days_up() -> None:
    days = Days(IBOV_DAYS)
    assert resolved("top-weights", days, date="2025-04-29", limit="3") == {
        "index": "IBOV",
        "date": "2025-04-29",  # not a stored day: no row, as before
        "limit": 3,
    }
    window = resolved("concentration", days, **{"from": "2025-04-01", "to": "2025-04-30"})
    assert (window["from"], window["to"]) == ("2025-04-01", "2025-04-30")
    history = resolved("weight-history", days, ticker="PETR4", **{"from": "2025-04-29", "to": "2025-04-30"})
    assert (history["from"], history["to"]) == ("2025-04-29", "2025-04-30")
    assert days.calls == []
    assert resolved("weight-history", days, ticker="PETR4")["from"] == "2025-04-28"
    assert days.calls == ["IBOV"]


def test_rebalance_diff_reads_each_date_on_or_before() -> None:
    days = Days(IBOV_DAYS)
    got = resolved("rebalance-diff", days, index="ibov", **{"from": "2025-05-01", "to": "2025-05-05"})
    assert (got["from"], got["to"]) == ("2025-04-30", "2025-05-05")
    assert days.calls == ["IBOV"]  # looked up once for both dates
    got = resolved("rebalance-diff", **{"from": "first"})
    assert (got["from"], got["to"]) == ("2025-04-28", "2025-05-05")
    q_ = queries.get("rebalance-diff")
    early = queries.resolve(q_, queries.bind(q_, {"from": "2025-01-02"}), Days(IBOV_DAYS))
    assert early.params["from"] == ""  # nothing in force then: the SQL returns no rows
    assert early.notes == ("no IBOV data on or before 2025-01-02 (the first stored day is 2025-04-28)",)


def test_weight_history_looks_back_past_an_absence_before_the_window(tmp_path: Path) -> None:
    """previous_date is the ticker's previous stored day in the index even across an absence that
    spans --from: the query reads the ticker's days up to --to, not only the window."""
    from datetime import date

    back = analysis_lake._weights(
        "VALE3=21 ITUB4=14 PETR4=12 PETR3=10 BBDC4=9 BBAS3=8 ELET3=7 WEGE3=6 ABEV3=4 B3SA3=4 SUZB3=2 MGLU3=3"
    )
    snapshots = {**analysis_lake.SNAPSHOTS, ("IBOV", date(2025, 5, 6)): back}
    lake = analysis_lake.build(tmp_path / "lake", snapshots)
    rows = q(lake, "weight-history", ticker="MGLU3", **{"from": "2025-05-05"})  # out on 05-05, back on 05-06
    got = [(r["session_date"], r["weight_pct"], r["previous_date"], r["delta_weight_pct"]) for r in rows]
    assert got == [("2025-05-06", 3.0, "2025-04-30", 1.0)]


def test_an_index_without_stored_days_is_a_clear_error(lake_dir: Path) -> None:
    q_ = queries.get("top-weights")
    with pytest.raises(NoData, match="no IBXX portfolio is stored") as caught:
        queries.resolve(q_, queries.bind(q_, {"index": "IBXX"}), Days([]))
    assert "ibov status" in caught.value.hint
    r = run_ibov("query", "concentration", "--index", "IBXX", "--lake", str(lake_dir))
    assert r.code == 8 and r.stdout == ""
    assert r.stderr.startswith("error: no IBXX portfolio is stored") and r.stderr.count("\n") == 1
    # a given day is not looked up: an index or day without data simply has no rows
    assert q(lake_dir, "top-weights", index="IBXX", date="2025-04-30") == []


def test_nothing_in_force_is_said_on_stderr(lake_dir: Path) -> None:
    r = run_ibov("query", "rebalance-diff", "--from", "2025-01-02", "--json", "--lake", str(lake_dir))
    assert r.code == 8 and json.loads(r.stdout) == []
    assert "no IBOV data on or before 2025-01-02" in r.stderr


def test_local_engine_lists_the_days_of_an_index_from_the_catalog(lake_dir: Path) -> None:
    from ibovcli.engines.local import LocalEngine

    engine = LocalEngine(Settings.load(lake_dir=lake_dir, engine="local"))
    assert engine.stored_days("portfolio", "IBOV") == IBOV_DAYS
    assert engine.stored_days("portfolio", "SMLL") == ["2025-04-30", "2025-05-05"]
    assert engine.stored_days("portfolio", "IBXX") == []


@pytest.mark.parametrize("name", SAVED)
def test_every_dt_filter_is_a_plain_parameter(name: str) -> None:
    """No saved query computes a day from the data: each predicate on dt compares it with a parameter,
    so Athena prunes the partitions statically (and no subquery reads the table to find a day)."""
    import sqlglot

    sql, _order = queries.athena_statement(queries.get(name).sql, {"portfolio": "ibov_refined"})
    tree = sqlglot.parse_one(sql, read="trino")
    on_dt = [
        cmp
        for cmp in tree.find_all(sqlglot.exp.EQ, sqlglot.exp.GTE, sqlglot.exp.LTE, sqlglot.exp.GT)
        if any(c.name == "dt" for c in cmp.find_all(sqlglot.exp.Column))
    ]
    assert on_dt
    for cmp in on_dt:
        sides = {type(cmp.this), type(cmp.expression)}
        assert sides == {sqlglot.exp.Column, sqlglot.exp.Placeholder}, cmp.sql()
    assert not any(
        agg.find(sqlglot.exp.Column) and agg.find(sqlglot.exp.Column).name == "dt"
        for agg in tree.find_all(sqlglot.exp.Max, sqlglot.exp.Min)
    )
    assert not list(tree.find_all(sqlglot.exp.Subquery))


def test_the_local_query_gets_the_resolved_days(lake_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ibovcli.engines.local import LocalLake

    sent: list[tuple[str, dict[str, Any]]] = []
    real = LocalLake.query

    def spy(self: LocalLake, sql: str, params: dict[str, Any] | None = None) -> Any:
        sent.append((sql, dict(params or {})))
        return real(self, sql, params)

    monkeypatch.setattr(LocalLake, "query", spy)
    assert q(lake_dir, "top-weights", date="2025-04-30", limit="1")
    [(sql, params)] = sent  # a given date: no lookup, one statement
    assert "t.dt = $date" in sql and params == {"index": "IBOV", "date": "2025-04-30", "limit": 1}
    sent.clear()
    rows = q(lake_dir, "weight-history", ticker="VALE3", **{"from": "2025-04-29"})
    [(days_sql, _), (sql, params)] = sent  # --to latest: the days are looked up first
    assert "DISTINCT dt" in days_sql and "t.dt <= $to" in sql
    assert params == {"ticker": "VALE3", "index": "IBOV", "from": "2025-04-29", "to": "2025-05-05"}
    assert [r["session_date"] for r in rows] == ["2025-04-30", "2025-05-05"]


def test_index_weights_every_nth_day_counted_back_from_the_last(lake_dir: Path) -> None:
    """IBOV's days are 04-28, 04-30 and 05-05 (days_back 2, 1, 0): --every 2 keeps 05-05 and 04-28."""
    rows = q(lake_dir, "index-weights", every="2")
    days = sorted({(r["session_date"], r["days_back"]) for r in rows})
    assert days == [("2025-04-28", 2), ("2025-05-05", 0)]
    assert len(rows) == 24  # 12 members on each day
    vale = [(r["session_date"], r["weight_pct"]) for r in rows if r["ticker"] == "VALE3"]
    assert vale == [("2025-04-28", 20.0), ("2025-05-05", 21.0)]
    assert [r["session_date"] for r in rows if r["ticker"] == "MGLU3"] == ["2025-04-28"]
    assert [(r["session_date"], r["weight_pct"]) for r in rows if r["ticker"] == "RDOR3"] == [
        ("2025-05-05", 3.0)
    ]
    every_day = q(lake_dir, "index-weights", index="SMLL", **{"from": "2025-05-01"})
    assert [(r["ticker"], r["weight_pct"], r["days_back"]) for r in every_day] == [
        ("AZUL4", 20.0, 0),
        ("CASH3", 25.0, 0),
        ("MGLU3", 45.0, 0),
        ("SLCE3", 10.0, 0),
    ]
