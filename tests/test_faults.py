"""Faults injected for real, one class at a time: the lake is left byte-identical (or healed), the user
gets one line and the documented exit code, within a time bound. See docs/guarantees.md."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ibovcli import datasets
from tests import b3fake
from tests.conftest import FIXTURES, ROOT, run_ibov
from tests.lakes import lake_bytes, rows

pytestmark = pytest.mark.slow

FIX = FIXTURES / "b3"
GOOD = FIX / "IBOVDia_30-04-25_crlf.csv"  # IBOV 2025-04-30, 14 rows
OTHER = FIX / "IBOVDia_05-05-25_lf.csv"  # IBOV 2025-05-05


@pytest.fixture
def stored(lake: Path) -> Path:
    """A lake holding one good day."""
    r = run_ibov("scrape", "--from", str(GOOD), "--lake", str(lake))
    assert r.code == 0, r.stderr
    return lake


def one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), stderr
    assert "Traceback" not in stderr
    return lines[0]


def edited(tmp_path: Path, name: str, old: bytes, new: bytes, source: Path = OTHER) -> Path:
    data = source.read_bytes()
    assert old in data, old
    path = tmp_path / name
    path.write_bytes(data.replace(old, new, 1))
    return path


# -- 1. a failed write destroys nothing -----------------------------------------------------------


def pt_int(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def with_row_edit(tmp_path: Path, edit: str) -> Path:
    """The 2025-05-05 JSON with one thing edited so that every check still passes."""
    body = json.loads((FIX / "ibov_2025-05-05_ptbr_seg2.json").read_bytes())
    row, header = body["results"][0], body["header"]
    if edit == "weight-with-4-decimals":
        row["part"] = row["part"] + "4"  # 16,500 -> 16,5004: the sums still agree within rounding
    elif edit == "quantity-beyond-bigint":
        old = int(row["theoricalQty"].replace(".", ""))
        new = 99_999_999_999_999_999_999
        row["theoricalQty"] = pt_int(new)
        header["theoricalQty"] = pt_int(int(header["theoricalQty"].replace(".", "")) - old + new)
    elif edit == "reductor-beyond-decimal-20-8":
        header["reductor"] = "9.999.999.999.999,00000000"
    path = tmp_path / f"{edit}.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "edit", ["weight-with-4-decimals", "quantity-beyond-bigint", "reductor-beyond-decimal-20-8"]
)
def test_a_value_that_does_not_fit_is_refused_before_anything_is_written(
    stored: Path, tmp_path: Path, edit: str
) -> None:
    before = lake_bytes(stored)
    r = run_ibov("scrape", "--from", str(with_row_edit(tmp_path, edit)), "--lake", str(stored))
    assert r.code == 5, r.stderr
    assert "does not fit the raw schema" in one_error_line(r.stderr)
    assert lake_bytes(stored) == before
    log = [json.loads(x) for x in (stored / "logs" / "runs.jsonl").read_text().splitlines()]
    assert log[-1]["state"] == "failed" and "does not fit" in log[-1]["error"]


def test_a_lone_surrogate_in_a_name_is_refused(stored: Path, tmp_path: Path) -> None:
    before = lake_bytes(stored)
    body = json.loads((FIX / "ibov_2025-05-05_ptbr_seg2.json").read_bytes())
    body["results"][0]["asset"] = "BAD\ud800NAME"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(body), encoding="utf-8")  # json.dumps escapes it as \\ud800
    r = run_ibov("scrape", "--from", str(bad), "--lake", str(stored))
    assert r.code == 5 and "not valid Unicode" in one_error_line(r.stderr)
    assert lake_bytes(stored) == before


def test_a_failure_half_way_through_a_write_puts_everything_back(
    stored: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second rename of a write fails (in-process, on purpose): the first is undone."""
    from ibovcli import pipeline
    from ibovcli.collect import ScrapeRequest
    from ibovcli.errors import ConfigError
    from ibovcli.settings import Settings

    before = lake_bytes(stored)
    real = os.replace
    calls = {"n": 0}

    def flaky(src: object, dst: object) -> None:
        if "/.writing/" in str(src) and "/new-" in str(src):
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError(28, "No space left on device", str(dst))
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", flaky)
    result = pipeline.scrape(
        Settings.load(lake_dir=stored),
        ScrapeRequest(from_paths=(str(FIX / "ibov_2025-04-30_ptbr_seg2.json"),)),
    )
    [failure] = result.failures
    assert isinstance(failure.error, ConfigError) and "No space left" in failure.error.message
    assert calls["n"] == 2
    assert lake_bytes(stored) == before


@contextlib.contextmanager
def small_disk(tmp_path: Path, size: str = "4m") -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True
    )
    if proc.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root, or no mount permission)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(disk: Path, leave: int) -> None:
    """Fill the file system of ``disk`` but ``leave`` bytes."""
    st = os.statvfs(disk)
    free = st.f_bavail * st.f_frsize
    with open(disk / "filler", "wb") as fh:
        fh.write(b"\0" * max(0, free - leave))


def test_a_full_disk_leaves_the_lake_as_it_was(tmp_path: Path) -> None:
    with small_disk(tmp_path) as disk:
        lake = disk / "lake"
        assert run_ibov("scrape", "--from", str(GOOD), "--lake", str(lake)).code == 0
        fill(disk, 8 * 1024)
        before = lake_bytes(lake)
        r = run_ibov("scrape", "--from", str(FIX / "ibov_2025-05-05_ptbr_seg2.json"), "--lake", str(lake))
        assert r.code == 3, r.stderr
        line = one_error_line(r.stderr)
        assert "No space left" in line and str(lake) in line and "Free some space" in line
        assert lake_bytes(lake) == before
        (disk / "filler").unlink()  # space again: the same command now works
        assert (
            run_ibov(
                "scrape", "--from", str(FIX / "ibov_2025-05-05_ptbr_seg2.json"), "--lake", str(lake)
            ).code
            == 0
        )
        assert rows(lake, "SELECT DISTINCT dt FROM ibov_refined ORDER BY 1") == [
            ("2025-04-30",),
            ("2025-05-05",),
        ]


# -- 2. lake paths are data, never patterns -------------------------------------------------------


@pytest.mark.parametrize("name", ["lake*", "la[k]e", "la{k,x}e", "it's", "x'; DROP TABLE ibov_refined; --"])
def test_lake_paths_are_data_never_patterns(tmp_path: Path, name: str) -> None:
    for neighbour in ("lake1", "lakeX", "lake"):  # what a glob would match
        assert run_ibov("scrape", "--from", str(GOOD), "--lake", str(tmp_path / neighbour)).code == 0
    lake = tmp_path / name
    r = run_ibov("scrape", "--from", str(GOOD), "--lake", str(lake))
    assert r.code == 0, r.stderr
    assert rows(lake, "SELECT count(*) FROM ibov_refined") == [(14,)]  # not 14 x the neighbours
    r = run_ibov("query", "top-weights", "--limit", "50", "--json", "--lake", str(lake))
    assert len(json.loads(r.stdout)) == 14
    r = run_ibov("verify", "--lake", str(lake))
    assert r.code == 0, r.stderr


def test_a_lake_path_duckdb_cannot_open_is_refused(tmp_path: Path) -> None:
    r = run_ibov("scrape", "--from", str(GOOD), "--lake", str(tmp_path / "lake?"))
    assert r.code == 2 and "contains '?'" in one_error_line(r.stderr)
    r = run_ibov("scrape", "--from", str(GOOD), "--lake", str(tmp_path / "la\\ke"))
    assert r.code == 2 and "contains" in one_error_line(r.stderr)
    r = run_ibov("status", env={"IBOV_LAKE_DIR": str(tmp_path / "lake?")})
    assert r.code == 3 and "contains '?'" in one_error_line(r.stderr)
    assert list(tmp_path.iterdir()) == []


# -- 3. the zones always agree, and heal -----------------------------------------------------------


def test_a_failed_catalog_commit_leaves_refined_and_catalog_as_they_were(
    stored: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ibovcli.engines import local
    from ibovcli.errors import IbovError
    from tests.lakes import engine

    before = lake_bytes(stored)
    refined_before = {k: v for k, v in before.items() if k.startswith("refined/")}
    catalog_before = rows(stored, "SELECT * FROM ibov_refined ORDER BY ALL")
    real_swap = local.LocalLake._swap

    def swap_then_fail(self: local.LocalLake, staging: Path, unit: datasets.Unit) -> object:
        undo = real_swap(self, staging, unit)

        def undo_and_fail() -> None:
            undo()

        raise_on_commit.append(undo_and_fail)
        return undo

    raise_on_commit: list[object] = []
    monkeypatch.setattr(local.LocalLake, "_swap", swap_then_fail)

    class Boom(IbovError):
        pass

    eng = engine(stored)
    real_execute = None
    with eng.lock():
        con = eng.lake.connection(write=True)
        real_execute = con.execute

        class Con:
            def __getattr__(self, name: str) -> object:
                return getattr(con, name)

            def execute(self, sql: str, *args: object) -> object:
                if sql == "COMMIT":
                    raise Boom("the catalog could not commit")
                return real_execute(sql, *args)

        eng.lake._con = Con()
        with pytest.raises(Boom):
            eng.lake.refine(datasets.PORTFOLIO.unit("2025-04-30"))
        eng.lake._con = con
    eng.close()
    after = lake_bytes(stored)
    assert {k: v for k, v in after.items() if k.startswith("refined/")} == refined_before
    assert rows(stored, "SELECT * FROM ibov_refined ORDER BY ALL") == catalog_before


def test_raw_stored_but_never_refined_is_refined_by_the_next_writer(stored: Path) -> None:
    """A command stopped between storing raw files and refining them (SIGTERM, a busy catalog, a
    failing index among several) leaves a unit pending: status says so, the next writer refines it."""
    from ibovcli import b3, rawfiles
    from tests.lakes import engine

    eng = engine(stored)
    with eng.lock():
        eng.write_raw([rawfiles.portfolio(b3.parse_snapshot(OTHER.read_bytes()))])  # no refine
    eng.close()
    status = json.loads(run_ibov("status", "--json", "--lake", str(stored)).stdout)
    assert status["pending"] == ["portfolio dt=2025-05-05"]
    r = run_ibov("verify", "--lake", str(stored))
    assert r.code == 5 and "1 units disagree" in r.stderr
    # any writer heals first: here a scrape of a day already stored (unchanged)
    r = run_ibov("scrape", "--from", str(GOOD), "--lake", str(stored))
    assert r.code == 0 and "refining portfolio dt=2025-05-05" in r.stderr
    assert json.loads(run_ibov("status", "--json", "--lake", str(stored)).stdout)["pending"] == []
    assert run_ibov("verify", "--lake", str(stored)).code == 0


def test_verify_repair_and_refine_fix_what_was_broken_by_hand(stored: Path) -> None:
    import shutil

    shutil.rmtree(stored / "refined" / "dt=2025-04-30" / "ticker=VALE3")  # a refined partition lost
    r = run_ibov("verify", "--json", "--lake", str(stored))
    assert r.code == 5
    [problem] = json.loads(r.stdout)["problems"]
    assert (problem["unit"], problem["raw_rows"], problem["refined_rows"], problem["catalog_rows"]) == (
        "dt=2025-04-30",
        14,
        13,
        14,
    )
    r = run_ibov("verify", "--repair", "--lake", str(stored))
    assert r.code == 0, r.stderr
    assert "repaired 1, 0 left" in r.stderr
    (stored / "raw" / "dt=2025-04-30" / "IBOV.parquet").write_bytes(b"not parquet")  # damaged by hand
    r = run_ibov("refine", "--date", "2025-04-30", "--json", "--lake", str(stored))
    assert r.code == 0, r.stderr
    [refined] = json.loads(r.stdout)
    assert refined["rows"] == 0 and refined["damaged"][0]["key"] == "raw/dt=2025-04-30/IBOV.parquet"
    r = run_ibov("verify", "--lake", str(stored))
    assert r.code == 5  # a damaged raw file is listed until it is stored again
    assert run_ibov("scrape", "--from", str(GOOD), "--lake", str(stored)).code == 0
    assert run_ibov("verify", "--lake", str(stored)).code == 0


def test_one_damaged_index_never_blocks_the_others_of_its_day(stored: Path) -> None:
    assert run_ibov("scrape", "--from", str(FIX / "IBXXDia_30-04-25.csv"), "--lake", str(stored)).code == 0
    (stored / "raw" / "dt=2025-04-30" / "IBXX.parquet").write_bytes(b"PAR1 truncated")
    r = run_ibov("refine", "--date", "2025-04-30", "--lake", str(stored))
    assert r.code == 0, r.stderr
    assert "IBXX.parquet cannot be read" in r.stderr
    assert rows(stored, "SELECT index_code, count(*) FROM ibov_refined GROUP BY 1") == [("IBOV", 14)]


# -- 4. catalog damage is recognised and repaired -------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "garbage", "deleted"])
def test_a_damaged_catalog_is_rebuilt_and_no_day_is_lost(stored: Path, damage: str) -> None:
    assert run_ibov("scrape", "--from", str(OTHER), "--lake", str(stored)).code == 0
    catalog = stored / "catalog.duckdb"
    if damage == "truncated":
        data = catalog.read_bytes()
        catalog.write_bytes(data[: len(data) // 3])
    elif damage == "garbage":
        catalog.write_bytes(b"this is not a database" * 100)
    else:
        catalog.unlink()
    r = run_ibov(
        "query", "top-weights", "--date", "2025-04-30", "--limit", "2", "--json", "--lake", str(stored)
    )
    assert r.code == 0, r.stderr
    assert "in use by another process" not in r.stderr
    assert "rebuilding it from refined/ and raw/" in r.stderr
    assert [x["ticker"] for x in json.loads(r.stdout)] == ["VALE3", "ITUB4"]
    assert rows(stored, "SELECT DISTINCT dt FROM ibov_refined ORDER BY 1") == [
        ("2025-04-30",),
        ("2025-05-05",),
    ]
    assert run_ibov("verify", "--lake", str(stored)).code == 0
    if damage != "deleted":
        assert list(stored.glob("catalog.duckdb.damaged-*"))  # the damaged file is kept aside


# -- 5. bounded time and memory ---------------------------------------------------------------------


def test_the_lock_timeout_bounds_the_whole_command(stored: Path, tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)", str(stored / ".lock")],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        files = [str(f) for f in (GOOD, OTHER, FIX / "IBXXDia_30-04-25.csv")]
        started = time.monotonic()
        r = run_ibov(
            "scrape",
            *[arg for f in files for arg in ("--from", f)],
            "--lake",
            str(stored),
            env={"IBOV_LOCK_TIMEOUT": "1"},
        )
        took = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert r.code == 7, r.stderr
    assert took < 8  # one second of waiting for the whole command, not one per file
    assert "locked by another ibov process" in r.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "soon", "1e309"])
def test_numeric_settings_must_be_positive_and_finite(lake: Path, value: str) -> None:
    for name in ("IBOV_HTTP_TIMEOUT", "IBOV_LOCK_TIMEOUT", "IBOV_HTTP_DEADLINE", "IBOV_MAX_INPUT_MB"):
        r = run_ibov("status", "--lake", str(lake), env={name: value})
        assert r.code == 3 and name in one_error_line(r.stderr), (name, r.stderr)


def test_too_many_rows_are_refused_quickly(lake: Path, tmp_path: Path) -> None:
    n = 10_000
    rows_ = [
        {"segment": None, "cod": f"T{i:05d}3", "asset": "X", "type": "ON", "part": "0,010", "partAcum": None,
         "theoricalQty": "1"}
        for i in range(n)
    ]  # fmt: skip
    body = {
        "page": {"pageNumber": 1, "pageSize": n, "totalRecords": n, "totalPages": 1},
        "header": {
            "date": "30/04/25",
            "text": "Quantidade Teórica Total",
            "part": "100,000",
            "partAcum": None,
            "textReductor": "Redutor",
            "reductor": "1,00000000",
            "theoricalQty": "10.000",
        },
        "results": rows_,
    }  # fmt: skip
    big = tmp_path / "big.json"
    big.write_text(json.dumps(body))
    started = time.monotonic()
    r = run_ibov("scrape", "--from", str(big), "--lake", str(lake))
    assert r.code == 5 and "IBOV_MAX_ROWS" in one_error_line(r.stderr)
    assert time.monotonic() - started < 10
    assert lake_bytes(lake) == {}  # nothing but the run log's line


# -- 7. every failure is an expected one ------------------------------------------------------------


@pytest.mark.parametrize(
    "code", ["", "IB/OV", "../IBOV", "IBOV'", 'IB"OV', "ÍBOV", "A" * 5000, "IB OV", "IBOV;SMLL", "FOO"]
)
def test_hostile_index_values_are_usage_errors_before_any_request(lake: Path, code: str) -> None:
    with b3fake.FakeB3Server() as server:
        r = run_ibov("scrape", "--index", code, "--lake", str(lake), env={"IBOV_B3_URL": server.url})
        assert server.requests == []
    assert r.code == 2, r.stderr
    line = one_error_line(r.stderr)
    assert len(line) < 400
    assert not any(lake.iterdir())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
        (b'{"page": ' + b"9" * 5000 + b"}", "too long"),
    ],
    ids=["deeply-nested", "5000-digit-integer"],
)
def test_hostile_json_is_bad_data(lake: Path, tmp_path: Path, body: bytes, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(body)
    r = run_ibov("scrape", "--from", str(bad), "--lake", str(lake))
    assert r.code == 5 and message in one_error_line(r.stderr)


def test_a_lake_that_cannot_be_used_is_a_configuration_error(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for args in (("scrape", "--from", str(GOOD)), ("status",), ("query", "top-weights")):
        r = run_ibov(*args, "--lake", str(a_file))
        assert r.code == 3 and "is not a directory" in one_error_line(r.stderr)
    missing = tmp_path / "nowhere"
    for args in (("status",), ("query", "top-weights"), ("verify",)):
        r = run_ibov(*args, "--lake", str(missing))
        assert r.code == 3 and "no lake at" in one_error_line(r.stderr)
        assert not missing.exists()  # a reader never creates a lake
    r = run_ibov("status", "--lake", "")
    assert r.code == 2 and "--lake is empty" in one_error_line(r.stderr)


def test_a_read_only_lake_is_a_configuration_error(tmp_path: Path) -> None:
    with small_disk(tmp_path, "8m") as disk:
        lake = disk / "lake"
        assert run_ibov("scrape", "--from", str(GOOD), "--lake", str(lake)).code == 0
        before = lake_bytes(lake)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        r = run_ibov("scrape", "--from", str(OTHER), "--lake", str(lake))
        assert r.code == 3, r.stderr
        line = one_error_line(r.stderr)
        assert "Read-only file system" in line and str(lake) in line
        # reading still works on a read-only lake
        q = run_ibov("query", "top-weights", "--limit", "1", "--json", "--lake", str(lake))
        assert q.code == 0 and json.loads(q.stdout)[0]["ticker"] == "VALE3", q.stderr
        assert lake_bytes(lake) == before


# -- 8. signals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sig", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_signals_end_with_one_line_their_exit_code_and_an_honest_log(
    stored: Path, sig: signal.Signals, code: int, name: str
) -> None:
    before = lake_bytes(stored)
    with b3fake.FakeB3Server(faults=[("delay", 30)]) as server:
        env = dict(os.environ, IBOV_B3_URL=server.url, IBOV_LAKE_DIR=str(stored))
        proc = subprocess.Popen(
            [sys.executable, "-m", "ibovcli", "run", "-i", "IBXX"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 20
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=20)
    assert proc.returncode == code, err
    assert [ln for ln in err.splitlines() if ln.startswith("interrupted")] == [
        f"interrupted ({name}): nothing partial was left behind"
    ]
    assert "Traceback" not in err
    assert lake_bytes(stored) == before
    runs = json.loads(run_ibov("status", "--json", "--lake", str(stored)).stdout)["runs"]
    assert runs[-1]["state"] == "interrupted" and name in runs[-1]["error"]


def test_a_killed_run_is_logged_as_crashed(stored: Path) -> None:
    with b3fake.FakeB3Server(faults=[("delay", 30)]) as server:
        env = dict(os.environ, IBOV_B3_URL=server.url, IBOV_LAKE_DIR=str(stored))
        proc = subprocess.Popen([sys.executable, "-m", "ibovcli", "run", "-i", "IBXX"], cwd=ROOT, env=env)
        deadline = time.monotonic() + 20
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.kill()
        proc.wait(timeout=20)
    runs = json.loads(run_ibov("status", "--json", "--lake", str(stored)).stdout)["runs"]
    assert runs[-1]["command"] == "run" and runs[-1]["state"] == "crashed"


# -- 10. the run log tells the truth and stays readable --------------------------------------------


def test_a_damaged_or_huge_run_log_does_not_break_status(stored: Path) -> None:
    log = stored / "logs" / "runs.jsonl"
    with open(log, "ab") as fh:
        fh.write(b'{"command": "run", "state": "succ\n\x00\xff garbage\n')
        fh.truncate(1024**3)  # a 1 GB log (sparse: zeros)
        fh.seek(0, os.SEEK_END)
        fh.write(b"\n")
    assert run_ibov("scrape", "--from", str(OTHER), "--lake", str(stored)).code == 0
    started = time.monotonic()
    r = run_ibov("status", "--json", "--lake", str(stored))
    assert r.code == 0, r.stderr
    assert time.monotonic() - started < 10
    assert json.loads(r.stdout)["runs"][-1]["state"] == "succeeded"


def test_status_lists_the_last_ten_runs_however_long_each_runs_entry_is(tmp_path: Path) -> None:
    """A run of every index logs tens of KB: the log is read further back until it holds ten runs."""
    from ibovcli.engines.local import RUN_LOG, LocalLake

    log = tmp_path / RUN_LOG
    log.parent.mkdir(parents=True)
    steps = [{"dataset": "portfolio", "index": f"I{i:03d}", "note": "x" * 200} for i in range(200)]
    with open(log, "w", encoding="utf-8") as fh:  # 30 runs of ~50 KB each: 1.5 MB
        for n in range(30):
            entry = {"command": "run", "run_id": f"r{n:02d}", "state": "succeeded", "steps": steps}
            fh.write(json.dumps({**entry, "state": "running", "steps": []}) + "\n")
            fh.write(json.dumps(entry) + "\n")
    runs = LocalLake(tmp_path).runs(10)
    assert [r.run_id for r in runs] == [f"r{n:02d}" for n in range(20, 30)]
    assert {r.state for r in runs} == {"succeeded"}


# -- 11. output files ------------------------------------------------------------------------------


def test_piping_into_head_ends_quietly(stored: Path) -> None:
    proc = subprocess.run(
        f"{sys.executable} -m ibovcli query top-weights --format csv --lake {stored} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout.startswith("session_date,")
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


# -- 12. calendar and duplicates -------------------------------------------------------------------


def test_a_holiday_is_refused_like_a_weekend(lake: Path, tmp_path: Path) -> None:
    bad = edited(tmp_path, "christmas.csv", b"Carteira do Dia 05/05/25", b"Carteira do Dia 25/12/25")
    r = run_ibov("scrape", "--from", str(bad), "--lake", str(lake))
    assert r.code == 5 and "B3 holiday" in one_error_line(r.stderr)


def test_a_csv_then_a_json_of_the_same_day_leave_one_snapshot(lake: Path) -> None:
    assert run_ibov("scrape", "--from", str(GOOD), "--lake", str(lake)).code == 0
    assert (
        run_ibov("scrape", "--from", str(FIX / "ibov_2025-04-30_ptbr_seg2.json"), "--lake", str(lake)).code
        == 0
    )
    snapshots = sorted(p.name for p in (lake / "snapshots" / "dt=2025-04-30").iterdir())
    assert snapshots == ["IBOV.json"]  # the one the raw rows now come from
    assert rows(
        lake,
        "SELECT DISTINCT source_format FROM read_parquet(?)",
        [str(lake / "raw/dt=2025-04-30/IBOV.parquet")],
    ) == [("json/pt-br/segment-2",)]
