"""Open a page in a real headless Chromium from ``file://`` and report what a person would see.

Why the command line and not the DevTools protocol: the project has no websocket client (CDP needs one)
and no Selenium/chromedriver, and the checks need none. Chromium's own switches give everything:

* The test appends one inline *probe* script to a copy of the page; it measures the laid-out page
  (sections, the visible chart of each figure, sparklines, overflow), exercises the page's sort and
  filter, and prints its findings as JSON with ``console.log`` (tagged :data:`PROBE_TAG`).
  ``--dump-dom`` loads the page, runs its scripts and exits.
* Headless Chromium lays a window out at least 500 px wide, so the page is shown in an iframe of the
  wanted width (the viewport its media queries see), inside a window at least that wide.
* ``--enable-logging=stderr --v=0`` prints every console message (``:CONSOLE(...)`` lines): script
  errors, and the Content-Security-Policy refusals a request from the page would cause.
* ``--log-net-log=FILE`` records every request the network stack saw (file:// pages are not network
  requests; anything http/https/ws/ftp would be there), with background networking switched off.
* ``--screenshot`` + ``--window-size`` takes the picture at a given width.

:func:`find` looks for the browser (``IBOV_BROWSER``, then chromium, chromium-browser, google-chrome);
the tests skip with a clear message when there is none.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",  # root in CI containers
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--disable-features=Translate,OptimizationHints,MediaRouter,NetworkTimeServiceQuerying",
    # Whatever is requested goes to a closed loopback port: nothing leaves the machine, the net log
    # still records it.
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
)
#: Chromium's network traffic annotations (hashes) of the requests a *page* makes: its subresources,
#: fetch/XHR (blink_resource_loader) and navigations (navigation_url_loader). The browser's own
#: background requests (update checks, network time, accounts) carry other annotations and are not the
#: page's doing.
PAGE_ANNOTATIONS = (101845102, 63171670)
_CONSOLE = re.compile(r":CONSOLE(?:[:(]\d+\)?)?\]\s*(.*)")


def find() -> str | None:
    """The browser to use, or None."""
    given = os.environ.get("IBOV_BROWSER")
    if given:
        return given if Path(given).exists() or shutil.which(given) else None
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass(frozen=True)
class Visit:
    """What one load of a page produced."""

    dom: str
    console: list[str]
    requests: list[str]
    probe: dict[str, Any] | None

    @property
    def errors(self) -> list[str]:
        """Console lines that are errors or refusals (a page that works prints nothing at all)."""
        return list(self.console)


def _run(browser: str, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="ibov-chromium-") as profile:
        return subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


#: headless Chromium lays a window out at least this wide, whatever --window-size says
MIN_WINDOW = 500
PROBE_TAG = "IBOV-PROBE "


def _host(work: Path, page: Path, width: int, height: int) -> Path:
    """A page holding ``page`` in an iframe ``width`` CSS px wide: the iframe is the viewport the page's
    media queries see, so a phone's 390 px can be had in a window that cannot be narrower than 500."""
    host = work / "host.html"
    host.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><link rel='icon' href='data:,'>"
        "<style>html,body{margin:0;background:#fff}iframe{border:0;display:block}</style></head><body>"
        f"<iframe src='{page.name}' width='{width}' height='{height}'></iframe></body></html>",
        encoding="utf-8",
    )
    return host


def visit(
    browser: str, page: Path, width: int, height: int = 900, probe: str = "", timeout: float = 90
) -> Visit:
    """Load ``page`` at ``width`` x ``height`` CSS px (with the ``probe`` script appended to a copy of
    it; the probe reports by ``console.log(PROBE_TAG + JSON)``)."""
    import json as json_

    work = Path(tempfile.mkdtemp(prefix="ibov-visit-"))
    try:
        target = work / page.name
        text = page.read_text(encoding="utf-8")
        if probe:
            text = text.replace("</body>", f"<script>{probe}</script></body>", 1)
        target.write_text(text, encoding="utf-8")
        host = _host(work, target, width, height)
        netlog = work / "net.json"
        proc = _run(
            browser,
            [
                "--enable-logging=stderr",
                "--v=0",
                f"--log-net-log={netlog}",
                f"--window-size={max(width, MIN_WINDOW)},{height}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                host.as_uri(),
            ],
            timeout,
        )
        if proc.returncode != 0 and not proc.stdout:
            raise RuntimeError(f"{browser} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        console, data = [], None
        for line in proc.stderr.splitlines():
            m = _CONSOLE.search(line)
            if not m:
                continue
            message = m.group(1)
            if message.startswith(f'"{PROBE_TAG}'):
                body = message[len(PROBE_TAG) + 1 :]
                data = json_.loads(body[: body.rindex('"')].encode().decode("unicode_escape"))
            else:
                console.append(message)
        return Visit(proc.stdout, console, requested_urls(netlog), data)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def requested_urls(netlog: Path) -> list[str]:
    """Every URL the page asked the network stack for (:data:`PAGE_ANNOTATIONS`), from a
    ``--log-net-log`` file (Chromium may leave the JSON unterminated when it exits, so the request
    parameters are read from the text)."""
    if not netlog.exists():
        return []
    text = netlog.read_text(encoding="utf-8", errors="replace")
    urls = set()
    for params in re.findall(r"\{[^{}]*\"traffic_annotation\"[^{}]*\}", text):
        annotation = re.search(r'"traffic_annotation"\s*:\s*(\d+)', params)
        url = re.search(r'"url"\s*:\s*"([^"]+)"', params)
        if annotation and url and int(annotation.group(1)) in PAGE_ANNOTATIONS:
            urls.add(url.group(1))
    return sorted(u for u in urls if not u.startswith(("file:", "data:", "about:", "chrome:")))


def screenshot(browser: str, page: Path, out: Path, width: int, height: int, timeout: float = 90) -> Path:
    """A PNG of ``page`` laid out ``width`` CSS px wide, ``height`` tall (cropped to ``width``)."""
    from PIL import Image

    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ibov-shot-"))
    try:
        target = work / page.name
        shutil.copyfile(page, target)
        host = _host(work, target, width, height)
        window = max(width, MIN_WINDOW)
        proc = _run(
            browser, [f"--window-size={window},{height}", f"--screenshot={out}", host.as_uri()], timeout
        )
        if not out.exists():
            raise RuntimeError(f"no screenshot from {browser} ({proc.returncode}): {proc.stderr[-2000:]}")
        if window != width:
            with Image.open(out) as image:
                cropped = image.crop((0, 0, width, image.height))
            cropped.save(out)
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)
