"""Refining many units in one pass (a bulk import, a heal, `ibov refine`) gives each unit exactly what
refining it alone gives: the refine SQL groups, joins and ranks per session, a raw file holding another
unit's rows is refused for the whole pass, and the partition writer lays files out as before."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ibovcli import b3, datasets, rawfiles
from ibovcli.engines import local
from ibovcli.errors import JobFailed
from tests import b3fake
from tests.lakes import engine, lake_bytes, refined_files, refined_rows, rows

DAY_A = b3fake.IBOV_2025_04_30.date
DAY_B = b3fake.IBOV_2025_05_05.date
#: a ticker no shipped table knows: only day A's segment-2 answer gives it a sector
NEW = b3fake.Row("ZZZQ3", "MADE UP", "ON      NM", b3fake.MINERACAO, Decimal("0.500"), 1_000_000)


def _json(p: b3fake.Portfolio) -> bytes:
    return b3fake.to_json_bytes(b3fake.portfolio_day_json(p, segment=2))


def _inputs() -> list[rawfiles.RawWrite]:
    """Two days, two indices, JSON (with sectors) and CSV (without), so a day refined with another's
    rows would show: sectors taken from the other day, ranks counted over both days."""
    a = dataclasses.replace(b3fake.IBOV_2025_04_30, rows=(*b3fake.IBOV_2025_04_30.rows, NEW))
    b = dataclasses.replace(b3fake.IBOV_2025_05_05, rows=(*b3fake.IBOV_2025_05_05.rows, NEW))
    parsed = [
        b3.parse_snapshot(_json(a), index="IBOV", source="a.json"),
        b3.parse_snapshot(b3fake.download_csv(b3fake.IBXX_2025_04_30), source="ibxx.csv"),
        b3.parse_snapshot(b3fake.download_csv(b), source="b.csv"),
    ]
    return [rawfiles.portfolio(p) for p in parsed]


def _raw_lake(path: Path) -> list[datasets.Unit]:
    """A lake holding the raw files only (nothing refined yet)."""
    lake = engine(path).lake
    writes = _inputs()
    with lake.lock():
        lake.connection(write=True)  # the catalog first: a lake with data and no catalog is damage
        lake.publish([(key, body) for w in writes for key, body, _ctype in w.files()])
        lake.record_writes(writes)
    lake.close()
    return [datasets.PORTFOLIO.unit(d.isoformat()) for d in (DAY_A, DAY_B)]


def test_units_refined_together_get_what_each_gets_alone(tmp_path: Path) -> None:
    alone, together = tmp_path / "alone", tmp_path / "together"
    units = _raw_lake(alone)
    shutil.copytree(alone, together)

    lake = engine(alone).lake
    with lake.lock():
        singles = [lake.refine(u) for u in units]
    lake.close()
    lake = engine(together).lake
    with lake.lock():
        batch = lake.refine_units(units)
    lake.close()

    assert [(r.unit, r.rows, r.indices) for r in batch] == [(r.unit, r.rows, r.indices) for r in singles]
    assert [(r.rows, r.indices) for r in batch] == [(23, ("IBOV", "IBXX")), (15, ("IBOV",))]
    assert refined_files(together) == refined_files(alone)
    assert refined_rows(together) == refined_rows(alone)
    everything = "SELECT * FROM ibov_refined ORDER BY ALL"
    assert rows(together, everything) == rows(alone, everything)
    units_sql = "SELECT dataset, unit, refined_signature, raw_files, refined_rows FROM ibov_units ORDER BY 2"
    assert rows(together, units_sql) == rows(alone, units_sql)
    # what the per-session grouping protects: day B's CSV has no sectors, and day A's answer must not
    # lend it one; each day ranks its own rows from 1
    assert rows(together, "SELECT dt, sector FROM ibov_refined WHERE ticker = 'ZZZQ3' ORDER BY dt") == [
        (DAY_A.isoformat(), "Materiais Básicos"),
        (DAY_B.isoformat(), None),
    ]
    assert rows(
        together,
        "SELECT dt, min(weight_rank), max(weight_rank) FROM ibov_refined WHERE index_code = 'IBOV' "
        "GROUP BY dt ORDER BY dt",
    ) == [(DAY_A.isoformat(), 1, 15), (DAY_B.isoformat(), 1, 15)]


def test_a_raw_file_holding_another_days_rows_stops_the_whole_pass(tmp_path: Path) -> None:
    units = _raw_lake(tmp_path)
    lake = engine(tmp_path).lake
    with lake.lock():
        lake.refine_units(units)
    before = lake_bytes(tmp_path)
    catalog_before = rows(tmp_path, "SELECT * FROM ibov_refined ORDER BY ALL")
    # day A's IBXX file copied under day B: its rows say 2025-04-30
    shutil.copy(tmp_path / "raw/dt=2025-04-30/IBXX.parquet", tmp_path / "raw/dt=2025-05-05/IBXX.parquet")
    refused = "raw files under dt=2025-05-05 hold rows for dt=2025-04-30"
    with lake.lock(), pytest.raises(JobFailed, match=refused):
        lake.refine_units(units)
    lake.close()
    after = lake_bytes(tmp_path)
    after.pop("raw/dt=2025-05-05/IBXX.parquet")
    assert {k: v for k, v in after.items() if k != "catalog.duckdb"} == {
        k: v for k, v in before.items() if k != "catalog.duckdb"
    }
    assert rows(tmp_path, "SELECT * FROM ibov_refined ORDER BY ALL") == catalog_before


def test_many_units_are_refined_in_bounded_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    days = [DAY_A + dt.timedelta(days=i) for i in range(5)]
    eng = engine(tmp_path)
    writes = [
        rawfiles.portfolio(
            b3.parse_snapshot(b3fake.download_csv(dataclasses.replace(b3fake.IBOV_2025_04_30, date=d)))
        )
        for d in days
    ]
    monkeypatch.setattr(local, "BATCH_UNITS", 2)
    said: list[str] = []
    with eng.lock():
        eng.write_raw(writes)
        results = eng.refine([datasets.PORTFOLIO.unit(d.isoformat()) for d in days], said.append)
    eng.close()
    assert said == [
        "refining portfolio dt=2025-04-30..2025-05-01 (2 units)",
        "refining portfolio dt=2025-05-02..2025-05-03 (2 units)",
        "refining portfolio dt=2025-05-04",
    ]
    assert [r.rows for r in results] == [14] * 5
    assert rows(tmp_path, "SELECT count(DISTINCT dt), count(*) FROM ibov_refined") == [(5, 70)]


def test_partition_files_hold_their_rows_with_the_engines_physical_types(tmp_path: Path) -> None:
    units = _raw_lake(tmp_path)
    lake = engine(tmp_path).lake
    with lake.lock():
        lake.refine_units(units)
    lake.close()
    files = refined_files(tmp_path)
    assert len(files) == 31 and all(f.name == "part-0.parquet" for f in files)
    path = tmp_path / "refined/dt=2025-04-30/ticker=VALE3/part-0.parquet"
    table = pq.read_table(path)
    assert table.num_rows == 2 and "dt" not in table.column_names and "ticker" not in table.column_names
    assert sorted(table.column("index_code").to_pylist()) == ["IBOV", "IBXX"]
    meta = pq.read_metadata(path)
    columns = [meta.schema.column(i) for i in range(meta.num_columns)]
    physical = {c.name: c.physical_type for c in columns}
    # small decimals as integers, as DuckDB and Spark write them
    assert physical["weight_pct"] == "INT32" and physical["sector_weight_pct"] == "INT32"
    assert meta.row_group(0).column(0).compression == "SNAPPY"


def _table(days: int = 3, tickers: int = 40) -> object:
    import pyarrow as pa

    dts = [f"2025-05-{d + 1:02d}" for d in range(days) for _ in range(tickers)]
    return pa.table(
        {
            "weight_pct": pa.array([Decimal(i % 97) / 10 for i in range(len(dts))], pa.decimal128(7, 3)),
            "company": [f"CO {i}" for i in range(len(dts))],
            "dt": dts,
            "ticker": [f"T{t:03d}3" for _ in range(days) for t in range(tickers)],
        }
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_processes_and_threads_write_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    from ibovcli import partfiles

    monkeypatch.setattr(partfiles, "WORKERS", workers)
    table = _table()
    monkeypatch.setattr(partfiles, "PROCESS_FILES", 10**9)
    assert partfiles.write(table, tmp_path / "threads", ("dt", "ticker")) == 120
    monkeypatch.setattr(partfiles, "PROCESS_FILES", 1)
    assert partfiles.write(table, tmp_path / "processes", ("dt", "ticker")) == 120
    threads, processes = refined_files(tmp_path, "threads"), refined_files(tmp_path, "processes")
    assert [p.relative_to("threads") for p in threads] == [p.relative_to("processes") for p in processes]
    assert [(tmp_path / p).read_bytes() for p in threads] == [(tmp_path / p).read_bytes() for p in processes]
    assert not list((tmp_path / "processes").glob(".partfiles-*"))  # the scratch folder is gone
    back = pq.read_table(tmp_path / "processes/dt=2025-05-02/ticker=T0073")
    assert back.column("company").to_pylist() == ["CO 47"]


def test_a_failing_writer_process_fails_the_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ibovcli import partfiles

    monkeypatch.setattr(partfiles, "WORKERS", 2)
    monkeypatch.setattr(partfiles, "PROCESS_FILES", 1)
    (tmp_path / "dt=2025-05-03" / "ticker=T0393").mkdir(parents=True)  # in the way of one file
    with pytest.raises(OSError, match="a parquet writer process failed: FileExistsError"):
        partfiles.write(_table(), tmp_path, ("dt", "ticker"))
    assert not list(tmp_path.glob(".partfiles-*"))


def test_small_files_skip_statistics_and_dictionaries_large_ones_keep_them(tmp_path: Path) -> None:
    import pyarrow as pa

    from ibovcli import partfiles

    rows = partfiles.SMALL_FILE_ROWS + 1
    table = pa.table({"v": list(range(rows + 1)), "p": ["big"] * rows + ["one"]})
    assert partfiles.write(table, tmp_path, ("p",)) == 2
    big = pq.read_metadata(tmp_path / "p=big" / partfiles.FILE_NAME).row_group(0).column(0)
    one = pq.read_metadata(tmp_path / "p=one" / partfiles.FILE_NAME).row_group(0).column(0)
    assert big.is_stats_set and big.statistics.min == 0 and big.statistics.max == rows - 1
    assert big.has_dictionary_page
    assert not one.is_stats_set and not one.has_dictionary_page


def test_a_failure_after_the_folders_were_swapped_puts_them_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All or nothing across the whole install: when the compact rebuild fails after the units' folders
    were swapped in, those folders are swapped back and the catalog rolled back."""
    units = _raw_lake(tmp_path)
    lake = engine(tmp_path).lake
    with lake.lock():
        lake.refine_units(units)
    before = {k: v for k, v in lake_bytes(tmp_path).items() if k.startswith("refined/")}
    catalog_before = rows(tmp_path, "SELECT * FROM ibov_refined ORDER BY ALL")
    # the same days again, now with different rows: day B's IBOV answer replaced by day A's IBXX one
    shutil.copy(tmp_path / "raw/dt=2025-04-30/IBXX.parquet", tmp_path / "raw/dt=2025-04-30/IBOV.parquet")

    def boom(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(local.LocalLake, "_compact_into", boom)
    with lake.lock(), pytest.raises(Exception, match="No space left"):
        lake.refine_units(units)
    lake.close()
    assert {k: v for k, v in lake_bytes(tmp_path).items() if k.startswith("refined/")} == before
    assert rows(tmp_path, "SELECT * FROM ibov_refined ORDER BY ALL") == catalog_before
