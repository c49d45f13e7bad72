"""HTTP client for B3's ``GetPortfolioDay``: pagination, retries, time bounds, blocking detection.

The only network code of ibov. Parsing lives in :mod:`ibovcli.b3`.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ibovcli import __version__, b3
from ibovcli.errors import BlockedError, SnapshotError, SourceError

DEFAULT_BASE_URL = "https://sistemaswebb3-listados.b3.com.br"
PORTFOLIO_PATH = "/indexProxy/indexCall/GetPortfolioDay/"
PAGE_SIZE = 120
USER_AGENT = (
    f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124 Safari/537.36 "
    f"ibov/{__version__}"
)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 523, 524, 525, 526, 527, 530})


@dataclass(frozen=True)
class HttpPolicy:
    """Time bounds of one fetch. ``deadline`` bounds the whole fetch of one index, retries included."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 8.0
    deadline: float = 90.0
    verify_tls: bool = True


def token(params: dict[str, Any]) -> str:
    """B3's URL token: standard base64 (with padding) of compact JSON."""
    return base64.b64encode(json.dumps(params, separators=(",", ":")).encode()).decode()


def page_url(base_url: str, index: str, page: int, page_size: int = PAGE_SIZE, segment: int = 2) -> str:
    params = {
        "language": "pt-br",
        "pageNumber": page,
        "pageSize": page_size,
        "index": index,
        "segment": str(segment),
    }
    return base_url.rstrip("/") + PORTFOLIO_PATH + token(params)


def fetch_portfolio(
    index: str,
    *,
    base_url: str = DEFAULT_BASE_URL,
    policy: HttpPolicy | None = None,
    page_size: int = PAGE_SIZE,
    session: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    on_event: Callable[[str], None] = lambda _msg: None,
    started: float | None = None,
) -> b3.Portfolio:
    """Fetch every page of ``index``'s portfolio of the day (with sectors), parse and return it.

    Raises :class:`SourceError` (unreachable, 5xx after retries, timeouts), :class:`BlockedError`
    (403, HTML challenge) or :class:`SnapshotError` (the answer is not a valid portfolio).
    Nothing is returned unless every page arrived. ``policy.deadline`` counts from ``started`` (a
    ``time.monotonic()`` value; default: now), so one deadline can bound a whole multi-index command.
    """
    policy = policy or HttpPolicy()
    http = session or new_session(referer=base_url.rstrip("/") + f"/indexPage/day/{index}?language=pt-br")
    started = time.monotonic() if started is None else started
    collected_at = datetime.now(UTC)
    bodies: list[bytes] = []
    pages: list[Any] = []
    total_pages = 1
    page = 1
    while page <= total_pages:
        url = page_url(base_url, index, page, page_size)
        body = get(http, url, policy, started, sleep, on_event, what=f"{index} page {page}")
        value = _decode_json(body, index)
        if not isinstance(value, dict) or not isinstance(value.get("page"), dict):
            raise SnapshotError(f"B3 answered {index} page {page} with JSON that is not a portfolio page")
        info = value["page"]
        if page == 1:
            total_records = info.get("totalRecords")
            if total_records == 0 or not value.get("results"):
                raise SnapshotError(
                    f"B3 returned no rows for index {index}",
                    hint="Check the index code (`ibov scrape --help` lists them) and try again later.",
                )
            tp = info.get("totalPages")
            if not isinstance(tp, int) or tp < 1 or tp > 1000:
                raise SnapshotError(f"B3 answered {index} with an invalid page.totalPages: {tp!r}")
            total_pages = tp
        bodies.append(body)
        pages.append(value)
        page += 1
    original = bodies[0] if len(bodies) == 1 else b"[" + b",".join(bodies) + b"]"
    portfolio = b3.parse_portfolio_pages(pages, index=index)
    return portfolio.with_source(
        source=page_url(base_url, index, 1, page_size), original=original, collected_at=collected_at
    )


def new_session(*, referer: str | None = None, accept: str = "application/json, text/plain, */*") -> Any:
    """A ``requests`` session with the headers every B3 request sends."""
    import requests

    http = requests.Session()
    http.headers.update({"User-Agent": USER_AGENT, "Accept": accept})
    if referer:
        http.headers["Referer"] = referer
    return http


def _decode_json(body: bytes, index: str) -> Any:
    """The JSON of one page (:func:`get` has already refused HTML answers)."""
    try:
        value = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SnapshotError(f"B3 answered {index} with invalid JSON (truncated response?)") from None
    return b3.unwrap_json(value)


def get(
    http: Any,
    url: str,
    policy: HttpPolicy,
    started: float,
    sleep: Callable[[float], None],
    on_event: Callable[[str], None],
    *,
    what: str,
    not_found: Callable[[], Exception] | None = None,
) -> bytes:
    """GET ``url`` with retries and time bounds; the body of a 200 answer.

    5xx/429 and broken connections are retried with backoff while ``policy`` allows; 401/403 and HTML
    answers are :class:`BlockedError`; a 404 raises ``not_found()`` when given (a file B3 has not
    published, say), else :class:`SourceError` like every other status.
    """
    import requests

    last = "no time left (IBOV_HTTP_DEADLINE)"
    for attempt in range(1, policy.attempts + 1):
        remaining = policy.deadline - (time.monotonic() - started)
        if remaining <= 0:
            break
        timeout = (min(policy.connect_timeout, remaining), min(policy.read_timeout, remaining))
        try:
            resp = http.get(url, timeout=timeout, verify=policy.verify_tls)
        except requests.exceptions.SSLError as exc:
            raise SourceError(
                f"TLS error talking to B3: {type(exc).__name__}",
                hint="Set REQUESTS_CA_BUNDLE to your CA bundle, or IBOV_B3_INSECURE=1 to skip verification.",
            ) from None
        except requests.exceptions.Timeout:
            last = f"timed out after {timeout[1]:.0f}s"
        except requests.exceptions.ConnectionError as exc:
            last = f"connection failed ({_reason(exc)})"
        except requests.exceptions.RequestException as exc:  # e.g. a body cut off mid-transfer
            last = f"broken response ({type(exc).__name__})"
        else:
            status = resp.status_code
            content_type = resp.headers.get("Content-Type", "")
            if status == 200:
                body: bytes = resp.content
                if "html" in content_type.lower() or body.lstrip()[:1] == b"<":
                    raise BlockedError(f"B3 answered {what} with an HTML page instead of data")
                return body
            if status == 404 and not_found is not None:
                raise not_found()
            if status in (401, 403):
                raise BlockedError(f"B3 refused the request for {what} (HTTP {status})")
            if status not in RETRY_STATUSES:
                raise SourceError(f"B3 answered {what} with HTTP {status}")
            last = f"HTTP {status}"
        if attempt == policy.attempts:
            break
        delay = min(policy.max_backoff, policy.backoff * 2 ** (attempt - 1)) * (1 + random.random() / 4)
        remaining = policy.deadline - (time.monotonic() - started)
        if delay >= remaining:
            break
        on_event(f"{what}: {last}; retrying in {delay:.1f}s (attempt {attempt + 1}/{policy.attempts})")
        sleep(delay)
    elapsed = time.monotonic() - started
    raise SourceError(f"B3 did not answer {what}: {last} (gave up after {elapsed:.0f}s)")


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in (
        "Connection refused",
        "Name or service not known",
        "Temporary failure in name resolution",
        "Network is unreachable",
        "No route to host",
        "Connection reset",
    ):
        if marker in text:
            return marker
    return type(exc).__name__
