"""contribution, reconcile and ibov verify's reconciliation on tests/quotes_lake.py, answers by hand:

2024-11-08: closes 10 -> 11 (AAAA3, +10 %), 20 -> 19 (BBBB4, -5 %), 5 -> 5 (CCCC3, EJ); B3's weights
20.003, 59.998, 19.999; quantities 1000, 1500, 2000; reductor 50; official levels 1000.00 -> 990.50.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ibovcli import pipeline, reconcile
from ibovcli.settings import Settings
from tests import quotes_lake
from tests.conftest import run_ibov


def q(lake: Path, name: str, **params: str) -> list[dict[str, Any]]:
    from ibovcli.render import jsonable

    result = pipeline.query(Settings.load(lake_dir=lake, engine="local"), name, params)
    return jsonable(result.records())  # type: ignore[no-any-return]


@pytest.fixture
def full(lake: Path, tmp_path: Path) -> Path:
    quotes_lake.build(lake, tmp_path)
    return lake


def test_contribution_by_hand(full: Path) -> None:
    got = q(full, "contribution", index="IBOV", date="2024-11-08")
    assert [
        (r["ticker"], r["weight_pct"], r["return_pct"], r["contribution_pct"], r["contribution_points"])
        for r in got
    ] == [
        ("BBBB4", 59.998, -5.0, -2.9999, -30.0),  # 59.998 x -5 % ; 1500 x (19 - 20) / 50
        ("AAAA3", 20.003, 10.0, 2.0003, 20.0),  # 20.003 x 10 % ; 1000 x (11 - 10) / 50
        ("CCCC3", 19.999, 0.0, 0.0, 0.0),
    ]
    first = got[0]
    assert first["previous_session_date"] == "2024-11-07" and first["session_date"] == "2024-11-08"
    assert (first["previous_close"], first["close"]) == (20.0, 19.0)
    # total -2.9999 + 2.0003 = -0.9996; official 990.50 / 1000 - 1 = -0.95 %; residual 0.0496
    assert {(r["total_contribution_pct"], r["official_return_pct"], r["residual_pp"]) for r in got} == {
        (-0.9996, -0.95, 0.0496)
    }
    assert {r["missing"] for r in got} == {None}
    assert got[2]["corporate_event"] == "EJ"


def test_contribution_through_the_cli_latest_day_says_what_is_missing(full: Path) -> None:
    # latest = 2024-11-11: no quotes for that day -> no return, no total, and the rows say why
    r = run_ibov("query", "contribution", "--index", "IBOV", "--json", "--lake", str(full))
    assert r.code == 0, r.stderr
    got = json.loads(r.stdout)
    assert {x["session_date"] for x in got} == {"2024-11-11"}
    assert {x["previous_session_date"] for x in got} == {"2024-11-08"}
    assert {x["missing"] for x in got} == {"no close on 2024-11-11"}
    assert {x["return_pct"] for x in got} == {None} and {x["total_contribution_pct"] for x in got} == {None}
    assert {x["official_return_pct"] for x in got} == {None}  # no level stored for 11-11


def test_reconcile_by_hand(full: Path) -> None:
    got = q(full, "reconcile", index="IBOV")
    assert [r["session_date"] for r in got] == ["2024-11-08", "2024-11-11"]
    d1, d2 = got
    # 11 x 1000 + 19 x 1500 + 5 x 2000 = 49,500 / 50 = 990.00 against 990.50: -0.050480 %
    assert (d1["official_level"], d1["computed_level"], d1["level_diff_pct"]) == (990.5, 990.0, -0.05048)
    # weights from the 11-07 closes: 20, 60, 20; CCCC3 (EJ) not checked; AAAA3 is off by 0.003
    assert (d1["weights_checked"], d1["max_weight_diff_pp"], d1["worst_weight_ticker"]) == (2, 0.003, "AAAA3")
    assert d1["missing"] is None and d1["previous_session_date"] == "2024-11-07"
    # 11-11: previous session = the latest quotes day (no level stored); 11-08 closes give 28,500 / 49,500
    assert d2["previous_session_date"] == "2024-11-08"
    assert (d2["official_level"], d2["computed_level"], d2["level_diff_pct"]) == (None, None, None)
    assert (d2["weights_checked"], d2["max_weight_diff_pp"], d2["worst_weight_ticker"]) == (
        2,
        2.422242,
        "BBBB4",
    )
    assert d2["missing"] == "no official level stored for 2024-11-11; no quotes stored for 2024-11-11"
    # --date picks one day; --from/--to a range
    assert [r["session_date"] for r in q(full, "reconcile", date="2024-11-11")] == ["2024-11-11"]
    assert [r["session_date"] for r in q(full, "reconcile", to="2024-11-08")] == ["2024-11-08"]


def test_missing_quotes_of_the_previous_session_are_said_not_guessed(lake: Path, tmp_path: Path) -> None:
    files = quotes_lake.build(lake, tmp_path, quotes=False)
    r = run_ibov("scrape", "quotes", "--from", str(files[1]), "--lake", str(lake))  # 11-08 only
    assert r.code == 0, r.stderr
    (d1,) = q(lake, "reconcile", date="2024-11-08")
    # the level holds (11-08's closes are stored); the weights cannot be checked: 11-07 is the
    # previous session in the stored levels, and its quotes are not stored
    assert (d1["computed_level"], d1["weights_checked"], d1["max_weight_diff_pp"]) == (990.0, 0, None)
    assert d1["missing"] == "no quotes stored for the previous session 2024-11-07"
    rows = q(lake, "contribution", date="2024-11-08")
    assert {r["missing"] for r in rows} == {"no close on 2024-11-07"}
    assert {r["total_contribution_pct"] for r in rows} == {None}


def test_without_levels_the_level_is_not_checked(lake: Path, tmp_path: Path) -> None:
    quotes_lake.build(lake, tmp_path, levels=False)
    (d1,) = q(lake, "reconcile", date="2024-11-08")
    assert (d1["official_level"], d1["computed_level"], d1["level_diff_pct"]) == (None, 990.0, None)
    assert d1["missing"] == "no official level stored for 2024-11-08"
    assert d1["previous_session_date"] == "2024-11-07"  # the latest quotes day before
    rows = q(lake, "contribution", date="2024-11-08")
    assert {(r["total_contribution_pct"], r["official_return_pct"], r["residual_pp"]) for r in rows} == {
        (-0.9996, None, None)
    }


def test_library_reconcile_applies_the_tolerances(full: Path) -> None:
    settings = Settings.load(lake_dir=full, engine="local")
    days = reconcile.reconcile(settings, "IBOV")
    assert [(d.session_date.isoformat(), d.level_off, d.weights_off, d.checked) for d in days] == [
        ("2024-11-08", True, True, True),
        ("2024-11-11", False, True, False),
    ]
    off, checked = reconcile.verify_index(settings, "IBOV")
    assert checked == 1 and [d.session_date.isoformat() for d in off] == ["2024-11-08", "2024-11-11"]
    assert [(c.ticker, c.diff_pp) for c in off[0].culprits] == [
        ("AAAA3", 0.003),
        ("BBBB4", 0.002),
        ("CCCC3", 0.001),
    ]
    assert reconcile.LEVEL_TOLERANCE_PCT == 0.001 and reconcile.WEIGHT_TOLERANCE_PP == 0.001


def test_a_day_within_tolerance_is_not_listed() -> None:
    from datetime import date

    ok = reconcile.DayCheck("IBOV", date(2024, 11, 8), date(2024, 11, 7), 3, 990.0, 990.0049, 0.000495,
                            2, 0.0009, "AAAA3", None)  # fmt: skip
    assert not ok.off and ok.checked and ok.problems() == []
    off = reconcile.DayCheck("IBOV", date(2024, 11, 8), date(2024, 11, 7), 3, 990.0, 990.0, 0.0011,
                             2, 0.0011, "AAAA3", None)  # fmt: skip
    assert off.level_off and off.weights_off


def test_verify_lists_the_days_off_with_their_culprits_and_exits_5(full: Path) -> None:
    r = run_ibov("verify", "--json", "--lake", str(full))
    assert r.code == 5, r.stderr
    rec = json.loads(r.stdout)["reconcile"]
    assert rec["days_checked"] == 1
    assert [(d["session_date"], [c["ticker"] for c in d["culprits"]]) for d in rec["off"]] == [
        ("2024-11-08", ["AAAA3", "BBBB4", "CCCC3"]),
        ("2024-11-11", ["BBBB4", "AAAA3", "CCCC3"]),
    ]
    assert "2 stored portfolio days are off" in r.stderr


def test_chart_contribution_draws_the_day_and_refuses_a_day_without_quotes(
    full: Path, tmp_path: Path
) -> None:
    out = tmp_path / "c.png"
    r = run_ibov(
        "chart", "contribution", "--date", "2024-11-08", "--out", str(out), "--json", "--lake", str(full)
    )
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["points"] == 3
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = run_ibov("chart", "contribution", "--out", str(tmp_path / "x.png"), "--lake", str(full))
    assert r.code == 8 and "no close on 2024-11-11" in r.stderr, r.stderr
    assert not (tmp_path / "x.png").exists()


def test_derived_weights_are_labelled_and_never_b3s(full: Path) -> None:
    # 2024-11-12 has no stored portfolio: 2024-11-11's quantities at the 11-08 closes
    # 11 x 1000 = 11,000; 19 x 1500 = 28,500; 5 x 2000 = 10,000; sum 49,500
    got = q(full, "derived-weights", index="IBOV", date="2024-11-12")
    assert [(r["ticker"], r["derived_weight_pct"]) for r in got] == [
        ("BBBB4", 57.5758),  # 28,500 / 49,500
        ("AAAA3", 22.2222),  # 11,000 / 49,500
        ("CCCC3", 20.202),  # 10,000 / 49,500
    ]
    assert {(r["weight_source"], r["base_portfolio_date"], r["prices_date"]) for r in got} == {
        ("derived", "2024-11-11", "2024-11-08")
    }
    assert [r["b3_weight_pct"] for r in got] == [59.998, 20.003, 19.999]  # the base day's, B3's own
    # a day with a stored portfolio: B3's weights only, no derived number next to them
    own = q(full, "derived-weights", index="IBOV", date="2024-11-08")
    assert {(r["weight_source"], r["derived_weight_pct"]) for r in own} == {("b3", None)}
    # a Saturday: the 11-08 portfolio's quantities at the 11-08 closes (the same numbers as 11-12)
    none = q(full, "derived-weights", index="IBOV", date="2024-11-09")
    assert {r["weight_source"] for r in none} == {"derived"}
    assert [r["derived_weight_pct"] for r in none] == [57.5758, 22.2222, 20.202]


def test_derived_weights_without_the_previous_closes_are_null(lake: Path, tmp_path: Path) -> None:
    quotes_lake.build(lake, tmp_path, quotes=False)
    got = q(lake, "derived-weights", index="IBOV", date="2024-11-12")
    assert {(r["weight_source"], r["prices_date"], r["derived_weight_pct"]) for r in got} == {
        ("derived", None, None)
    }
