"""Network faults against a real HTTP server on loopback (tests/b3fake.FakeB3Server via IBOV_B3_URL).

Each fault must end within a bounded time, with a clear error and nothing written.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import re
import socket
import ssl
import threading
import time
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ibovcli import b3, fetch
from ibovcli.errors import BlockedError, ConfigError, IbovError, SnapshotError, SourceError
from ibovcli.fetch import HttpPolicy, fetch_portfolio
from tests import b3fake
from tests.conftest import Result, run_ibov

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
        env={"IBOV_B3_URL": server.url, "IBOV_B3_PAGE_SIZE": "5", "IBOV_HTTP_DEADLINE": "2"},
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


# ----------------------------------------------------------------------------------------------
# bounded time and memory for every exchange (drip, endless, gzip bomb, redirects, permanent errors)

SECRET = "S3cr3tPw"


def _get(url: str, policy: HttpPolicy, **kwargs: object) -> tuple[bytes, list[str]]:
    """``fetch.get`` on a fresh session; returns the body and the events it reported."""
    events: list[str] = []
    body = fetch.get(
        fetch.new_session(),
        url,
        policy,
        time.monotonic(),
        time.sleep,
        events.append,
        what="IBOV page 1",
        **kwargs,  # type: ignore[arg-type]
    )
    return body, events


def _with_secret(url: str) -> str:
    return url.replace("http://", f"http://alice:{SECRET}@", 1)


def _assert_clean(exc: BaseException) -> None:
    """One-line message and hint, no secret anywhere, no chained requests exception to leak it."""
    assert isinstance(exc, IbovError)
    for text in (exc.message, exc.hint, str(exc), repr(exc)):
        assert "\n" not in text and SECRET not in text and "alice" not in text, text
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)


@pytest.mark.parametrize(
    ("rate", "read_timeout"),
    [
        (0.5, 5.0),  # stalled: one byte every 2 s
        (1 / 0.85, 0.9),  # a byte every 0.85 s, each within the read timeout: would end at 1.7 s
        (300.0, 5.0),  # a steady trickle: the 2 KB page would take 7 s
    ],
)
def test_a_dripping_body_is_cut_at_the_deadline(
    server: b3fake.FakeB3Server, rate: float, read_timeout: float
) -> None:
    server.add_fault("drip", rate)
    policy = HttpPolicy(connect_timeout=1, read_timeout=read_timeout, attempts=3, backoff=0.05, deadline=1.0)
    t0 = time.monotonic()
    with pytest.raises(
        SourceError, match=r"still sending IBOV page 1 at the deadline: cut after 1\.\ds"
    ) as info:
        _get(_with_secret(server.portfolio_day_url()), policy)
    elapsed = time.monotonic() - t0
    assert 1.0 <= elapsed < 1.3  # each wait for bytes ends by the deadline, not one read timeout later
    assert server.url.removeprefix("http://") in info.value.message  # names the host (and port)
    assert "IBOV_HTTP_DEADLINE" in info.value.hint
    assert len(server.requests) == 1  # no time left for another attempt
    _assert_clean(info.value)


def test_a_fast_drip_is_read_whole(server: b3fake.FakeB3Server) -> None:
    server.add_fault("drip", 100_000)
    p = fetch_portfolio("IBOV", base_url=server.url, policy=FAST)
    assert len(p.holdings) == 14


def test_an_endless_body_is_refused_at_the_cap(server: b3fake.FakeB3Server) -> None:
    server.add_fault("endless")
    policy = HttpPolicy(connect_timeout=1, read_timeout=1, attempts=3, deadline=5, max_bytes=256 * 1024)
    t0 = time.monotonic()
    with pytest.raises(
        SnapshotError, match=r"is over the 262,144 bytes cap \(cut at ([\d,]+) bytes\)"
    ) as info:
        _get(server.portfolio_day_url(), policy)
    assert time.monotonic() - t0 < 1.0
    cut = int(re.search(r"cut at ([\d,]+)", info.value.message)[1].replace(",", ""))  # type: ignore[index]
    assert 256 * 1024 < cut <= 256 * 1024 + fetch.CHUNK  # held in memory: at most the cap plus one chunk
    assert "IBOV_HTTP_MAX_MB" in info.value.hint and "max_bytes" in info.value.hint
    assert len(server.requests) == 1  # a too-big answer is not retried
    _assert_clean(info.value)


def test_an_oversized_content_length_is_refused_before_reading(server: b3fake.FakeB3Server) -> None:
    server.add_fault("endless", 90 * 1024 * 1024)
    t0 = time.monotonic()
    with pytest.raises(SnapshotError, match=r"announces 94,371,840 bytes, over the 64 MiB cap") as info:
        _get(server.portfolio_day_url(), FAST)
    assert time.monotonic() - t0 < 0.5
    _assert_clean(info.value)
    # the caller can raise the cap (an annual COTAHIST zip is ~90 MB): then the body itself is capped
    server.add_fault("endless", 90 * 1024 * 1024)
    with pytest.raises(SnapshotError, match="over the 1 MiB cap"):
        _get(server.portfolio_day_url(), FAST, max_bytes=1024 * 1024)


def test_a_gzip_bomb_is_refused_after_decompression_in_bounded_memory(server: b3fake.FakeB3Server) -> None:
    decoded = 1024**3  # 1 GiB of zeros in a 1.04 MB gzip body: under the cap until inflated
    assert len(b3fake.gzip_zeros(decoded)) < 2 * 1024 * 1024  # built before measuring
    server.add_fault("gzip_bomb", decoded)
    policy = HttpPolicy(connect_timeout=1, read_timeout=1, attempts=3, deadline=5, max_bytes=2 * 1024 * 1024)
    tracemalloc.start()
    t0 = time.monotonic()
    try:
        with pytest.raises(SnapshotError, match=r"over the 2 MiB cap \(cut at") as info:
            _get(server.portfolio_day_url(), policy)
        elapsed = time.monotonic() - t0
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 6 * 1024 * 1024  # the cap (2 MiB) plus a few decode buffers, not 1 GiB
    _assert_clean(info.value)


def test_a_gzip_body_under_the_cap_is_decoded_and_counted_decoded(server: b3fake.FakeB3Server) -> None:
    server.add_fault("gzip_bomb", 300_000)  # ~300 bytes on the wire, 300,000 once inflated
    body, _ = _get(server.portfolio_day_url(), FAST, max_bytes=300_000)
    assert body == bytes(300_000)
    server.add_fault("gzip_bomb", 300_001)
    with pytest.raises(SnapshotError, match="over the 300,000 bytes cap"):
        _get(server.portfolio_day_url(), FAST, max_bytes=300_000)


def test_a_same_host_redirect_is_followed_with_basic_auth(server: b3fake.FakeB3Server) -> None:
    server.add_fault(
        "redirect", 302, "/indexProxy/indexCall/GetPortfolioDay/" + fetch.token({"index": "IBOV"})
    )
    body, _ = _get(_with_secret(server.portfolio_day_url()), FAST)
    assert json.loads(body)["results"]
    assert len(server.requests) == 2
    expected = "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()
    assert [h.get("Authorization") for h in server.request_headers] == [expected, expected]


def test_a_redirect_to_another_host_is_refused_and_not_retried(server: b3fake.FakeB3Server) -> None:
    server.add_fault("redirect", 301, f"http://bob:{SECRET}@example.com/steal?token={SECRET}&x=1")
    t0 = time.monotonic()
    with pytest.raises(SourceError) as info:
        _get(_with_secret(server.portfolio_day_url()), FAST)
    assert time.monotonic() - t0 < 0.5 and len(server.requests) == 1
    assert info.value.message == (
        "B3 redirected IBOV page 1 to http://***@example.com/steal?token=***&x=1: refused "
        "(another host than 127.0.0.1)"
    )
    _assert_clean(info.value)


def test_a_redirect_loop_stops_after_three_hops(server: b3fake.FakeB3Server) -> None:
    for _ in range(10):
        server.add_fault("redirect", 307, server.portfolio_day_url())
    t0 = time.monotonic()
    with pytest.raises(SourceError, match="redirected IBOV page 1 more than 3 times") as info:
        _get(server.portfolio_day_url(), FAST)
    assert time.monotonic() - t0 < 0.5
    assert len(server.requests) == 4  # the request and three redirects, no retry
    assert "IBOV_B3_URL" in info.value.hint
    _assert_clean(info.value)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_a_redirect_from_https_to_http_is_refused(server: b3fake.FakeB3Server, tmp_path: Path) -> None:
    target = server.portfolio_day_url()  # the same host (127.0.0.1), but plain http
    with _https_redirector(tmp_path, target) as https_url:
        policy = HttpPolicy(connect_timeout=1, read_timeout=1, attempts=3, deadline=5, verify_tls=False)
        with pytest.raises(SourceError, match=r"refused \(https to http\)") as info:
            _get(_with_secret(https_url).replace("http://", "https://"), policy)
    assert not server.requests  # nothing was sent over plain http
    _assert_clean(info.value)


@pytest.mark.parametrize("status", [400, 404, 405, 410, 451])
def test_a_client_error_is_not_retried(server: b3fake.FakeB3Server, status: int) -> None:
    server.add_fault("status", status)
    with pytest.raises(SourceError, match=f"HTTP {status}") as info:
        _get(server.portfolio_day_url(), FAST)
    assert len(server.requests) == 1
    _assert_clean(info.value)


@pytest.mark.parametrize("status", [408, 429])
def test_408_and_429_are_retried(server: b3fake.FakeB3Server, status: int) -> None:
    server.add_fault("status", status)
    body, events = _get(server.portfolio_day_url(), FAST)
    assert json.loads(body)["results"] and len(server.requests) == 2
    assert events == [events[0]] and f"HTTP {status}; retrying" in events[0]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (f"alice:{SECRET}@127.0.0.1/x", "no http:// or https:// scheme"),
        (f"ftp://alice:{SECRET}@127.0.0.1/x", "scheme 'ftp' is not http or https"),
        (f"http://alice:{SECRET}@127.0.0.1:99999/x", "the host or port cannot be parsed"),
        (f"http://alice:{SECRET}@127.0.0.1:abc/x", "the host or port cannot be parsed"),
        (f"http://alice:{SECRET}@{'a' * 70}.invalid/x", "the host or port cannot be parsed"),
        (f"http://alice:se/{SECRET}@127.0.0.1/x", "the host or port cannot be parsed"),
        ("http:///x", "no host"),
    ],
)
def test_a_bad_url_is_a_config_error_naming_the_setting(url: str, problem: str) -> None:
    t0 = time.monotonic()
    with pytest.raises(ConfigError) as info:
        _get(url, FAST)
    assert time.monotonic() - t0 < 0.5
    assert info.value.exit_code == 3
    assert info.value.message.startswith("IBOV_B3_URL is not a usable URL (")
    assert info.value.message.endswith(f"): {problem}")
    assert "IBOV_B3_URL" in info.value.hint
    _assert_clean(info.value)


def test_an_unresolvable_host_is_not_retried() -> None:
    events: list[str] = []
    t0 = time.monotonic()
    with pytest.raises(SourceError) as info:
        fetch.get(
            fetch.new_session(),
            f"http://alice:{SECRET}@ibov-test.invalid/x",
            FAST,
            t0,
            time.sleep,
            events.append,
            what="IBOV page 1",
        )
    assert time.monotonic() - t0 < 5  # one resolver round trip (.invalid never resolves)
    assert info.value.message == "cannot resolve host ibov-test.invalid (fetching IBOV page 1)"
    assert "network" in info.value.hint and "IBOV_B3_URL" in info.value.hint
    assert events == []  # no retry
    _assert_clean(info.value)


# ----------------------------------------------------------------------------------------------
# credentials never shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@host.example/p?q=1", "https://***@host.example/p?q=1"),
        ("http://token@host:8080", "http://***@host:8080"),
        ("http://a:b@c@host/x", "http://***@host/x"),
        ("user:pw@host/x", "***@host/x"),
        ("http://user:p/w@host/x", "http://***@host/x"),
        ("http://[::1]:8080/x?token=abc", "http://[::1]:8080/x?token=***"),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA%2F1&X-Amz-Signature=ab"
            "&X-Amz-Security-Token=tt&X-Amz-Expires=60",
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=***&X-Amz-Signature=***"
            "&X-Amz-Security-Token=***&X-Amz-Expires=60",
        ),
        (
            "http://h/p?key=1&api_key=2&apiKey=3&secret=4&client_secret=5&password=6&pwd=7&sig=8&access_token=9"
            "&Signature=10&AWSAccessKeyId=11&language=pt-br",
            "http://h/p?key=***&api_key=***&apiKey=***&secret=***&client_secret=***&password=***&pwd=***&sig=***"
            "&access_token=***&Signature=***&AWSAccessKeyId=***&language=pt-br",
        ),
        ("http://h/p#access_token=abc&state=1", "http://h/p#access_token=***&state=1"),
        ("http://h/p\nx?token=1", "http://h/p\\x0ax?token=***"),
        ("", ""),
        ("not a url", "not a url"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert fetch.redact_url(url) == shown


def test_redact_url_keeps_b3_s_public_path_token() -> None:
    url = fetch.page_url(fetch.DEFAULT_BASE_URL, "IBOV", 1)
    assert fetch.redact_url(url) == url


def test_userinfo_is_sent_as_basic_auth_but_never_kept(server: b3fake.FakeB3Server) -> None:
    events: list[str] = []
    server.add_fault("status", 503)
    p = fetch_portfolio("IBOV", base_url=_with_secret(server.url), policy=FAST, on_event=events.append)
    assert p.source == fetch.redact_url(fetch.page_url(_with_secret(server.url), "IBOV", 1))
    assert p.source.startswith("http://***@127.0.0.1:") and SECRET not in p.source
    assert all(h["Authorization"].startswith("Basic ") for h in server.request_headers)
    assert all(SECRET not in h.get("Referer", "") for h in server.request_headers)
    assert events and not any(SECRET in e for e in events)


@pytest.mark.parametrize(
    "fault",
    [("status", 500), ("status", 400), ("delay", 3.0), ("truncate",), ("endless",), ("html", 200)],
)
def test_no_failure_shows_the_secret(server: b3fake.FakeB3Server, fault: tuple[object, ...]) -> None:
    for _ in range(5):
        server.add_fault(*fault)
    policy = HttpPolicy(
        connect_timeout=1, read_timeout=0.3, attempts=2, backoff=0.05, deadline=2, max_bytes=100_000
    )
    events: list[str] = []
    with pytest.raises(IbovError) as info:
        fetch_portfolio("IBOV", base_url=_with_secret(server.url), policy=policy, on_event=events.append)
    _assert_clean(info.value)
    assert not any(SECRET in e for e in events)


def test_connection_refused_does_not_show_the_secret() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(SourceError, match="Connection refused") as info:
        fetch_portfolio("IBOV", base_url=f"http://alice:{SECRET}@127.0.0.1:{port}", policy=FAST)
    _assert_clean(info.value)


@pytest.fixture(scope="module")
def secret_scrape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Result, Path, list[str]]]:
    """``ibov scrape --json`` once with userinfo in ``IBOV_B3_URL``: result, lake, Authorization headers."""
    lake = tmp_path_factory.mktemp("secret") / "lake"
    lake.mkdir()
    with b3fake.FakeB3Server() as srv:
        res = run_ibov("scrape", "--lake", str(lake), "--json", env={"IBOV_B3_URL": _with_secret(srv.url)})
        yield res, lake, [h.get("Authorization", "") for h in srv.request_headers]


def test_cli_keeps_the_secret_out_of_json_logs_and_the_lake(
    secret_scrape: tuple[Result, Path, list[str]],
) -> None:
    res, lake, auth = secret_scrape
    assert res.code == 0, res.stderr
    assert SECRET not in res.stdout and "***@127.0.0.1" in res.stdout
    assert (lake / "logs" / "runs.jsonl").exists()
    leaked = [f for f in lake.rglob("*") if f.is_file() and SECRET.encode() in f.read_bytes()]
    assert leaked == []  # raw parquet `source`, run log, snapshots
    assert auth and all(a.startswith("Basic ") for a in auth)  # the credentials still work


def test_cli_keeps_the_secret_off_stderr(secret_scrape: tuple[Result, Path, list[str]]) -> None:
    res, _lake, _auth = secret_scrape
    assert res.code == 0, res.stderr
    assert SECRET not in res.stderr


# ----------------------------------------------------------------------------------------------
# an https server that redirects every GET (for the https -> http rule)


@contextlib.contextmanager
def _https_redirector(tmp_path: Path, location: str) -> Iterator[str]:
    """``https://127.0.0.1:PORT`` (self-signed) answering every GET with 302 to ``location``."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    pem = tmp_path / "redirector.pem"
    pem.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pem)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}/x"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_unreachable_b3_is_one_summary_for_all_indices_and_names_the_offline_command(tmp_path: Path) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    env = {"IBOV_B3_URL": f"http://127.0.0.1:{port}", "IBOV_HTTP_DEADLINE": "2"}
    started = time.monotonic()
    r = run_ibov("scrape", "-i", "all", "--lake", str(tmp_path / "lake"), env=env)
    assert r.code == 4
    assert time.monotonic() - started < 15  # one deadline, not one per index
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, r.stderr
    assert "other requests were not tried" in errors[0] and "make run FROM=FILE" in errors[0]
    assert sum("retrying" in line for line in r.stderr.splitlines()) <= 5  # only the first index retried
    r = run_ibov("run", "-i", "IBOV", "-i", "SMLL", "--json", "--lake", str(tmp_path / "lake"), env=env)
    steps = json.loads(r.stdout)
    assert [(s["index"], s["state"]) for s in steps] == [("IBOV", "failed"), ("SMLL", "failed")]
    assert steps[1]["error"].startswith("not tried: ")


def test_one_index_b3_does_not_know_does_not_stop_the_others(
    server: b3fake.FakeB3Server, tmp_path: Path
) -> None:
    """An answer (even an error one) means B3 is reachable: every other index is still fetched."""
    r = run_ibov(
        "scrape",
        "-i",
        "IBOV",
        "-i",
        "IBXX",
        "-i",
        "SMLL",
        "--lake",
        str(tmp_path / "lake"),
        env={"IBOV_B3_URL": server.url, "IBOV_HTTP_DEADLINE": "20"},
    )
    assert "not tried" not in r.stderr
    assert "IBOV" in r.stdout and "IBXX" in r.stdout
