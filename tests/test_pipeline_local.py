"""The local pipeline end to end: scrape -> raw -> trigger -> refine -> catalog -> query."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from ibovcli import b3, layout, quality, schema, trigger
from ibovcli.local import LocalLake
from ibovcli.pipeline import LocalEngine, run
from ibovcli.settings import Settings
from tests import b3fake

FIX = Path(__file__).parent / "fixtures" / "b3"


def _settings(lake: Path) -> Settings:
    return Settings.load(lake_dir=lake)


def _refined_rows(lake: Path) -> list[tuple[object, ...]]:
    files = sorted((lake / "refined").glob("dt=*/ticker=*/*.parquet"))
    con = duckdb.connect()
    glob = str(lake / "refined" / "*" / "*" / "*.parquet")
    return (
        con.execute(
            f"SELECT * FROM read_parquet('{glob}', hive_partitioning = true) ORDER BY dt, index_code, ticker"
        ).fetchall()
        if files
        else []
    )


def test_run_writes_raw_refined_and_catalog(lake: Path) -> None:
    result = run(_settings(lake), from_paths=[FIX / "ibov_2025-04-30_ptbr_seg2.json"])
    assert [(s.index, s.date, s.rows, s.key) for s in result.stored] == [
        ("IBOV", date(2025, 4, 30), 14, "raw/dt=2025-04-30/IBOV.parquet")
    ]
    assert (lake / "raw/dt=2025-04-30/IBOV.parquet").is_file()
    assert (lake / "snapshots/dt=2025-04-30/IBOV.json").read_bytes() == (
        FIX / "ibov_2025-04-30_ptbr_seg2.json"
    ).read_bytes()
    tickers = sorted(p.name for p in (lake / "refined/dt=2025-04-30").iterdir())
    assert tickers == sorted(f"ticker={r.cod}" for r in b3fake.IBOV_2025_04_30.rows)
    top = result.top["IBOV 2025-04-30"].records()
    assert [(r["ticker"], r["weight_pct"]) for r in top] == [
        ("VALE3", Decimal("18.250")),
        ("ITUB4", Decimal("14.500")),
        ("PETR4", Decimal("12.750")),
        ("PETR3", Decimal("8.375")),
        ("BBDC4", Decimal("6.625")),
    ]


def test_raw_file_is_typed_and_keeps_lineage(lake: Path) -> None:
    run(_settings(lake), from_paths=[FIX / "IBOVDia_30-04-25_crlf.csv"])
    table = pq.read_table(lake / "raw/dt=2025-04-30/IBOV.parquet")
    assert table.schema.equals(schema.arrow_raw_schema())
    row = {k: v[0] for k, v in table.to_pydict().items()}
    assert row["index_code"] == "IBOV"
    assert row["total_theoricalQty"] == b3fake.IBOV_2025_04_30.total_qty
    assert row["reductor"] == b3fake.IBOV_2025_04_30.reductor
    assert row["source"] == "file:IBOVDia_30-04-25_crlf.csv"
    assert row["source_format"] == "csv/pt-br"
    assert len(row["source_sha256"]) == 64


def test_refined_rows_follow_the_schema_and_the_transformations(lake: Path) -> None:
    run(_settings(lake), from_paths=[FIX / "ibov_2025-04-30_ptbr_seg2.json"])
    one = next((lake / "refined/dt=2025-04-30/ticker=VALE3").glob("*.parquet"))
    names = pq.read_schema(one).names
    assert names == [c.name for c in schema.REFINED]  # partition columns live in the path only
    con = LocalLake(lake).connect(read_only=True)
    rows = con.execute(
        "SELECT ticker, company, weight_pct, theoretical_qty, sector, subsector, sector_weight_pct, "
        "sector_members, index_members, weight_rank, next_rebalance_date, days_to_rebalance, "
        "weekdays_to_rebalance, share_class, corporate_event, listing_segment "
        "FROM ibov_refined WHERE ticker IN ('ITUB4', 'VALE3') ORDER BY ticker"
    ).fetchall()
    con.close()
    itub = rows[0]
    assert itub[:4] == ("ITUB4", "ITAUUNIBANCO", Decimal("14.500"), 5_379_282_600)
    # R5 A: the financial sector's weight and members, joined back to each row
    fin = [r for r in b3fake.IBOV_2025_04_30.rows if "Financ" in r.segment]
    assert itub[4] == "Financeiro"
    assert itub[5] == "Interms Financs"
    assert itub[6] == sum(r.part for r in fin)
    assert itub[7] == len(fin)
    assert itub[8] == 14
    assert itub[9] == 2
    # R5 C: 2025-04-30 (Wed) -> first Monday of May 2025 = 5 May: 5 days, 3 weekdays (Wed, Thu, Fri)
    assert itub[10:13] == (date(2025, 5, 5), 5, 3)
    assert itub[13:] == ("PN", "EJ", "N1")
    assert rows[1][9] == 1  # VALE3 is the largest weight


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 5, 5), date(2025, 9, 1)),  # the rebalance Monday itself -> the next one
        (date(2025, 5, 2), date(2025, 5, 5)),
        (date(2025, 12, 30), date(2026, 1, 5)),
        (date(2024, 1, 2), date(2024, 5, 6)),  # 1 Jan 2024 was itself the first Monday
        (date(2023, 12, 29), date(2024, 1, 1)),
        (date(2024, 4, 30), date(2024, 5, 6)),
    ],
)
def test_next_rebalance_is_the_first_monday_of_jan_may_sep(lake: Path, day: date, expected: date) -> None:
    p = b3.parse_snapshot((FIX / "ibov_2025-04-30_ptbr_seg1.json").read_bytes())
    from dataclasses import replace

    p = replace(p, session_date=day)
    lk = LocalLake(lake)
    with lk.lock():
        lk.write_raw(p)
        lk.refine_day(day)
    con = lk.connect(read_only=True)
    got = con.execute("SELECT DISTINCT next_rebalance_date, days_to_rebalance FROM ibov_refined").fetchall()
    con.close()
    assert got == [(expected, (expected - day).days)]


def test_rerun_changes_no_refined_row(lake: Path) -> None:
    s = _settings(lake)
    run(s, from_paths=[FIX / "ibov_2025-04-30_ptbr_seg2.json"])
    first = _refined_rows(lake)
    files_first = sorted(p.relative_to(lake) for p in (lake / "refined").rglob("*.parquet"))
    run(s, from_paths=[FIX / "ibov_2025-04-30_ptbr_seg2.json"])
    assert _refined_rows(lake) == first
    assert sorted(p.relative_to(lake) for p in (lake / "refined").rglob("*.parquet")) == files_first
    con = LocalLake(lake).connect(read_only=True)
    assert con.execute("SELECT count(*) FROM ibov_refined").fetchone() == (14,)
    con.close()


def test_one_index_never_erases_another(lake: Path) -> None:
    s = _settings(lake)
    run(s, from_paths=[FIX / "ibov_2025-04-30_ptbr_seg2.json"])
    run(s, from_paths=[FIX / "IBXXDia_30-04-25.csv"])
    con = LocalLake(lake).connect(read_only=True)
    counts = con.execute("SELECT index_code, count(*) FROM ibov_refined GROUP BY 1 ORDER BY 1").fetchall()
    # the same table under the name the Glue Data Catalog gives it
    glue_name = con.execute('SELECT count(*) FROM "default".ibov_refined').fetchone()
    con.close()
    assert counts == [("IBOV", 14), ("IBXX", 8)]
    assert glue_name == (22,)
    # a ticker in both indices has one file per partition holding both rows
    assert len(_refined_rows(lake)) == 22


def test_other_days_are_untouched(lake: Path) -> None:
    s = _settings(lake)
    run(s, from_paths=[FIX / "ibov_2025-04-30_ptbr_seg2.json"])
    before = sorted((p, p.stat().st_mtime_ns) for p in (lake / "refined/dt=2025-04-30").rglob("*.parquet"))
    run(s, from_paths=[FIX / "ibov_2025-05-05_ptbr_seg2.json"])
    after = sorted((p, p.stat().st_mtime_ns) for p in (lake / "refined/dt=2025-04-30").rglob("*.parquet"))
    assert before == after
    assert sorted(LocalLake(lake).refined_days()["IBOV"]) == ["2025-04-30", "2025-05-05"]


def test_local_trigger_uses_the_lambda_decision() -> None:
    event = trigger.s3_event(
        "bkt",
        [
            "raw/dt=2025-04-30/IBOV.parquet",
            "raw/dt=2025-04-30/IBXX.parquet",
            "refined/dt=2025-04-30/ticker=X/a.parquet",
            "raw/dt=2025-13-01/IBOV.parquet",
        ],
    )
    reqs = trigger.refine_requests(event)
    assert [(r.bucket, r.day, r.keys) for r in reqs] == [
        ("bkt", date(2025, 4, 30), ("raw/dt=2025-04-30/IBOV.parquet", "raw/dt=2025-04-30/IBXX.parquet"))
    ]
    assert reqs[0].job_arguments() == {"--dt": "2025-04-30", "--bucket": "bkt"}


def test_layout_round_trip() -> None:
    key = layout.raw_key("IBOV", date(2025, 4, 30))
    assert key == "raw/dt=2025-04-30/IBOV.parquet"
    parsed = layout.parse_raw_key(key)
    assert parsed is not None and parsed.key == key
    assert layout.parse_raw_key("raw/dt=2025-04-30/ibov.parquet") is None
    assert layout.parse_raw_key("raw/dt=2025-04-30/IBOV.json") is None


def test_status_and_run_log(lake: Path) -> None:
    s = _settings(lake)
    run(s, from_paths=[FIX / "ibov_2025-04-30_ptbr_seg2.json"])
    run(s, from_paths=[FIX / "ibov_2025-05-05_ptbr_seg2.json"])
    info = LocalEngine(s).status()
    ibov = next(i for i in info["indices"] if i["index"] == "IBOV")
    assert (ibov["first"], ibov["last"], ibov["raw_days"], ibov["refined_days"]) == (
        "2025-04-30",
        "2025-05-05",
        2,
        2,
    )
    runs = info["runs"]
    assert [r["state"] for r in runs] == ["succeeded", "succeeded"]
    log = (lake / "logs/runs.jsonl").read_text().splitlines()
    assert json.loads(log[-1])["stored"][0]["date"] == "2025-05-05"


def test_validated_snapshot_round_trips_through_raw(lake: Path) -> None:
    p = quality.validate(
        b3.parse_snapshot((FIX / "ibov_2025-04-30_enus_seg2.json").read_bytes()), today=date(2025, 4, 29)
    )
    lk = LocalLake(lake)
    with lk.lock():
        key = lk.write_raw(p)
    back = pq.read_table(lake / key).to_pydict()
    assert back["part"] == [h.part for h in p.holdings]
    assert back["theoricalQty"] == [h.qty for h in p.holdings]


def test_raw_inventory_reads_only_raw_keys() -> None:
    keys = [
        "raw/dt=2025-05-05/IBOV.parquet",
        "raw/dt=2025-04-30/IBOV.parquet",
        "raw/dt=2025-04-30/IBXX.parquet",
        "raw/dt=2025-04-30/.IBOV.parquet.tmp",
        "snapshots/dt=2025-04-30/IBOV.json",
        "raw/dt=2025-13-01/IBOV.parquet",
    ]
    assert layout.raw_inventory(keys) == {
        "IBOV": [date(2025, 4, 30), date(2025, 5, 5)],
        "IBXX": [date(2025, 4, 30)],
    }
