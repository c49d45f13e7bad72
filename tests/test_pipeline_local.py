"""The local pipeline end to end: scrape -> raw -> trigger -> refine -> catalog -> query."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ibovcli import b3, datasets, layout, quality, rawfiles, schema, trigger
from ibovcli.pipeline import run, status
from ibovcli.settings import Settings
from tests import b3fake
from tests.lakes import catalog, refined_files, refined_rows, rows, store

FIX = Path(__file__).parent / "fixtures" / "b3"


def _settings(lake: Path) -> Settings:
    return Settings.load(lake_dir=lake)


def test_run_writes_raw_refined_and_catalog(lake: Path) -> None:
    result = run(_settings(lake), from_paths=[str(FIX / "ibov_2025-04-30_ptbr_seg2.json")])
    [step] = result.steps
    assert (step.dataset, step.index, step.state) == ("portfolio", "IBOV", "stored")
    assert [step.stored[k] for k in ("index", "date", "rows", "key")] == [
        "IBOV",
        "2025-04-30",
        14,
        "raw/dt=2025-04-30/IBOV.parquet",
    ]
    assert (lake / "raw/dt=2025-04-30/IBOV.parquet").is_file()
    assert (lake / "snapshots/dt=2025-04-30/IBOV.json").read_bytes() == (
        FIX / "ibov_2025-04-30_ptbr_seg2.json"
    ).read_bytes()
    tickers = sorted(p.name for p in (lake / "refined/dt=2025-04-30").iterdir())
    assert tickers == sorted(f"ticker={r.cod}" for r in b3fake.IBOV_2025_04_30.rows)
    assert step.top is not None
    top = step.top.records()
    assert [(r["ticker"], r["weight_pct"]) for r in top] == [
        ("VALE3", Decimal("18.250")),
        ("ITUB4", Decimal("14.500")),
        ("PETR4", Decimal("12.750")),
        ("PETR3", Decimal("8.375")),
        ("BBDC4", Decimal("6.625")),
    ]


def test_raw_file_is_typed_and_keeps_lineage(lake: Path) -> None:
    run(_settings(lake), from_paths=[str(FIX / "IBOVDia_30-04-25_crlf.csv")])
    table = pq.read_table(lake / "raw/dt=2025-04-30/IBOV.parquet")
    assert table.schema.equals(schema.arrow_schema(schema.PORTFOLIO_RAW))
    row = {k: v[0] for k, v in table.to_pydict().items()}
    assert row["index_code"] == "IBOV"
    assert row["total_theoricalQty"] == b3fake.IBOV_2025_04_30.total_qty
    assert row["reductor"] == b3fake.IBOV_2025_04_30.reductor
    assert row["source"] == "file:IBOVDia_30-04-25_crlf.csv"
    assert row["source_format"] == "csv/pt-br"
    assert len(row["source_sha256"]) == 64


def test_refined_rows_follow_the_schema_and_the_transformations(lake: Path) -> None:
    run(_settings(lake), from_paths=[str(FIX / "ibov_2025-04-30_ptbr_seg2.json")])
    one = next((lake / "refined/dt=2025-04-30/ticker=VALE3").glob("*.parquet"))
    names = pq.read_schema(one).names
    assert names == [c.name for c in schema.PORTFOLIO_REFINED]  # partition columns live in the path only
    found = rows(
        lake,
        "SELECT ticker, company, weight_pct, theoretical_qty, sector, subsector, sector_weight_pct, "
        "sector_members, index_members, weight_rank, next_rebalance_date, days_to_rebalance, "
        "weekdays_to_rebalance, share_class, corporate_event, listing_segment "
        "FROM ibov_refined WHERE ticker IN ('ITUB4', 'VALE3') ORDER BY ticker",
    )
    itub = found[0]
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
    assert found[1][9] == 1  # VALE3 is the largest weight


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

    store(lake, replace(p, session_date=day))
    got = rows(lake, "SELECT DISTINCT next_rebalance_date, days_to_rebalance FROM ibov_refined")
    assert got == [(expected, (expected - day).days)]


def test_rerun_changes_no_refined_row(lake: Path) -> None:
    s = _settings(lake)
    run(s, from_paths=[str(FIX / "ibov_2025-04-30_ptbr_seg2.json")])
    first = refined_rows(lake)
    files_first = refined_files(lake)
    again = run(s, from_paths=[str(FIX / "ibov_2025-04-30_ptbr_seg2.json")])
    assert [step.state for step in again.steps] == ["unchanged"]  # the same bytes are not stored again
    (lake / "raw/dt=2025-04-30/IBOV.parquet").unlink()  # force a real re-store of the same snapshot
    run(s, from_paths=[str(FIX / "ibov_2025-04-30_ptbr_seg2.json")])
    assert refined_rows(lake) == first
    assert refined_files(lake) == files_first
    assert rows(lake, "SELECT count(*) FROM ibov_refined") == [(14,)]


def test_one_index_never_erases_another(lake: Path) -> None:
    s = _settings(lake)
    run(s, from_paths=[str(FIX / "ibov_2025-04-30_ptbr_seg2.json")])
    run(s, from_paths=[str(FIX / "IBXXDia_30-04-25.csv")])
    with catalog(lake) as con:
        counts = con.execute("SELECT index_code, count(*) FROM ibov_refined GROUP BY 1 ORDER BY 1").fetchall()
        # the same table under the name the Glue Data Catalog gives it
        glue_name = con.execute('SELECT count(*) FROM "default".ibov_refined').fetchone()
    assert counts == [("IBOV", 14), ("IBXX", 8)]
    assert glue_name == (22,)
    # a ticker in both indices has one file per partition holding both rows
    assert len(refined_rows(lake)) == 22


def test_other_days_are_untouched(lake: Path) -> None:
    s = _settings(lake)
    run(s, from_paths=[str(FIX / "ibov_2025-04-30_ptbr_seg2.json")])
    before = sorted((p, p.stat().st_mtime_ns) for p in (lake / "refined/dt=2025-04-30").rglob("*.parquet"))
    run(s, from_paths=[str(FIX / "ibov_2025-05-05_ptbr_seg2.json")])
    after = sorted((p, p.stat().st_mtime_ns) for p in (lake / "refined/dt=2025-04-30").rglob("*.parquet"))
    assert before == after
    assert rows(lake, "SELECT DISTINCT dt FROM ibov_refined ORDER BY 1") == [("2025-04-30",), ("2025-05-05",)]


def test_local_trigger_uses_the_lambda_decision() -> None:
    keys = [
        "raw/dt=2025-04-30/IBOV.parquet",
        "raw/dt=2025-04-30/IBXX.parquet",
        "raw/levels/index_code=IBOV/2022.parquet",
        "raw/levels/index_code=IBOV/2023.parquet",
        "refined/dt=2025-04-30/ticker=X/a.parquet",
        "raw/dt=2025-13-01/IBOV.parquet",
        "snapshots/dt=2025-04-30/IBOV.json",
    ]
    reqs = trigger.refine_requests("bkt", keys)
    assert [(r.bucket, str(r.unit), r.keys) for r in reqs] == [
        (
            "bkt",
            "portfolio dt=2025-04-30",
            ("raw/dt=2025-04-30/IBOV.parquet", "raw/dt=2025-04-30/IBXX.parquet"),
        ),
        (
            "bkt",
            "levels index_code=IBOV",
            ("raw/levels/index_code=IBOV/2022.parquet", "raw/levels/index_code=IBOV/2023.parquet"),
        ),
    ]
    assert reqs[0].job_arguments() == {"--dataset": "portfolio", "--unit": "2025-04-30", "--bucket": "bkt"}
    assert trigger.parse_job_arguments(reqs[1].job_arguments()) == ("bkt", reqs[1].unit)
    # runs started before datasets existed name a portfolio day with --dt
    assert trigger.parse_job_arguments({"--dt": "2025-04-30"}) == (None, reqs[0].unit)


def test_layout_round_trip() -> None:
    key = layout.raw_key("IBOV", date(2025, 4, 30))
    assert key == "raw/dt=2025-04-30/IBOV.parquet"
    parsed = datasets.parse_raw_key(key)
    assert parsed is not None and parsed.key == key and parsed.parts == {"index": "IBOV"}
    assert datasets.parse_raw_key("raw/dt=2025-04-30/ibov.parquet") is None
    assert datasets.parse_raw_key("raw/dt=2025-04-30/IBOV.json") is None
    levels = layout.levels_raw_key("IBOV", 2022)
    assert levels == "raw/levels/index_code=IBOV/2022.parquet"
    assert layout.snapshot_key(levels, "json") == "snapshots/levels/index_code=IBOV/2022.json"
    assert layout.snapshot_key(key, "csv") == "snapshots/dt=2025-04-30/IBOV.csv"
    # every refined prefix is outside every other table's location (Athena reads a whole prefix)
    prefixes = [d.refined_prefix for d in datasets.ALL.values()]
    assert not [(a, b) for a in prefixes for b in prefixes if a != b and b.startswith(a)]


def test_status_and_run_log(lake: Path) -> None:
    s = _settings(lake)
    run(s, from_paths=[str(FIX / "ibov_2025-04-30_ptbr_seg2.json")])
    run(s, from_paths=[str(FIX / "ibov_2025-05-05_ptbr_seg2.json")])
    report = status(s)
    [ibov] = report.of("portfolio")
    assert (ibov.index, ibov.first, ibov.last, ibov.stored, ibov.refined) == (
        "IBOV",
        "2025-04-30",
        "2025-05-05",
        2,
        2,
    )
    assert [r.state for r in report.runs] == ["succeeded", "succeeded"]
    log = (lake / "logs/runs.jsonl").read_text().splitlines()
    assert json.loads(log[-1])["steps"][0]["date"] == "2025-05-05"


def test_validated_snapshot_round_trips_through_raw(lake: Path) -> None:
    p = quality.validate(
        b3.parse_snapshot((FIX / "ibov_2025-04-30_enus_seg2.json").read_bytes()), today=date(2025, 4, 29)
    )
    store(lake, p)
    back = pq.read_table(lake / rawfiles.portfolio(p).key).to_pydict()
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
    assert layout.portfolio_inventory(keys) == {
        "IBOV": [date(2025, 4, 30), date(2025, 5, 5)],
        "IBXX": [date(2025, 4, 30)],
    }
