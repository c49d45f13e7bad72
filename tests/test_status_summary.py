"""``ibov status`` reads a summary saved with the catalog's state, not the catalog: no DuckDB, constant
time. The summary is refreshed by every writer under the lock and is never used once the catalog has
changed (a writer that died, a catalog replaced or removed, a damaged summary file)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ibovcli.engines import local
from ibovcli.engines.local import GENERATION_FILE, SUMMARY_FILE, LocalEngine, LocalLake
from ibovcli.pipeline import run, status
from ibovcli.settings import Settings

FIX = Path(__file__).parent / "fixtures" / "b3"
DAY1, DAY2 = FIX / "ibov_2025-04-30_ptbr_seg2.json", FIX / "ibov_2025-05-05_ptbr_seg2.json"


def _settings(lake: Path) -> Settings:
    return Settings.load(lake_dir=lake)


def _status_in_a_process(lake: Path) -> tuple[dict[str, object], list[str]]:
    """`ibov status --json` in a fresh process, and which heavy modules it imported."""
    code = (
        "import json, sys\n"
        "from ibovcli.cli import main\n"
        f"try:\n    main(['status', '--json', '--lake', {str(lake)!r}])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('duckdb', 'pyarrow', 'pandas', 'boto3') if m in sys.modules]\n"
        "sys.stderr.write('LOADED=' + ','.join(heavy) + '\\n')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    loaded = [ln for ln in proc.stderr.splitlines() if ln.startswith("LOADED=")][-1][len("LOADED=") :]
    return json.loads(proc.stdout), [m for m in loaded.split(",") if m]


def _computed(lake: Path) -> dict[str, object]:
    """The status read from the catalog itself (the summary file ignored)."""
    engine = LocalEngine(_settings(lake))
    try:
        coverage, pending = engine.lake.summary()
    finally:
        engine.close()
    return {"coverage": [c.as_json() for c in coverage], "pending": list(pending)}


def _shown(report: dict[str, object]) -> dict[str, object]:
    return {"coverage": report["coverage"], "pending": report["pending"]}


def test_after_a_write_status_reads_the_summary_without_duckdb(lake: Path) -> None:
    run(_settings(lake), from_paths=[str(DAY1)])
    assert (lake / SUMMARY_FILE).is_file()  # saved by the writer, under the lock
    report, loaded = _status_in_a_process(lake)
    assert loaded == []
    assert _shown(report) == _computed(lake)
    run(_settings(lake), from_paths=[str(DAY2)])
    report, loaded = _status_in_a_process(lake)
    assert loaded == []
    [ibov] = [c for c in report["coverage"] if c["dataset"] == "portfolio"]  # type: ignore[attr-defined]
    assert (ibov["first"], ibov["last"], ibov["stored"]) == ("2025-04-30", "2025-05-05", 2)
    assert _shown(report) == _computed(lake)


def test_a_writer_that_died_makes_the_summary_stale(lake: Path) -> None:
    run(_settings(lake), from_paths=[str(DAY1)])
    kept = (lake / SUMMARY_FILE).read_bytes()
    # a writer opens the catalog to write (a new token), stores a day, and dies before the lock ends
    with pytest.raises(RuntimeError):
        engine = LocalEngine(_settings(lake))
        try:
            with engine.lock():
                engine.lake.connection(write=True)
                raise RuntimeError("killed")
        finally:
            engine.close()
    assert (lake / SUMMARY_FILE).read_bytes() == kept  # not refreshed by a failed write...
    assert LocalLake(lake).saved_summary() is None  # ...and no longer taken for the catalog's
    report, loaded = _status_in_a_process(lake)
    assert "duckdb" in loaded and _shown(report) == _computed(lake)
    assert LocalLake(lake).saved_summary() is not None  # the reader saved it again (no writer was active)
    assert _status_in_a_process(lake)[1] == []


@pytest.mark.parametrize("change", ["summary damaged", "catalog removed", "token removed", "catalog touched"])
def test_a_summary_is_never_used_for_another_catalog(lake: Path, change: str) -> None:
    run(_settings(lake), from_paths=[str(DAY1)])
    run(_settings(lake), from_paths=[str(DAY2)])
    assert LocalLake(lake).saved_summary() is not None
    if change == "summary damaged":
        (lake / SUMMARY_FILE).write_text('{"version": 1, "catalog": [')
    elif change == "catalog removed":
        (lake / local.CATALOG_FILE).unlink()  # the next reader rebuilds it from the zones
    elif change == "token removed":
        (lake / GENERATION_FILE).unlink()
    else:
        st = (lake / local.CATALOG_FILE).stat()
        os.utime(lake / local.CATALOG_FILE, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert LocalLake(lake).saved_summary() is None
    report = status(_settings(lake))
    [ibov] = report.of("portfolio")
    assert (ibov.first, ibov.last, ibov.stored, ibov.refined) == ("2025-04-30", "2025-05-05", 2, 2)


def test_a_reader_does_not_save_a_summary_while_a_writer_holds_the_lock(lake: Path) -> None:
    run(_settings(lake), from_paths=[str(DAY1)])
    (lake / SUMMARY_FILE).unlink()
    writer = LocalLake(lake)
    with writer.lock():
        assert not LocalLake(lake).no_writer()
        engine = LocalEngine(_settings(lake))
        try:
            engine.lake.close()
            report = engine.status()
        finally:
            engine.close()
        assert [c.last for c in report.of("portfolio")] == ["2025-04-30"]
        assert not (lake / SUMMARY_FILE).exists()
    assert LocalLake(lake).no_writer()


def _stale_by_hashing_everything(lake: Path) -> list[str]:
    """The stale units as they were found before ``ibov_raw_units``: every unit's raw files hashed."""
    from ibovcli.engines.local import _STALE, RAW_SIGNATURES, unit_signature

    engine = LocalEngine(_settings(lake))
    try:
        con = engine.lake.connection()
        every = f"({RAW_SIGNATURES.format(where='')})"
        rows = con.execute(_STALE.format(raw=every), [unit_signature([])]).fetchall()
    finally:
        engine.close()
    return sorted(f"{d} {u}" for d, u in rows)


def _stale(lake: Path) -> list[str]:
    engine = LocalEngine(_settings(lake))
    try:
        return sorted(f"{u.dataset} {u.value}" for u in engine.lake.stale_units())
    finally:
        engine.close()


def test_the_stale_units_kept_up_to_date_are_those_found_by_hashing_every_unit(lake: Path) -> None:
    """``ibov_raw_units`` changes with ``ibov_raw_files`` in one transaction: after raw writes without a
    refine, a replaced file, a removal, a catalog from before the table and a rebuilt catalog, the stale
    units are exactly those found by hashing every unit's files."""
    import duckdb

    from ibovcli import b3, rawfiles
    from ibovcli.pipeline import remove

    run(_settings(lake), from_paths=[str(DAY1)])
    assert _stale(lake) == _stale_by_hashing_everything(lake) == []
    engine = LocalEngine(_settings(lake))
    try:
        with engine.lock():  # stored, not refined (a writer stopped between the two)
            engine.write_raw([rawfiles.portfolio(b3.parse_snapshot(DAY2.read_bytes()))])
    finally:
        engine.close()
    assert _stale(lake) == _stale_by_hashing_everything(lake) == ["portfolio 2025-05-05"]
    # a catalog from before the table: read-only it is computed, the next writer fills the table
    con = duckdb.connect(str(lake / local.CATALOG_FILE))
    con.execute(f"DROP TABLE {local.RAW_UNITS_TABLE}")
    con.close()
    assert _stale(lake) == ["portfolio 2025-05-05"]
    run(_settings(lake), from_paths=[str(DAY1)])  # any writer: creates the table, then heals the day
    assert _stale(lake) == _stale_by_hashing_everything(lake) == []
    remove(_settings(lake), ["raw/dt=2025-05-05/IBOV.parquet"], dry_run=False)
    assert _stale(lake) == _stale_by_hashing_everything(lake) == []
    (lake / local.CATALOG_FILE).unlink()
    report = status(_settings(lake))  # the catalog rebuilt from the zones
    assert [c.last for c in report.of("portfolio")] == ["2025-04-30"]
    assert _stale(lake) == _stale_by_hashing_everything(lake) == []
    con = duckdb.connect(str(lake / local.CATALOG_FILE), read_only=True)
    assert con.execute(f"SELECT count(*) FROM {local.RAW_UNITS_TABLE}").fetchall() == [(1,)]
    con.close()


def test_a_rerun_with_nothing_new_keeps_the_summary_without_reading_the_catalog(
    lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(_settings(lake), from_paths=[str(DAY1)])
    saved = LocalLake(lake).saved_summary()
    assert saved is not None

    def no_read(_lake: LocalLake) -> None:
        raise AssertionError("the catalog was summarised again")

    monkeypatch.setattr(local, "_summary", no_read)
    run(_settings(lake), from_paths=[str(DAY1)])  # the same day again: nothing is committed
    assert LocalLake(lake).saved_summary() == saved  # under the new token
    monkeypatch.undo()
    run(_settings(lake), from_paths=[str(DAY2)])  # a new day: summarised again
    [ibov] = [c for c in (LocalLake(lake).saved_summary() or ((), ()))[0] if c.dataset == "portfolio"]
    assert ibov.last == "2025-05-05"


def test_inventory_changes_inside_a_refine_transaction_join_it() -> None:
    """DuckDB has no nested transactions (a second BEGIN aborts the first): recording raw files inside
    the refine's transaction joins it, and its rollback undoes them too."""
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("CREATE TABLE t (a INTEGER)")
    with pytest.raises(RuntimeError), local._swapping(con):
        with local._atomic(con):
            con.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("the refine failed")
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
    with local._swapping(con), local._atomic(con):
        con.execute("INSERT INTO t VALUES (2)")
    with local._atomic(con):
        con.execute("INSERT INTO t VALUES (3)")
    assert con.execute("SELECT a FROM t ORDER BY a").fetchall() == [(2,), (3,)]
