"""Network faults against a real HTTP server on loopback (tests/b3fake.FakeB3Server via IBOV_B3_URL).

Each fault must end within a bounded time, with a clear error and nothing written.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ibovcli import b3
from ibovcli.errors import BlockedError, SnapshotError, SourceError
from ibovcli.fetch import HttpPolicy, fetch_portfolio
from tests import b3fake
from tests.conftest import run_ibov

FAST = HttpPolicy(
    connect_timeout=1.0, read_timeout=1.0, attempts=5, backoff=0.05, max_backoff=0.2, deadline=10.0
)


@pytest.fixture
def server() -> Iterator[b3fake.FakeB3Server]:
    with b3fake.FakeB3Server() as srv:
        yield srv


def _pages(srv: b3fake.FakeB3Server) -> list[int]:
    return [tok.get("pageNumber", 0) for path, tok in srv.requests if "GetPortfolioDay" in path]


@pytest.mark.parametrize("status", [500, 502, 503, 520])
def test_5xx_is_retried_and_recovers(server: b3fake.FakeB3Server, status: int) -> None:
    server.add_fault("status", status)
    server.add_fault("status", status)
    t0 = time.monotonic()
    p = fetch_portfolio("IBOV", base_url=server.url, policy=FAST)
    assert time.monotonic() - t0 < 5
    assert len(p.holdings) == 14
    assert _pages(server) == [1, 1, 1]


def test_persistent_5xx_gives_up_within_attempts_and_deadline(server: b3fake.FakeB3Server) -> None:
    for _ in range(10):
        server.add_fault("status", 520)
    t0 = time.monotonic()
    with pytest.raises(SourceError, match="HTTP 520"):
        fetch_portfolio("IBOV", base_url=server.url, policy=FAST)
    assert time.monotonic() - t0 < FAST.deadline
    assert len(_pages(server)) == FAST.attempts


def test_deadline_bounds_total_time_even_with_many_attempts(server: b3fake.FakeB3Server) -> None:
    for _ in range(100):
        server.add_fault("status", 503)
    policy = HttpPolicy(
        connect_timeout=1, read_timeout=1, attempts=100, backoff=0.2, max_backoff=0.5, deadline=2.0
    )
    t0 = time.monotonic()
    with pytest.raises(SourceError, match="gave up after"):
        fetch_portfolio("IBOV", base_url=server.url, policy=policy)
    assert time.monotonic() - t0 < 3.0


@pytest.mark.parametrize("fault", [("status", 403), ("html", 200), ("html", 403)])
def test_blocked_is_a_distinct_error(server: b3fake.FakeB3Server, fault: tuple[object, ...]) -> None:
    server.add_fault(*fault)
    t0 = time.monotonic()
    with pytest.raises(BlockedError) as info:
        fetch_portfolio("IBOV", base_url=server.url, policy=FAST)
    assert time.monotonic() - t0 < 2
    assert len(_pages(server)) == 1  # a block is not retried
    assert "--from" in info.value.hint


def test_read_timeout_is_retried_then_reported(server: b3fake.FakeB3Server) -> None:
    for _ in range(5):
        server.add_fault("delay", 3.0)
    policy = HttpPolicy(
        connect_timeout=1, read_timeout=0.5, attempts=3, backoff=0.05, max_backoff=0.1, deadline=10
    )
    t0 = time.monotonic()
    with pytest.raises(SourceError, match="timed out"):
        fetch_portfolio("IBOV", base_url=server.url, policy=policy)
    assert time.monotonic() - t0 < 3 * 0.5 + 1.5


def test_connect_timeout_is_bounded() -> None:
    # a listening socket whose accept queue is full: the kernel drops further SYNs, connect() hangs
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        fillers.append(c)
    try:
        policy = HttpPolicy(connect_timeout=0.5, read_timeout=0.5, attempts=2, backoff=0.05, deadline=5)
        t0 = time.monotonic()
        with pytest.raises(SourceError):
            fetch_portfolio("IBOV", base_url=f"http://127.0.0.1:{port}", policy=policy)
        assert time.monotonic() - t0 < 4
    finally:
        for c in fillers:
            c.close()
        listener.close()


def test_connection_refused_is_reported() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(SourceError, match="connection failed"):
        fetch_portfolio("IBOV", base_url=f"http://127.0.0.1:{port}", policy=FAST)


def test_truncated_body_is_retried(server: b3fake.FakeB3Server) -> None:
    server.add_fault("truncate")
    p = fetch_portfolio("IBOV", base_url=server.url, policy=FAST)
    assert len(p.holdings) == 14


def test_double_encoded_answer_is_accepted(server: b3fake.FakeB3Server) -> None:
    server.add_fault("double_encode")
    p = fetch_portfolio("IBOV", base_url=server.url, policy=FAST)
    assert len(p.holdings) == 14


def test_a_double_encoded_multi_page_answer_is_kept_and_parses_back(server: b3fake.FakeB3Server) -> None:
    for _ in range(3):
        server.add_fault("double_encode")
    p = fetch_portfolio("IBOV", base_url=server.url, policy=FAST, page_size=5)
    assert len(p.holdings) == 14 and _pages(server) == [1, 2, 3]
    again = b3.parse_snapshot(p.original)  # the stored bytes: a JSON list of the three pages as sent
    assert [h.cod for h in again.holdings] == [h.cod for h in p.holdings]


def test_unknown_index_is_a_data_error(server: b3fake.FakeB3Server) -> None:
    with pytest.raises(SnapshotError, match="no rows"):
        fetch_portfolio("NOPE", base_url=server.url, policy=FAST)


def test_a_failing_page_writes_nothing(server: b3fake.FakeB3Server, lake: Path) -> None:
    server.add_fault("fail_page", 2)
    t0 = time.monotonic()
    res = run_ibov(
        "scrape",
        "--index",
        "IBOV",
        "--lake",
        str(lake),
        env={"IBOV_B3_URL": server.url, "IBOV_B3_PAGE_SIZE": "5", "IBOV_HTTP_DEADLINE": "6"},
    )
    assert time.monotonic() - t0 < 15
    assert res.code == 4, res.stderr
    assert "page 2" in res.stderr and "HTTP 500" in res.stderr
    assert not list(lake.glob("raw/**/*.parquet"))
    assert not list(lake.glob("snapshots/**/*"))


def test_cli_blocked_exit_code_and_hint(server: b3fake.FakeB3Server, lake: Path) -> None:
    server.add_fault("html", 200)
    res = run_ibov("run", "--lake", str(lake), env={"IBOV_B3_URL": server.url})
    assert res.code == 4
    err_lines = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(err_lines) == 1 and "HTML page" in err_lines[0] and "--from" in err_lines[0]
    assert "Traceback" not in res.stderr
    log = [json.loads(x) for x in (lake / "logs" / "runs.jsonl").read_text().splitlines()]
    assert log[-1]["state"] == "failed" and "HTML" in log[-1]["error"]


def test_cli_persistent_520_gives_up_within_the_configured_deadline(
    server: b3fake.FakeB3Server, lake: Path
) -> None:
    for _ in range(50):
        server.add_fault("status", 520)
    t0 = time.monotonic()
    res = run_ibov("scrape", "--lake", str(lake), env={"IBOV_B3_URL": server.url, "IBOV_HTTP_DEADLINE": "3"})
    elapsed = time.monotonic() - t0
    assert res.code == 4
    assert "HTTP 520" in res.stderr
    assert elapsed < 3 + 5  # the deadline plus process start-up
