"""Several indices in one command, ``--index all``, the progress hook; B3 is tests/b3fake.FakeB3Server."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from ibovcli import indices, pipeline, render
from ibovcli.collect import ScrapeRequest
from ibovcli.errors import SnapshotError
from ibovcli.settings import Settings
from tests import b3fake
from tests.conftest import run_ibov
from tests.lakes import rows


@pytest.fixture
def b3() -> Iterator[b3fake.FakeB3Server]:
    """Serves IBOV and IBXX (2025-04-30); any other index answers with no rows, as B3 does."""
    with b3fake.FakeB3Server() as server:
        yield server


def requested_indices(server: b3fake.FakeB3Server) -> list[str]:
    return [token["index"] for path, token in server.requests if "GetPortfolioDay" in path]


def test_the_index_list() -> None:
    codes = indices.codes()
    assert len(codes) == 34 == len(set(codes))
    assert codes == sorted(codes)
    assert all(re.fullmatch(r"[A-Z0-9]{4}", c) for c in codes)
    assert {"IBOV", "IBXX", "IBXL", "IBRA", "SMLL", "IDIV", "IFIX", "BDRX", "ITAG", "IGCX"} <= set(codes)
    assert indices.name("smll") == "Small Cap" and indices.name("IBOV") == "Ibovespa"
    assert indices.name("NOPE") is None


def test_expand() -> None:
    assert indices.expand([]) == []
    assert indices.expand(["ibov", "SMLL", "IBOV"]) == ["IBOV", "SMLL"]
    everything = indices.expand(["smll", "all"])
    assert everything[0] == "SMLL" and sorted(everything) == indices.codes()


def test_run_several_indices_carries_on_past_a_failure(b3: b3fake.FakeB3Server, lake: Path) -> None:
    r = run_ibov(
        "run",
        "-i",
        "IBOV",
        "-i",
        "SMLL",
        "-i",
        "ibxx",
        "--json",
        "--lake",
        str(lake),
        env={"IBOV_B3_URL": b3.url},
    )
    assert r.code == SnapshotError.exit_code  # SMLL failed, so the command fails...
    steps = [s for s in json.loads(r.stdout) if s["dataset"] == "portfolio"]
    assert [(s["index"], s["date"], s["rows"]) for s in steps if s["state"] == "stored"] == [
        ("IBOV", "2025-04-30", 14),
        ("IBXX", "2025-04-30", 8),
    ]  # ...but the other two were stored and refined
    assert [s["index"] for s in steps if s["state"] == "failed"] == ["SMLL"]
    assert rows(lake, "SELECT DISTINCT index_code FROM ibov_refined ORDER BY 1") == [("IBOV",), ("IBXX",)]
    ibxx = next(s for s in steps if s["index"] == "IBXX")
    assert [r["ticker"] for r in ibxx["top"]][:2] == ["ITUB4", "VALE3"]
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: B3 returned no rows for index SMLL")
    assert requested_indices(b3)[:3] == ["IBOV", "SMLL", "IBXX"]


def test_scrape_index_all_fetches_every_index_and_reports_each_failure(
    b3: b3fake.FakeB3Server, lake: Path
) -> None:
    r = run_ibov("scrape", "--index", "all", "--json", "--lake", str(lake), env={"IBOV_B3_URL": b3.url})
    assert r.code != 0
    assert sorted(s["index"] for s in json.loads(r.stdout)) == ["IBOV", "IBXX"]
    assert requested_indices(b3) == indices.codes()
    failed = sorted(re.findall(r"^error: B3 returned no rows for index ([A-Z0-9]+) ", r.stderr, flags=re.M))
    assert failed == [c for c in indices.codes() if c not in ("IBOV", "IBXX")]
    assert sorted(p.name for p in (lake / "raw" / "dt=2025-04-30").iterdir()) == [
        "IBOV.parquet",
        "IBXX.parquet",
    ]


def test_index_all_with_a_file_is_refused(lake: Path, b3_fixtures: Path) -> None:
    csv = next(b3_fixtures.glob("IBOVDia_*.csv"))
    r = run_ibov("scrape", "--index", "all", "--from", str(csv), "--lake", str(lake))
    assert r.code == 2
    assert "--index all fetches every index from B3" in r.stderr


def test_progress_hook_is_called_once_per_index(b3: b3fake.FakeB3Server, lake: Path) -> None:
    seen: list[tuple[str, bool]] = []
    settings = Settings.load(lake_dir=lake, b3_url=b3.url)
    result = pipeline.scrape(
        settings,
        ScrapeRequest(indices=("IBOV", "SMLL", "IBXX")),
        on_progress=lambda what, ok: seen.append((what, ok)),
    )
    assert seen == [("IBOV", True), ("SMLL", False), ("IBXX", True)]
    assert [f.what for f in result.failures] == ["SMLL"]


def test_progress_bar_only_on_a_terminal_and_for_several_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    with render.progress(3, "fetching") as step:
        assert step is None  # stderr is not a terminal under pytest
    buf = io.StringIO()
    monkeypatch.setattr(render, "err", Console(file=buf, force_terminal=True, width=100, no_color=True))
    with render.progress(1, "fetching") as step:
        assert step is None  # one index: nothing to show
    with render.progress(3, "fetching") as step:
        assert step is not None
        step("IBOV", True)
        step("SMLL", False)
        step("IBXX", True)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buf.getvalue())
    assert "3/3" in screen and "1 failed" in screen
