"""HTTP client for B3's ``GetPortfolioDay``: pagination, retries, time and size bounds, blocking detection.

The only network code of ibov. Parsing lives in :mod:`ibovcli.b3`.

Every exchange is bounded: ``HttpPolicy.deadline`` covers connecting, waiting, redirects and reading
the body (a server that drips bytes is cut at the deadline), and ``HttpPolicy.max_bytes`` caps the body
after decompression (an endless body or a gzip bomb is refused while streaming, never held in memory).
No URL reaches a message, an event or a stored ``source`` without :func:`redact_url`.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import random
import re
import socket
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ibovcli import __version__, b3
from ibovcli.errors import BlockedError, ConfigError, SnapshotError, SourceError
from ibovcli.settings import DEFAULT_B3_URL

DEFAULT_BASE_URL = DEFAULT_B3_URL  # one definition: ibovcli.settings
PORTFOLIO_PATH = "/indexProxy/indexCall/GetPortfolioDay/"
PAGE_SIZE = 120
USER_AGENT = (
    f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124 Safari/537.36 "
    f"ibov/{__version__}"
)
#: The most pages one answer may have (2,000 rows at the default 120 a page is 17).
MAX_PAGES = 100
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524, 525, 526, 527, 530})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MIB = 1024 * 1024
#: Default cap on one answer's body, after decompression. A GetPortfolioDay page is ~15 KB and a daily
#: COTAHIST zip ~0.5 MB; callers that fetch annual COTAHIST zips (~90 MB) pass a larger ``max_bytes``.
DEFAULT_MAX_BYTES = 64 * MIB
#: The setting the lead wires to ``HttpPolicy.max_bytes`` (named in the "too big" hint).
MAX_BYTES_SETTING = "IBOV_HTTP_MAX_MB"
DEADLINE_SETTING = "IBOV_HTTP_DEADLINE"
URL_SETTING = "IBOV_B3_URL"
CHUNK = 64 * 1024
_LOOKS_LIKE_HTML = re.compile(rb"\s*<")


@dataclass(frozen=True)
class HttpPolicy:
    """Bounds of one fetch.

    ``deadline`` bounds the whole fetch of one index (every page, retry, redirect and body byte);
    ``max_bytes`` caps each answer's body after decompression; ``max_redirects`` same-host hops per request.
    """

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 8.0
    deadline: float = 90.0
    verify_tls: bool = True
    max_bytes: int = DEFAULT_MAX_BYTES
    max_redirects: int = 3


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
    The portfolio's ``source`` is the first page's URL through :func:`redact_url`.
    """
    policy = policy or HttpPolicy()
    referer = _strip_userinfo(base_url.rstrip("/")) + f"/indexPage/day/{index}?language=pt-br"
    http = session or new_session(referer=referer)
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
            if not isinstance(tp, int) or tp < 1 or tp > MAX_PAGES:
                raise SnapshotError(f"B3 answered {index} with an invalid page.totalPages: {tp!r}")
            total_pages = tp
        bodies.append(body)
        pages.append(value)
        page += 1
    original = bodies[0] if len(bodies) == 1 else b"[" + b",".join(bodies) + b"]"
    portfolio = b3.parse_portfolio_pages(pages, index=index)
    return portfolio.with_source(
        source=redact_url(page_url(base_url, index, 1, page_size)),
        original=original,
        collected_at=collected_at,
    )


def new_session(*, referer: str | None = None, accept: str = "application/json, text/plain, */*") -> Any:
    """A ``requests`` session with the headers every B3 request sends (a Referer never carries userinfo)."""
    import requests

    http = requests.Session()
    http.headers.update({"User-Agent": USER_AGENT, "Accept": accept})
    if referer:
        http.headers["Referer"] = _strip_userinfo(referer)
    return http


def _decode_json(body: bytes, index: str) -> Any:
    """The JSON of one page (:func:`get` has already refused HTML answers)."""
    try:
        value = b3.json_loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SnapshotError(f"B3 answered {index} with invalid JSON (truncated response?)") from None
    return b3.unwrap_json(value)


# ----------------------------------------------------------------------------------------------
# one GET, bounded


class _Transient(Exception):
    """A failure worth another attempt; ``reason`` is safe to show (never holds a URL)."""

    def __init__(self, reason: str, *, connection: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        #: no connection could be made (refused, connect timeout, no time left): B3 is unreachable
        self.connection = connection


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
    max_bytes: int | None = None,
    url_setting: str = URL_SETTING,
) -> bytes:
    """GET ``url`` with retries and time, size and redirect bounds; the body of a 200 answer.

    * The whole exchange, body included, ends by ``started + policy.deadline`` (:class:`SourceError`
      naming the host and the time spent when the body is still arriving then).
    * The body is streamed and refused (:class:`SnapshotError`) as soon as it exceeds ``max_bytes``
      (default ``policy.max_bytes``) after decompression, or when Content-Length announces more.
    * Up to ``policy.max_redirects`` redirects are followed, only to the same host and never from https
      to http; any other redirect is a :class:`SourceError`.
    * 5xx, 408, 429, refused/reset connections, read timeouts and cut-off bodies are retried with backoff
      while ``policy`` allows. 401/403 and HTML answers are :class:`BlockedError`; a 404 raises
      ``not_found()`` when given; any other 4xx, a host that does not resolve, a TLS failure and too many
      redirects are raised at once; a malformed ``url`` is a :class:`ConfigError` naming ``url_setting``.

    Messages name hosts, never full URLs; userinfo in ``url`` is sent as Basic auth and never shown.
    """
    limit = policy.max_bytes if max_bytes is None else max_bytes
    last, unreachable = f"no time left ({DEADLINE_SETTING})", True
    for attempt in range(1, policy.attempts + 1):
        if policy.deadline - (time.monotonic() - started) <= 0:
            break
        try:
            return _exchange(http, url, policy, started, what, not_found, limit, url_setting)
        except _Transient as exc:
            last, unreachable = exc.reason, exc.connection
        if attempt == policy.attempts:
            break
        delay = min(policy.max_backoff, policy.backoff * 2 ** (attempt - 1)) * (1 + random.random() / 4)
        remaining = policy.deadline - (time.monotonic() - started)
        if delay >= remaining:
            break
        on_event(f"{what}: {last}; retrying in {delay:.1f}s (attempt {attempt + 1}/{policy.attempts})")
        sleep(delay)
    elapsed = time.monotonic() - started
    error = SourceError(f"B3 did not answer {what}: {last} (gave up after {elapsed:.0f}s)")
    error.unreachable = unreachable
    raise error


def _exchange(
    http: Any,
    url: str,
    policy: HttpPolicy,
    started: float,
    what: str,
    not_found: Callable[[], Exception] | None,
    limit: int,
    url_setting: str,
) -> bytes:
    """One attempt: the request, its redirects and the body. Raises :class:`_Transient` to retry."""
    auth = _userinfo_auth(url)
    current = url
    for hop in range(policy.max_redirects + 1):
        resp = _send(http, current, policy, started, auth, url_setting if hop == 0 else None, what)
        try:
            status = resp.status_code
            location = resp.headers.get("Location")
            if status in REDIRECT_STATUSES and location:
                target = _redirect_target(current, location, what, url_setting)
                if hop == policy.max_redirects:
                    raise SourceError(
                        f"B3 redirected {what} more than {policy.max_redirects} times "
                        f"(last to {redact_url(target)}): refused",
                        hint=f"Check for a redirect loop, or set {url_setting} to the final address.",
                    )
                current = target
                continue
            return _answer(resp, current, policy, started, what, not_found, limit)
        finally:
            resp.close()
    raise AssertionError("unreachable")  # pragma: no cover


def _send(
    http: Any,
    url: str,
    policy: HttpPolicy,
    started: float,
    auth: tuple[str, str] | None,
    url_setting: str | None,
    what: str,
) -> Any:
    """``http.get`` with the remaining time as timeouts; request exceptions become ibov errors."""
    import requests
    import urllib3

    remaining = policy.deadline - (time.monotonic() - started)
    if remaining <= 0:
        raise _Transient(f"no time left ({DEADLINE_SETTING})", connection=True)
    timeout = (min(policy.connect_timeout, remaining), min(policy.read_timeout, remaining))
    kwargs: dict[str, Any] = {
        "timeout": timeout,
        "verify": policy.verify_tls,
        "stream": True,
        "allow_redirects": False,
    }
    if auth is not None:
        kwargs["auth"] = auth
    # Never `from exc` below: requests' messages hold the URL, userinfo included.
    try:
        return http.get(url, **kwargs)
    except requests.exceptions.SSLError as exc:
        error = SourceError(
            f"TLS error talking to {_host(url)}: {type(exc).__name__}",
            hint="Set REQUESTS_CA_BUNDLE to your CA bundle, or IBOV_B3_INSECURE=1 to skip verification.",
        )
        error.unreachable = True
        raise error from None
    except (
        requests.exceptions.MissingSchema,
        requests.exceptions.InvalidSchema,
        requests.exceptions.InvalidURL,
        urllib3.exceptions.LocationValueError,
        UnicodeError,
    ):
        problem = _url_problem(url)
        if url_setting is None:  # a redirect's Location
            raise SourceError(f"B3 redirected {what} to an invalid URL ({problem}): refused") from None
        raise ConfigError(
            f"{url_setting} is not a usable URL ({redact_url(url)}): {problem}",
            hint=f"Set {url_setting} to an http(s) URL such as {DEFAULT_BASE_URL}, or unset it.",
        ) from None
    except requests.exceptions.Timeout as exc:
        phase = "connecting" if isinstance(exc, requests.exceptions.ConnectTimeout) else "waiting"
        limit = timeout[0] if phase == "connecting" else timeout[1]
        raise _Transient(f"timed out after {limit:.3g}s {phase}", connection=phase == "connecting") from None
    except requests.exceptions.ConnectionError as exc:
        if _is_name_resolution(exc):
            error = SourceError(
                f"cannot resolve host {_host(url, port=False)} (fetching {what})",
                hint=f"Check the network connection (DNS) and the host in {url_setting or URL_SETTING}.",
            )
            error.unreachable = True
            raise error from None
        raise _Transient(f"connection failed ({_reason(exc)})", connection=True) from None
    except requests.exceptions.RequestException as exc:  # e.g. a header block cut off
        raise _Transient(f"broken response ({type(exc).__name__})") from None


def _answer(
    resp: Any,
    url: str,
    policy: HttpPolicy,
    started: float,
    what: str,
    not_found: Callable[[], Exception] | None,
    limit: int,
) -> bytes:
    """The body of a final (non-redirect) answer, or the error its status means."""
    status = resp.status_code
    content_type = resp.headers.get("Content-Type", "")
    if status == 200:
        if "html" in content_type.lower():
            raise BlockedError(f"B3 answered {what} with an HTML page instead of data")
        body = _read_body(resp, url, policy, started, what, limit)
        if _LOOKS_LIKE_HTML.match(body):
            raise BlockedError(f"B3 answered {what} with an HTML page instead of data")
        return body
    if status == 404 and not_found is not None:
        raise not_found()
    if status in (401, 403):
        raise BlockedError(f"B3 refused the request for {what} (HTTP {status})")
    if status not in RETRY_STATUSES:
        raise SourceError(f"B3 answered {what} with HTTP {status}")
    raise _Transient(f"HTTP {status}")


def _read_body(resp: Any, url: str, policy: HttpPolicy, started: float, what: str, limit: int) -> bytes:
    """Stream the body: decoded bytes counted against ``limit``, time against the deadline."""
    host = _host(url)
    announced = _content_length(resp.headers.get("Content-Length"))
    if announced is not None and announced > limit:
        raise _too_big(what, host, limit, f"announces {announced:,} bytes, over the {_size(limit)} cap")
    raw = resp.raw
    read = getattr(raw, "read1", None) or raw.read  # read1: returns as soon as any bytes arrive
    sock = _body_socket(raw)
    try:
        return _stream(raw, read, sock, policy, started, what, host, limit)
    finally:
        if sock is not None:  # a kept-alive connection goes back to the pool with a sane timeout
            with contextlib.suppress(OSError):
                sock.settimeout(policy.read_timeout)


def _stream(
    raw: Any,
    read: Callable[..., bytes],
    sock: socket.socket | None,
    policy: HttpPolicy,
    started: float,
    what: str,
    host: str,
    limit: int,
) -> bytes:
    import urllib3

    deadline_at = started + policy.deadline
    out = io.BytesIO()
    size = 0
    while True:
        left = deadline_at - time.monotonic()
        if left <= 0:
            raise _cut_at_deadline(what, host, started, size, policy)
        if sock is not None:  # each wait for bytes ends by the deadline, not one read timeout later
            try:
                sock.settimeout(max(0.01, min(policy.read_timeout, left)))
            except OSError:
                sock = None
        try:
            chunk = read(CHUNK, decode_content=True)
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
            if time.monotonic() >= deadline_at:
                raise _cut_at_deadline(what, host, started, size, policy) from None
            raise _Transient(f"timed out after {policy.read_timeout:.3g}s reading the body") from None
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise _Transient(f"broken response ({type(exc).__name__})") from None
        if not chunk:
            return out.getvalue()
        size += len(chunk)
        if size > limit or raw.tell() > limit:
            raise _too_big(what, host, limit, f"is over the {_size(limit)} cap (cut at {size:,} bytes)")
        out.write(chunk)


def _too_big(what: str, host: str, limit: int, detail: str) -> SnapshotError:
    return SnapshotError(
        f"the answer for {what} from {host} {detail}: refused",
        hint=f"If answers this big are expected, raise the cap ({MAX_BYTES_SETTING}, in MiB; "
        "HttpPolicy.max_bytes or get(max_bytes=...) in code).",
    )


def _cut_at_deadline(what: str, host: str, started: float, size: int, policy: HttpPolicy) -> SourceError:
    elapsed = time.monotonic() - started
    return SourceError(
        f"{host} was still sending {what} at the deadline: cut after {elapsed:.1f}s "
        f"({size:,} bytes received)",
        hint=f"The connection is too slow; try again later, or raise {DEADLINE_SETTING} "
        f"(now {policy.deadline:g}s).",
    )


def _size(n: int) -> str:
    return f"{n / MIB:g} MiB" if n >= MIB else f"{n:,} bytes"


def _content_length(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


def _body_socket(raw: Any) -> socket.socket | None:
    """The socket under a streamed urllib3 response, when it can be found (to bound each wait)."""
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if isinstance(sock, socket.socket):
        return sock
    # http.client drops conn.sock for "Connection: close" answers; its file object still holds it
    fp = getattr(getattr(raw, "_fp", None), "fp", None)
    sock = getattr(getattr(fp, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


def _redirect_target(current: str, location: str, what: str, url_setting: str) -> str:
    """The absolute URL of a redirect, or :class:`SourceError` when it leaves the host or drops TLS."""
    target = urllib.parse.urljoin(current, location.strip())
    try:
        old, new = urllib.parse.urlsplit(current), urllib.parse.urlsplit(target)
        old_host, new_host = old.hostname, new.hostname
    except ValueError:
        raise SourceError(f"B3 redirected {what} to an invalid URL: refused") from None
    why = ""
    if new.scheme not in ("http", "https"):
        why = f"scheme {new.scheme or 'missing'!r} is not http(s)"
    elif old.scheme == "https" and new.scheme == "http":
        why = "https to http"
    elif (new_host or "").lower() != (old_host or "").lower():
        why = f"another host than {old_host}"
    if why:
        raise SourceError(
            f"B3 redirected {what} to {redact_url(target)}: refused ({why})",
            hint=f"ibov follows redirects only within the same host; set {url_setting} to the right address.",
        )
    return target


def _userinfo_auth(url: str) -> tuple[str, str] | None:
    """``user:password`` of ``url`` for Basic auth (kept across same-host redirects)."""
    try:
        parts = urllib.parse.urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:
        return None
    if user is None and password is None:
        return None
    return urllib.parse.unquote(user or ""), urllib.parse.unquote(password or "")


def _is_name_resolution(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is a failure to resolve the host name."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if type(e).__name__ == "NameResolutionError" or isinstance(e, socket.gaierror):
            return True
        todo.extend([getattr(e, "reason", None), e.__cause__, e.__context__])
        todo.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))
    text = str(exc)
    return any(
        m in text
        for m in (
            "Name or service not known",
            "Temporary failure in name resolution",
            "nodename nor servname provided",
            "getaddrinfo failed",
            "No address associated with hostname",
        )
    )


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in (
        "Connection refused",
        "Network is unreachable",
        "No route to host",
        "Connection reset",
        "Connection aborted",
    ):
        if marker in text:
            return marker
    return type(exc).__name__


# ----------------------------------------------------------------------------------------------
# URLs in messages


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
_PLAIN_HOSTPORT = re.compile(r"(\[[0-9A-Za-z:.%]*\]|[^:@\[\]]*)(:[0-9]*)?")
_SENSITIVE_NAMES = frozenset(
    {
        "key",
        "sig",
        "pass",
        "pwd",
        "auth",
        "authorization",
        "sessionid",
        "awsaccesskeyid",
    }
)
_SENSITIVE_PARTS = (
    "token",
    "secret",
    "password",
    "passwd",
    "signature",
    "credential",
    "apikey",
    "accesskey",
    "privatekey",
)


def redact_url(url: str) -> str:
    """``url`` safe to show: userinfo becomes ``***`` and so do the values of sensitive query parameters.

    ``https://user:pw@host/p?token=abc&x=1`` -> ``https://***@host/p?token=***&x=1``. Sensitive names
    (case-, ``-`` and ``_``-insensitive) are the ones containing token, secret, password, signature,
    credential, apikey or accesskey (``X-Amz-Signature``, ``X-Amz-Credential``, ``X-Amz-Security-Token``
    included) plus key, sig, pass, pwd, auth and sessionid. Paths are kept (B3's path token is public).
    Never raises, whatever the input.
    """
    head, userinfo, hostport, tail = _split_authority(str(url))
    path_query, hash_, fragment = tail.partition("#")
    path, q, query = path_query.partition("?")
    shown = head + ("***@" if userinfo is not None else "") + hostport + path
    shown += q + _redact_params(query) + hash_ + _redact_params(fragment)
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in shown)


def _strip_userinfo(url: str) -> str:
    """``url`` without its userinfo (what a browser sends as Referer)."""
    head, _userinfo, hostport, tail = _split_authority(url)
    return head + hostport + tail


def _split_authority(url: str) -> tuple[str, str | None, str, str]:
    """``(scheme://, userinfo or None, host[:port], rest)``; tolerant of scheme-less and broken URLs."""
    m = _SCHEME.match(url)
    head = m.group(0) if m else ("//" if url.startswith("//") else "")
    body = url[len(head) :]
    end = min((i for i in (body.find(c) for c in "/?#") if i >= 0), default=len(body))
    authority, tail = body[:end], body[end:]
    if "@" in authority:
        userinfo, _, hostport = authority.rpartition("@")
        return head, userinfo, hostport, tail
    if "@" in tail and not _PLAIN_HOSTPORT.fullmatch(authority):
        # 'user:pa/ss@host': a password holding '/', '?' or '#' ends the authority early; hide it all
        userinfo, _, rest = (authority + tail).rpartition("@")
        end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        return head, userinfo, rest[:end], rest[end:]
    return head, None, authority, tail


def _redact_params(text: str) -> str:
    if "=" not in text:
        return text
    out = []
    for part in re.split(r"([&;])", text):
        name, eq, _value = part.partition("=")
        out.append(f"{name}=***" if eq and _sensitive(name) else part)
    return "".join(out)


def _sensitive(name: str) -> bool:
    key = re.sub(r"[^a-z0-9]", "", urllib.parse.unquote_plus(name).lower())
    return key in _SENSITIVE_NAMES or any(p in key for p in _SENSITIVE_PARTS)


def _host(url: str, *, port: bool = True) -> str:
    """``host[:port]`` of ``url`` for messages (never userinfo)."""
    hostport = _split_authority(url)[2]
    if not port:
        with contextlib.suppress(ValueError):
            hostport = urllib.parse.urlsplit("//" + hostport).hostname or hostport
    return redact_url(hostport) or "?"


def _url_problem(url: str) -> str:
    """What is wrong with a URL requests refused, in our words (requests' own message holds the URL)."""
    m = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", url)
    if not _SCHEME.match(url):
        return "no http:// or https:// scheme"
    if m and m.group(1).lower() not in ("http", "https"):
        return f"scheme {m.group(1)!r} is not http or https"
    hostport = _split_authority(url)[2]
    if not hostport:
        return "no host"
    return "the host or port cannot be parsed"
