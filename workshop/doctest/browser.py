"""Load pages in a real, headless Chromium: no console errors, no request to other hosts.

For any page (the app engineers use it on the gateway's HTML page)::

    >>> from workshop.doctest.browser import check_page
    >>> result = check_page("http://127.0.0.1:8080/", screenshot=Path("_build/gateway.png"))  # doctest: +SKIP
    >>> result.ok, result.problems                                                            # doctest: +SKIP
    (True, [])

For the whole built site (what `make browser-check` runs): ``check_site(Path("_build/html"))``
serves it on 127.0.0.1 (a random free port), loads every page, checks the copy buttons, and
writes screenshots of the landing page and the level 5 page.

Why Playwright with Debian's Chromium: Playwright's Python package (PyPI) carries its own
driver, so nothing is downloaded at run time; we point it at /usr/bin/chromium and never run
`playwright install`. Requests to any host but 127.0.0.1/localhost are recorded AND aborted,
so a page that would fetch a font or a script from the internet fails here even offline.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM = os.environ.get("WORKSHOP_CHROMIUM", "/usr/bin/chromium")
# Headless, no sandbox (CI runs as root), and none of Chromium's own background traffic.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
TIMEOUT_MS = 30_000
# Pages of the site that get a screenshot for review, and their file names.
SCREENSHOTS = {"docs/index.html": "landing.png", "labs/05-istio/README.html": "level-5.png",
               "ja/docs/index.html": "landing-ja.png", "ja/labs/05-istio/README.html": "level-5-ja.png"}
PROMPT = "$ "


class BrowserUnavailable(Exception):
    """Chromium or Playwright is missing; the message says how to get it."""


@dataclass
class PageCheck:
    url: str
    console_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    copy_problems: list[str] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)  # what each copy button put on the clipboard
    screenshot: Path | None = None

    @property
    def problems(self) -> list[str]:
        return ([f"console error: {text}" for text in self.console_errors]
                + [f"request to another host: {url}" for url in self.external_requests]
                + [f"failed request: {text}" for text in self.failed_requests]
                + [f"copy button: {text}" for text in self.copy_problems])

    @property
    def ok(self) -> bool:
        return not self.problems


def _require_chromium() -> None:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        raise BrowserUnavailable(f"{CHROMIUM} is not installed: `apt-get install chromium` "
                                 "(make browser-prereqs does it when CI=true).")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise BrowserUnavailable("the playwright package is missing: run `make venv` "
                                 "(it is pinned in requirements/doctest.txt).") from None


class Browser:
    """One headless Chromium with a fresh profile; check as many pages as you like with it."""

    def __init__(self, allowed_hosts=LOCAL_HOSTS, timeout_s: float = TIMEOUT_MS / 1000):
        _require_chromium()
        self.timeout_ms = int(timeout_s * 1000)
        from playwright.sync_api import sync_playwright

        self.allowed_hosts = frozenset(allowed_hosts)
        self.profile = tempfile.mkdtemp(prefix="doctest-chromium-")
        self._playwright = sync_playwright().start()
        try:
            self.context = self._playwright.chromium.launch_persistent_context(
                self.profile, executable_path=CHROMIUM, headless=True, args=FLAGS,
                viewport={"width": 1280, "height": 900})
        except Exception as error:  # Playwright raises its own Error with the browser's log
            self._playwright.stop()
            shutil.rmtree(self.profile, ignore_errors=True)
            raise BrowserUnavailable(f"Chromium did not start: {str(error).splitlines()[0]}") from None

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.context.close()
        self._playwright.stop()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _is_local(self, url: str) -> bool:
        parsed = urlparse(url)
        return parsed.scheme in ("data", "blob", "about") or parsed.hostname in self.allowed_hosts

    def check(self, url: str, screenshot: Path | None = None, copy_buttons: bool = False) -> PageCheck:
        """Load ``url``; record console errors, requests to other hosts (aborted) and failed
        requests; optionally click every copy button; optionally save a full-page screenshot."""
        result = PageCheck(url)
        page = self.context.new_page()

        def on_request(route):
            if self._is_local(route.request.url):
                route.continue_()
            else:
                result.external_requests.append(route.request.url)
                route.abort()

        def on_response(response):
            if response.status >= 400:
                result.failed_requests.append(f"{response.status} {response.url}")

        def on_failed(request):
            if self._is_local(request.url):
                result.failed_requests.append(f"{request.failure} {request.url}")

        # Requests in flight, to wait until the page is quiet (Playwright's "networkidle" can
        # wait forever on a busy machine and would not say which request was pending).
        pending: set = set()
        page.route("**/*", on_request)
        page.on("console", lambda message: message.type == "error" and result.console_errors.append(message.text))
        page.on("pageerror", lambda error: result.console_errors.append(f"uncaught: {error}"))
        page.on("request", lambda request: pending.add(request))
        page.on("requestfinished", lambda request: pending.discard(request))
        page.on("requestfailed", lambda request: pending.discard(request))
        page.on("response", on_response)
        page.on("requestfailed", on_failed)
        try:
            page.goto(url, wait_until="load", timeout=self.timeout_ms)
            self._wait_quiet(page, pending, result, self.timeout_ms)
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                # The whole page in one tall viewport: a full_page capture would draw the theme's
                # fixed sidebar halfway down.
                height = page.evaluate("() => document.documentElement.scrollHeight")
                page.set_viewport_size({"width": 1280, "height": max(900, min(height, 16_000))})
                page.screenshot(path=str(screenshot))
                result.screenshot = screenshot
            # After the screenshot, so it shows the buttons as a reader first sees them.
            if copy_buttons:
                self._check_copy_buttons(page, result)
        except Exception as error:  # a timeout or a navigation error is a finding, not a crash
            result.console_errors.append(f"could not load: {str(error).splitlines()[0]}")
        finally:
            page.close()
        return result

    @staticmethod
    def _wait_quiet(page, pending: set, result: PageCheck, timeout_ms: int, quiet_ms: int = 500) -> None:
        """Wait until no request has been in flight for ``quiet_ms``; report the stragglers."""
        deadline = time.monotonic() + timeout_ms / 1000
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            if pending:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_ms / 1000:
                return
            page.wait_for_timeout(50)  # lets Playwright deliver the page's events meanwhile
        result.failed_requests += [f"still pending after {timeout_ms / 1000:.0f} s: {request.url}" for request in pending]

    @staticmethod
    def _check_copy_buttons(page, result: PageCheck) -> None:
        """Every command block has a button that copies its commands without `$ `; no output
        block has one. The copied text is read from the browser's own `copy` event, i.e. what
        the clipboard receives, not recomputed here."""
        page.evaluate("""() => { window.__copied = [];
            document.addEventListener('copy', () => window.__copied.push(String(document.getSelection()))); }""")
        if page.locator("div.highlight-text button.copybtn").count():
            result.copy_problems.append("an output (`text`) block has a copy button")
        blocks = page.locator("div.highlight-console")
        for index in range(blocks.count()):
            block = blocks.nth(index)
            shown = block.locator("pre").inner_text()
            button = block.locator("button.copybtn")
            if button.count() != 1:
                result.copy_problems.append(f"command block {index + 1} has {button.count()} copy buttons")
                continue
            # A block in a tab that is not selected is hidden: select its tab first, as a reader would.
            block.evaluate("""el => { const tab = el.closest('.sd-tab-content');
                if (tab && tab.previousElementSibling) tab.previousElementSibling.click(); }""")
            block.hover()
            button.click()
            page.wait_for_function("n => window.__copied.length >= n", arg=len(result.copied) + 1, timeout=5000)
            copied = page.evaluate("() => window.__copied[window.__copied.length - 1]")
            result.copied.append(copied)
            wanted = "\n".join(line[len(PROMPT):] if line.startswith(PROMPT) else line
                               for line in shown.rstrip("\n").splitlines())
            if any(line.startswith(PROMPT) for line in copied.splitlines()):
                result.copy_problems.append(f"block {index + 1} copied a `$ ` prompt: {copied!r}")
            elif copied.rstrip("\n") != wanted:
                result.copy_problems.append(f"block {index + 1} copied {copied!r}, expected {wanted!r}")


def check_page(url: str, screenshot: Path | None = None, allowed_hosts=LOCAL_HOSTS,
               timeout_s: float = TIMEOUT_MS / 1000) -> PageCheck:
    """Check one URL in a browser of its own: console errors, other hosts, failed requests."""
    with Browser(allowed_hosts, timeout_s) as browser:
        return browser.check(url, screenshot)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@contextlib.contextmanager
def serve(folder: Path):
    """Serve ``folder`` on 127.0.0.1 at a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class SiteReport:
    checks: list[PageCheck]
    screenshots: list[Path]
    base: str = ""

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks) and bool(self.checks)

    def text(self) -> str:
        lines = []
        for check in self.checks:
            name = check.url.removeprefix(self.base)
            copies = f", {len(check.copied)} copy button(s) checked" if check.copied else ""
            lines.append(f"{'ok  ' if check.ok else 'FAIL'} {name}{copies}")
            lines += [f"       {problem}" for problem in check.problems]
        lines += [f"screenshot: {path}" for path in self.screenshots]
        failed = sum(not check.ok for check in self.checks)
        copied = sum(len(check.copied) for check in self.checks)
        external = sum(len(check.external_requests) for check in self.checks)
        errors = sum(len(check.console_errors) for check in self.checks)
        lines.append(f"browser-check: pages={len(self.checks)} failed={failed} console_errors={errors} "
                     f"external_requests={external} copy_buttons={copied}")
        return "\n".join(lines)


def check_site(site: Path, screenshots: Path) -> SiteReport:
    pages = sorted(path.relative_to(site).as_posix() for path in site.rglob("*.html")
                   if "_static" not in path.parts and "_sources" not in path.parts)
    shots: list[Path] = []
    checks: list[PageCheck] = []
    with serve(site) as base, Browser() as browser:
        for name in pages:
            shot = screenshots / SCREENSHOTS[name] if name in SCREENSHOTS else None
            check = browser.check(base + name, screenshot=shot, copy_buttons=True)
            checks.append(check)
            if check.screenshot:
                shots.append(check.screenshot)
    missing = [name for name in SCREENSHOTS if name not in pages]
    report = SiteReport(checks, shots, base)
    for name in missing:
        checks.append(PageCheck(name, console_errors=[f"page {name} is not in the built site (no screenshot)"]))
    return report
