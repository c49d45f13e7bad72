"""Measure ibov's performance targets on this machine (see benchmarks/README.md).

Every number is the wall time of a whole process (what a user waits for), the median of ``--repeat``
runs, with the child's own peak RSS (GNU ``time -f %M``, see :func:`run_child`). Groups (``--only``):

  help     ``ibov --help`` vs ``aws --version``
  run      ``ibov run --from <IBOV snapshot>`` on a fresh and on an existing lake
  glue     the same day refined by the Glue job on local Spark (glue_scripts/refine_job.py)
  history  a synthetic lake of ``--days`` trading days (benchmarks/history.py): the cost of one more
           day vs an empty lake, the saved queries over the whole history, peak memory

Usage (from the project root)::

    .venv/bin/python benchmarks/run.py                       # everything, ten years of IBOV
    .venv/bin/python benchmarks/run.py --only help,run --json
    .venv/bin/python benchmarks/run.py --days 2520 --indices IBOV,IBXX --lake /tmp/ibov-10y
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import history  # noqa: E402

GROUPS = ("help", "run", "glue", "history")
HISTORY_MARKER = ".bench-history.json"
MB = 1024.0  # ru_maxrss and GNU time's %M are in KiB
#: GNU time, for each child's own peak RSS (see run_child).
TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else None


# ----------------------------------------------------------------------------------------------
# running and timing child processes


@dataclass
class Sample:
    seconds: float
    rss_mb: float
    code: int
    output: str
    #: user + system CPU seconds of the command and the processes it waited for
    cpu: float = 0.0


def run_child(cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT) -> Sample:
    """Run ``cmd`` to the end: its wall time and peak RSS.

    The peak RSS comes from GNU ``/usr/bin/time -f %M`` around the command (about 1 ms of extra
    wall time): ``os.wait4`` on a direct child is not enough, because Linux folds the high-water
    RSS of the address space a child had before ``exec`` into its ``ru_maxrss``, and a child
    spawned by this (large) process starts out sharing this process's memory.
    """
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "rss"
        full = [TIME, "-f", "%M", "-o", str(rss_file), *cmd] if TIME else list(cmd)
        with open(Path(tmp) / "out", "w+b") as out:
            started = time.perf_counter()
            proc = subprocess.Popen(full, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            text = out.read().decode("utf-8", "replace")
        rss_kb = float(usage.ru_maxrss)
        if TIME and rss_file.exists():
            last = rss_file.read_text().strip().splitlines()[-1:]
            if last and last[0].isdigit():
                rss_kb = float(last[0])
    return Sample(seconds, rss_kb / MB, proc.returncode, text, usage.ru_utime + usage.ru_stime)


class CommandFailed(RuntimeError):
    pass


def timed(cmd: Sequence[str], *, env: dict[str, str], check: bool = True) -> Sample:
    s = run_child(cmd, env=env)
    if check and s.code != 0:
        tail = "\n".join(s.output.strip().splitlines()[-15:])
        raise CommandFailed(f"{' '.join(cmd)} exited {s.code}:\n{tail}")
    return s


def child_env() -> dict[str, str]:
    """The caller's environment without IBOV_* settings (each command gets --lake explicitly), and
    without PYTHONDONTWRITEBYTECODE (any value, even "0", stops Python writing .pyc files: every command
    would compile the modules changed since the last install)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IBOV_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update({"NO_COLOR": "1", "COLUMNS": "120"})
    return env


def ibov_cmd() -> list[str]:
    """The installed console script next to this interpreter (what a user types), else ``-m``."""
    script = Path(sys.executable).parent / "ibov"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ibovcli"]


# ----------------------------------------------------------------------------------------------
# results


@dataclass
class Result:
    id: str
    what: str
    samples: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    #: CPU seconds of each sample (beside its wall time)
    cpu: list[float] = field(default_factory=list)
    value: float | None = None  # the measured number; default: median of samples
    unit: str = "s"
    limit: float | None = None
    cmp: str = "<="  # value <= limit, or ">=" for ratios that must be large
    target: bool = True  # False: reported for information only
    note: str = ""

    def add(self, s: Sample) -> None:
        self.samples.append(s.seconds)
        self.rss_mb.append(s.rss_mb)
        self.cpu.append(s.cpu)

    @property
    def measured(self) -> float | None:
        if self.value is not None:
            return self.value
        return statistics.median(self.samples) if self.samples else None

    @property
    def passed(self) -> bool | None:
        m = self.measured
        if not self.target or self.limit is None or m is None:
            return None
        return m <= self.limit if self.cmp == "<=" else m >= self.limit

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "what": self.what,
            "measured": None if self.measured is None else round(self.measured, 4),
            "unit": self.unit,
            "limit": self.limit,
            "cmp": self.cmp,
            "target": self.target,
            "pass": self.passed,
            "samples": [round(x, 4) for x in self.samples],
            "cpu_s": round(statistics.median(self.cpu), 4) if self.cpu else None,
            "peak_rss_mb": round(max(self.rss_mb), 1) if self.rss_mb else None,
            "note": self.note,
        }


def measure(
    rid: str,
    what: str,
    cmd: Sequence[str],
    *,
    env: dict[str, str],
    repeat: int,
    limit: float | None = None,
    warmup: int = 1,
    target: bool = True,
) -> Result:
    """Median wall time of ``repeat`` runs of an idempotent command, after ``warmup`` untimed runs."""
    for _ in range(warmup):
        timed(cmd, env=env)
    r = Result(rid, what, limit=limit, target=target and limit is not None)
    for _ in range(repeat):
        r.add(timed(cmd, env=env))
    return r


def ratio(rid: str, what: str, num: Result, den: Result, *, limit: float, cmp: str, note: str = "") -> Result:
    if num.measured is None or den.measured is None or den.measured == 0:
        return Result(rid, what, limit=limit, cmp=cmp, unit="x", note="not measured")
    return Result(rid, what, value=num.measured / den.measured, unit="x", limit=limit, cmp=cmp, note=note)


def missing(rid: str, what: str, note: str, limit: float | None = None, unit: str = "s") -> Result:
    return Result(rid, what, limit=limit, unit=unit, note=note)


# ----------------------------------------------------------------------------------------------
# the groups


def bench_help(repeat: int, env: dict[str, str], notify: Callable[[str], None]) -> list[Result]:
    notify("help: ibov --help, aws --version")
    out = [
        measure("help", "ibov --help", [*ibov_cmd(), "--help"], env=env, repeat=repeat, limit=0.25),
        measure(
            "python_floor",
            "floor: python -c pass (interpreter + site, incl. the editable-install hook)",
            [sys.executable, "-c", "pass"],
            env=env,
            repeat=repeat,
            target=False,
        ),
    ]
    aws = shutil.which("aws", path=env.get("PATH"))
    if aws is None:
        out.append(
            missing("help_vs_aws", "ibov --help / aws --version", "aws CLI not installed here", 1 / 3, "x")
        )
        return out
    version = run_child([aws, "--version"], env=env).output.strip().splitlines()[-1:]
    aws_r = measure("aws_version", "aws --version (as on PATH)", [aws, "--version"], env=env, repeat=repeat)
    aws_r.note = version[0] if version else ""
    out.append(aws_r)
    best = aws_r
    real = _resolve_shim(aws, env)
    if real and real != aws:
        direct = measure(
            "aws_version_direct",
            "aws --version (pyenv shim bypassed)",
            [real, "--version"],
            env=env,
            repeat=repeat,
        )
        direct.note = real
        out.append(direct)
        best = min(aws_r, direct, key=lambda r: r.measured or 0.0)
    out.append(
        ratio(
            "help_vs_aws",
            "ibov --help / aws --version (fastest aws)",
            out[0],
            best,
            limit=round(1 / 3, 3),
            cmp="<=",
            note=f"against {best.id}",
        )
    )
    return out


def _resolve_shim(aws: str, env: dict[str, str]) -> str | None:
    """The real executable behind a pyenv shim (its bash wrapper costs tens of ms), if any."""
    if "/shims/" not in aws or not shutil.which("pyenv", path=env.get("PATH")):
        return aws
    s = run_child(["pyenv", "which", "aws"], env=env)
    path = s.output.strip().splitlines()[-1] if s.code == 0 and s.output.strip() else ""
    return path if path and Path(path).exists() else None


def write_snapshots(folder: Path, market: history.Market, days: list[date]) -> dict[date, list[Path]]:
    """One file per index and day for ``ibov run --from``: B3's GetPortfolioDay JSON for one index,
    the Download CSV (which names its index, so one command takes them all) for several."""
    from tests import b3fake

    folder.mkdir(parents=True, exist_ok=True)
    out: dict[date, list[Path]] = {}
    for day in days:
        portfolios = market.portfolios(day)
        for p in portfolios:
            if len(portfolios) == 1:
                path = folder / history.snapshot_name(p)
                path.write_bytes(history.snapshot_bytes(p))
            else:
                path = folder / f"{p.index.lower()}_{day.isoformat()}.csv"
                path.write_bytes(b3fake.download_csv(p))
            out.setdefault(day, []).append(path)
    return out


def run_day(lake: Path, snapshots: list[Path], env: dict[str, str]) -> Sample:
    """One day stored by one ``ibov run``: ``--from FILE -i INDEX`` for one index, or ``--from`` each
    index's file (``ibov run -i all`` as it runs on saved files)."""
    if len(snapshots) > 1:  # every index: Download CSVs, which name their index, in one command
        return timed(
            [*ibov_cmd(), "run", *[a for p in snapshots for a in ("--from", str(p))], "--lake", str(lake)],
            env=env,
        )
    path = snapshots[0]
    index = path.name.split("_", 1)[0].upper()
    return timed([*ibov_cmd(), "run", "--from", str(path), "-i", index, "--lake", str(lake)], env=env)


def bench_run(
    work: Path, repeat: int, env: dict[str, str], notify: Callable[[str], None], with_glue: bool
) -> list[Result]:
    notify("run: ibov run --from <IBOV snapshot> (fresh lake, existing lake)")
    days = history.trading_days_ending(history.DEFAULT_END, repeat + 40)
    market = history.Market(["IBOV"])
    for day in days[: -repeat - 1]:  # let prices drift so that the snapshots are not day one
        market.portfolios(day)
    snaps = write_snapshots(work / "snapshots-run", market, days[-repeat - 1 :])
    ordered = [snaps[d] for d in days[-repeat - 1 :]]

    fresh = Result("run_fresh", "ibov run --from 1 IBOV snapshot (86 rows), new empty lake", limit=1.5)
    fresh.target = False
    for i, files in enumerate(ordered[1:]):
        lake = work / f"lake-fresh-{i}"
        fresh.add(run_day(lake, files, env))
        shutil.rmtree(lake, ignore_errors=True)

    warm = Result("run_warm", "ibov run --from 1 IBOV snapshot, existing lake (+1 day)", limit=1.5)
    lake = work / "lake-warm"
    run_day(lake, ordered[0], env)  # the lake exists and holds the previous day
    for files in ordered[1:]:
        warm.add(run_day(lake, files, env))
    out = [fresh, warm]
    if with_glue:
        out += bench_glue(work, ordered[-1], repeat, env, notify, warm)
    return out


def bench_glue(
    work: Path,
    snapshots: list[Path],
    repeat: int,
    env: dict[str, str],
    notify: Callable[[str], None],
    warm: Result,
) -> list[Result]:
    script = ROOT / "glue_scripts" / "refine_job.py"
    what = "Glue job on local Spark: refine the same day (python glue_scripts/refine_job.py)"
    if not script.exists():
        return [
            missing("glue_refine", what, f"{script.relative_to(ROOT)} does not exist yet"),
            missing("glue_vs_run", "Glue job refine / ibov run (existing lake)", "not measured", 10, "x"),
        ]
    notify(f"glue: {script.relative_to(ROOT)} on local Spark ({repeat} runs, ~10-30 s each)")
    lake = work / "lake-glue"
    day = None
    for path in snapshots:
        index = path.name.split("_", 1)[0].upper()
        timed([*ibov_cmd(), "scrape", "--from", str(path), "-i", index, "--lake", str(lake)], env=env)
        day = path.name.split("_")[1]
    cmd = [sys.executable, str(script), "--lake", str(lake), "--dt", str(day)]
    glue = measure("glue_refine", what, cmd, env=env, repeat=repeat, warmup=0, target=False)
    if not (lake / "refined" / f"dt={day}").is_dir():
        glue.note = f"WARNING: the job left no refined/dt={day}/"
    return [
        glue,
        ratio(
            "glue_vs_run",
            "Glue job refine / ibov run (existing lake): how much faster ibov is",
            glue,
            warm,
            limit=10,
            cmp=">=",
        ),
    ]


def measure_growth(
    lake: Path,
    work: Path,
    market: history.Market,
    days: list[date],
    env: dict[str, str],
    notify: Callable[[str], None],
) -> list[Result]:
    """Each of ``days`` (after the lake's last) added by one ``ibov run`` to a new empty lake and to the
    big lake, interleaved (empty, big, empty, big...), each followed by the same run again (all
    unchanged)."""
    snaps = write_snapshots(work / "snapshots-history", market, days)
    notify(f"history: one more day, {len(days)} times each on an empty lake and on the big lake, interleaved")
    empty = Result("add_day_empty", "one more day, empty lake (one ibov run)", target=False)
    big = Result("add_day_big", "one more day on the big lake (one ibov run)", limit=1.2, target=True)
    rerun_empty = Result("rerun_empty", "the same day again (all unchanged), one-day lake", target=False)
    rerun = Result("rerun_big", "the same day again (all unchanged), big lake", target=False)
    for i, day in enumerate(days):
        scratch = work / f"lake-empty-{i}"
        empty.add(run_day(scratch, snaps[day], env))
        rerun_empty.add(run_day(scratch, snaps[day], env))
        shutil.rmtree(scratch, ignore_errors=True)
        big.add(run_day(lake, snaps[day], env))
        rerun.add(run_day(lake, snaps[day], env))
    return [
        empty,
        big,
        rerun_empty,
        rerun,
        ratio("growth_ratio", "one more day: big lake / empty lake", big, empty, limit=1.2, cmp="<="),
        ratio(
            "rerun_ratio",
            "the day again: big lake / one-day lake",
            rerun,
            rerun_empty,
            limit=1.2,
            cmp="<=",
        ),
    ]


def bench_history(
    lake: Path,
    work: Path,
    n_days: int,
    indices: list[str],
    repeat: int,
    reuse: bool,
    env: dict[str, str],
    notify: Callable[[str], None],
    grow: bool = False,
) -> tuple[list[Result], dict[str, Any]]:
    """Build (or reuse) the synthetic lake, then measure growth, queries and memory on it."""
    days = history.trading_days_ending(history.DEFAULT_END, n_days)
    if n_days <= repeat + 1:
        raise SystemExit(f"--days must be larger than --repeat + 1 ({repeat + 1})")
    market = history.Market(indices, diverse=len(indices) > 4)
    bulk, tail = days[:-repeat], days[-repeat:]
    marker = lake / HISTORY_MARKER
    info: dict[str, Any] = {"lake": str(lake)}
    out: list[Result] = []
    if reuse:
        if not marker.exists():
            raise SystemExit(f"--reuse: {lake} was not built by this script (no {HISTORY_MARKER})")
        info["build"] = json.loads(marker.read_text())
        first, n_total = info["build"]["first"], int(info["build"]["days"])
        if grow:
            # the market as it was after the stored days (replayed, nothing written), then new days
            last = date.fromisoformat(info["build"]["last"])
            notify(f"history: replaying the market over {n_total} stored days to add {repeat} new ones")
            for day in history.trading_days_ending(last, n_total):
                market.portfolios(day)
            from ibovcli.tradingdays import trading_days

            after = trading_days(last + timedelta(days=1), last + timedelta(days=10 + 2 * repeat))[:repeat]
            out += measure_growth(lake, work, market, after, env, notify)
            info["build"]["days"] = n_total + len(after)
            info["build"]["last"] = after[-1].isoformat()
            marker.write_text(json.dumps(info["build"], indent=1) + "\n")
            n_total += len(after)
        else:
            notify(f"history: reusing {lake}; growth not measured (--grow adds days to the lake)")
            what = "one more day on the big lake / on an empty lake"
            out.append(missing("growth_ratio", what, "--reuse without --grow", 1.2, "x"))
    else:
        if lake.exists() and any(lake.iterdir()):
            raise SystemExit(
                f"{lake} exists and is not empty; remove it, or pass --reuse to measure it as is"
            )
        notify(f"history: storing {len(bulk)} days of {','.join(indices)} into {lake} (ibov scrape --from)")
        report = history.build_lake(lake, market, bulk, notify=notify)
        info["build"] = report.as_json()
        notify(f"history: built {report.as_json()}")
        out += measure_growth(lake, work, market, tail, env, notify)
        info["build"]["days"] = len(days)
        info["build"]["last"] = days[-1].isoformat()
        marker.write_text(json.dumps(info["build"], indent=1) + "\n")
        first, n_total = days[0].isoformat(), len(days)

    notify("history: saved queries over the whole history")
    ib = ibov_cmd()
    lk = ["--lake", str(lake)]
    # the queries ask about IBOV (their default), or the first index when the lake has no IBOV, and
    # about PETR4, or the index's most frequent member when PETR4 never was one
    index = "IBOV" if "IBOV" in indices else indices[0]
    on = [] if index == "IBOV" else ["--index", index]
    ticker = history_ticker(lake, index)
    out.append(
        measure(
            "q_top_weights",
            f"ibov query top-weights {' '.join(on)}".rstrip(),
            [*ib, "query", "top-weights", *on, *lk],
            env=env,
            repeat=repeat,
            limit=1.0,
        )
    )
    out.append(
        measure(
            "q_weight_history",
            " ".join(["ibov query weight-history --ticker", ticker, *on, f"({n_total} days)"]),
            [*ib, "query", "weight-history", "--ticker", ticker, *on, *lk],
            env=env,
            repeat=repeat,
            limit=2.0,
        )
    )
    extra = [
        ("q_sector_weights", "ibov query sector-weights", ["sector-weights", *on]),
        (
            "q_rebalance_diff",
            f"ibov query rebalance-diff --from {first}",
            ["rebalance-diff", "--from", first, *on],
        ),
        (
            "q_concentration",
            f"ibov query concentration --from {first} (every day)",
            ["concentration", "--from", first, *on],
        ),
    ]
    from ibovcli import queries

    saved = queries.load_all()
    for rid, what, args in extra:
        if args[0] in saved:
            out.append(measure(rid, what, [*ib, "query", *args, *lk], env=env, repeat=repeat, target=False))
    out += bench_bare(
        lake,
        work,
        out,
        [
            ("q_top_weights", ["top-weights", *on]),
            ("q_weight_history", ["weight-history", "--ticker", ticker, *on]),
        ]
        + [(rid, args) for rid, _what, args in extra],
        env,
        repeat,
    )
    out.append(
        measure("status", "ibov status (warm)", [*ib, "status", *lk], env=env, repeat=repeat, limit=0.3)
    )
    out.append(status_cold([*ib, "status", *lk], env, repeat))
    out.append(status_reread([*ib, "status", *lk], lake, env, repeat))
    notify("history: disk usage of refined/ and compact/ (one stat per file)")
    out += disk_targets(lake)
    info["catalog_mb"] = round((lake / "catalog.duckdb").stat().st_size / 2**20, 1)
    return out, info


def history_ticker(lake: Path, index: str) -> str:
    """PETR4 when it was ever a member of ``index`` in the lake, else the index's most frequent member."""
    import duckdb

    con = duckdb.connect(str(lake / "catalog.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT ticker FROM ibov_refined WHERE index_code = ? GROUP BY 1 ORDER BY count(*) DESC, 1",
            [index],
        ).fetchall()
    finally:
        con.close()
    members = [str(r[0]) for r in rows]
    return "PETR4" if "PETR4" in members or not members else members[0]


#: A bare DuckDB script, what a notebook user would run on the compact files instead of ``ibov query``.
BARE_SCRIPT = """
import json, sys
import duckdb
sql, params = json.load(open(sys.argv[1]))
duckdb.connect().execute(sql, params).fetchall()
"""


def bench_bare(
    lake: Path,
    work: Path,
    measured: list[Result],
    wanted: list[tuple[str, list[str]]],
    env: dict[str, str],
    repeat: int,
) -> list[Result]:
    """Each saved query measured above against a bare DuckDB script running the same SQL, with the same
    resolved parameters, straight on the compact files (``read_parquet`` over the compact prefix):
    target ibov <= 1.2x the script."""
    import duckdb

    from ibovcli import datasets, queries

    compact = getattr(datasets, "COMPACT", None)
    if compact is None or not (lake / compact.prefix).is_dir():
        return [
            missing(
                "bare_ratio", "saved queries / a bare DuckDB script on the compact files", "no compact files"
            )
        ]
    from ibovcli.engines.local import sql_str

    files = sql_str(str(lake / compact.prefix) + "/**/*.parquet")
    source = f"(SELECT * FROM read_parquet({files}, hive_partitioning = true))"
    catalog = duckdb.connect(str(lake / "catalog.duckdb"), read_only=True)
    script = work / "bare.py"
    script.write_text(BARE_SCRIPT, encoding="utf-8")
    by_id = {r.id: r for r in measured}
    out = []
    try:
        for rid, args in wanted:
            if rid not in by_id or args[0] not in queries.load_all():
                continue
            q = queries.get(args[0])
            given = dict(zip(args[1::2], args[2::2], strict=True))
            bound = queries.bind(q, {k.lstrip("-").replace("-", "_"): v for k, v in given.items()})

            def days(index: str) -> list[str]:
                rows = catalog.execute(
                    "SELECT DISTINCT dt FROM ibov_refined WHERE index_code = ? ORDER BY 1", [index]
                )
                return [str(r[0]) for r in rows.fetchall()]

            resolved = queries.resolve(q, bound, days)
            sql = queries.duckdb_statement(q.sql, {**{n: source for n in datasets.ALL}})
            spec = work / f"bare-{rid}.json"
            spec.write_text(json.dumps([sql, resolved.params], default=str), encoding="utf-8")
            bare = measure(
                f"{rid}_bare",
                f"{rid} as a bare DuckDB script on the compact files",
                [sys.executable, str(script), str(spec)],
                env=env,
                repeat=repeat,
                target=False,
            )
            out += [
                bare,
                ratio(
                    f"{rid}_vs_bare",
                    f"ibov {args[0]} / the bare script",
                    by_id[rid],
                    bare,
                    limit=1.2,
                    cmp="<=",
                ),
            ]
    finally:
        catalog.close()
    return out


def status_cold(cmd: Sequence[str], env: dict[str, str], repeat: int) -> Result:
    """``ibov status`` after the kernel's page cache is dropped (root only: the run says so otherwise)."""
    drop = Path("/proc/sys/vm/drop_caches")
    r = Result("status_cold", "ibov status (cold: page cache dropped first)", limit=0.3)
    for _ in range(repeat):
        try:
            os.sync()
            drop.write_text("3\n")
        except OSError:
            return missing("status_cold", r.what, "cannot drop the page cache (needs root)", 0.3)
        r.add(timed(cmd, env=env))
    return r


def status_reread(cmd: Sequence[str], lake: Path, env: dict[str, str], repeat: int) -> Result:
    """``ibov status`` without the summary a writer saves (removed before each run): what ``status``
    costs when the catalog changed behind ibov's back (a writer that died, a catalog replaced), since it
    then reads the catalog itself, and saves the summary for the next one."""
    from ibovcli.engines.local import SUMMARY_FILE

    r = Result(
        "status_reread", "ibov status reading the catalog (no saved summary: a writer died)", target=False
    )
    for _ in range(repeat):
        (lake / SUMMARY_FILE).unlink(missing_ok=True)
        r.add(timed(cmd, env=env))
    return r


def disk_usage(folder: Path) -> tuple[int, int, int]:
    """Files, their bytes, and the bytes allocated on disk (``st_blocks``, as ``du`` counts them: the
    files and the folders, a partition folder being a block of its own) under ``folder``."""
    files = size = 0
    try:
        allocated = folder.stat().st_blocks * 512
    except OSError:
        return 0, 0, 0
    stack = [folder]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for e in entries:
            st = e.stat(follow_symlinks=False)
            allocated += st.st_blocks * 512
            if e.is_dir(follow_symlinks=False):
                stack.append(Path(e.path))
            elif e.is_file(follow_symlinks=False):
                files, size = files + 1, size + st.st_size
    return files, size, allocated


def disk_targets(lake: Path) -> list[Result]:
    """The required refined layout and the compact copy on disk: target (refined + compact) / refined
    <= 2x (the compact copy adds no new blow-up). Folders count: the required layout's cost is mostly
    its 1.8 M partition folders and files of a few KB on a ten-year, 34-index lake."""
    from ibovcli import datasets

    out = []
    used = {}
    for rid, what, prefix in (
        (
            "disk_refined",
            "refined/ on disk (the required dt=/ticker= layout)",
            datasets.PORTFOLIO.refined_prefix,
        ),
        ("disk_compact", "compact/ on disk (the compact serving copy)", datasets.COMPACT.prefix),
    ):
        started = time.perf_counter()
        files, size, allocated = disk_usage(lake / prefix)
        used[rid] = allocated
        walked = time.perf_counter() - started
        note = f"{files:,} files, {size / MB / MB:,.1f} MB of bytes; walked in {walked:.0f} s"
        out.append(Result(rid, what, value=allocated / MB / MB, unit="MB", target=False, note=note))
    total = (
        (used["disk_refined"] + used["disk_compact"]) / used["disk_refined"] if used["disk_refined"] else None
    )
    if total is None:
        out.append(
            missing("disk_ratio", "(refined + compact) / refined on disk", "no refined files", 2.0, "x")
        )
    else:
        out.append(
            Result("disk_ratio", "(refined + compact) / refined on disk", value=total, unit="x", limit=2.0)
        )
    return out


def memory_target(results: list[Result]) -> Result:
    ibov = [r for r in results if r.rss_mb and not r.id.startswith(("aws", "glue"))]
    worst = max(ibov, key=lambda r: max(r.rss_mb), default=None)
    if worst is None:
        return missing("peak_rss", "peak RSS of any ibov command", "nothing measured", 500, "MB")
    return Result(
        "peak_rss",
        "peak RSS of any ibov command measured above",
        value=max(worst.rss_mb),
        unit="MB",
        limit=500,
        note=f"worst: {worst.id}",
    )


# ----------------------------------------------------------------------------------------------
# machine and report


def machine() -> dict[str, Any]:
    cpu = ""
    mem_gb = None
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        m = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
        cpu = m.group(1).strip() if m else ""
        meminfo = Path("/proc/meminfo").read_text()
        m = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.M)
        mem_gb = round(int(m.group(1)) / 2**20, 1) if m else None
    except OSError:
        pass

    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    java = None
    if shutil.which("java"):
        s = run_child(["java", "-version"])
        java = s.output.strip().splitlines()[0] if s.output.strip() else None
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "ram_gb": mem_gb,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "duckdb": version("duckdb"),
        "pyarrow": version("pyarrow"),
        "pyspark": version("pyspark"),
        "typer": version("typer"),
        "java": java,
        "ibov": version("ibov"),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "peak_rss_from": "GNU time -f %M" if TIME else "os.wait4 (includes the benchmark's own RSS)",
    }


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:.0f} {unit}"


def table(results: list[Result]) -> str:
    rows = [("id", "what", "measured", "CPU", "target", "pass", "peak RSS", "note")]
    for r in results:
        limit = "-" if r.limit is None else f"{r.cmp} {fmt(r.limit, r.unit)}"
        if not r.target and r.limit is not None:
            limit = f"({limit})"
        verdict = {True: "PASS", False: "FAIL", None: "info" if r.measured is not None else "n/a"}[r.passed]
        rss = f"{max(r.rss_mb):.0f} MB" if r.rss_mb else "-"
        cpu = fmt(statistics.median(r.cpu), "s") if r.cpu else "-"
        rows.append((r.id, r.what, fmt(r.measured, r.unit), cpu, limit, verdict, rss, r.note))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per measurement (median; default 5)")
    ap.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated groups: {','.join(GROUPS)}")
    ap.add_argument("--days", type=int, default=2520, help="trading days in the history lake (default 2520)")
    ap.add_argument(
        "--indices", default="IBOV", help="indices in the history lake, e.g. IBOV,IBXX, or all (B3's 34)"
    )
    ap.add_argument("--lake", type=Path, help="where to build (and leave) the history lake")
    ap.add_argument("--reuse", action="store_true", help="measure the queries on an existing --lake")
    ap.add_argument(
        "--grow",
        action="store_true",
        help="with --reuse: also add --repeat new days to it (growth, re-run), after replaying its market",
    )
    ap.add_argument("--work", type=Path, help="scratch folder (default: a temporary one, removed)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    ap.add_argument("--save", type=Path, help="also write the JSON report to this file")
    args = ap.parse_args(argv)

    groups = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = set(groups) - set(GROUPS)
    if unknown:
        ap.error(f"unknown group(s) {', '.join(sorted(unknown))}; known: {', '.join(GROUPS)}")
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    if args.reuse and not args.lake:
        ap.error("--reuse needs --lake")
    from ibovcli import indices as known

    indices = known.expand([i for i in args.indices.split(",") if i.strip()])

    def notify(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    env = child_env()
    work = args.work or Path(tempfile.mkdtemp(prefix="ibov-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    mach = machine()
    results: list[Result] = []
    info: dict[str, Any] = {}
    try:
        if "help" in groups:
            results += bench_help(args.repeat, env, notify)
        if "run" in groups:
            results += bench_run(work, args.repeat, env, notify, with_glue="glue" in groups)
        elif "glue" in groups:
            raise SystemExit("--only glue needs the run group too (the ratio is against ibov run)")
        if "history" in groups:
            lake = args.lake or work / "history-lake"
            hist, info = bench_history(
                lake, work, args.days, indices, args.repeat, args.reuse, env, notify, grow=args.grow
            )
            results += hist
        results.append(memory_target(results))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    report = {
        "date": date.today().isoformat(),
        "machine": {**mach, "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
        "repeat": args.repeat,
        "seconds": round(time.perf_counter() - started, 1),
        "history": info,
        "results": [r.as_json() for r in results],
    }
    if args.save:
        args.save.write_text(json.dumps(report, indent=1) + "\n")
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        m = report["machine"]
        print(
            f"{m['cpu']} x{m['nproc']}, {m['ram_gb']} GB RAM, {m['os']}; Python {m['python']}, "
            f"DuckDB {m['duckdb']}, pyarrow {m['pyarrow']}; median of {args.repeat} runs; "
            f"load average {m['loadavg_at_start'][0]} at start, {m['loadavg_at_end'][0]} at end"
        )
        if info.get("build"):
            print(
                f"history lake: {info['lake']}  {json.dumps(info['build'])}  "
                f"catalog {info.get('catalog_mb')} MB"
            )
        print(table(results))
    failed = [r.id for r in results if r.passed is False]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
