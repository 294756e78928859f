"""The built site in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""

import os
import shutil

import pytest

from workshop.doctest import browser
from workshop.doctest.browser import check_page, check_site, serve

pytestmark = pytest.mark.slow

LEVEL_0 = "labs/00-setup/README.html"


@pytest.fixture(scope="module", autouse=True)
def chromium():
    if not os.access(browser.CHROMIUM, os.X_OK):
        message = f"BROWSER TESTS NOT RUN: {browser.CHROMIUM} is missing (make browser-prereqs installs it in CI)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="module")
def report(built_site, built_site_ja, tmp_path_factory):
    """Every page of both editions: the Japanese site is built into ja/ of the English one."""
    return check_site(built_site, tmp_path_factory.mktemp("screenshots"))


def test_every_page_loads_clean_with_working_copy_buttons(report):
    assert report.ok, report.text()
    assert len(report.checks) >= 10
    names = {check.url.removeprefix(report.base) for check in report.checks}
    assert {"docs/index.html", LEVEL_0, "labs/05-istio/README.html", "ja/docs/index.html", "ja/" + LEVEL_0} <= names


def test_copy_buttons_copy_commands_without_prompts(report):
    level_0 = next(check for check in report.checks if check.url.endswith(LEVEL_0))
    assert "make doctor" in level_0.copied, "a copy button in a tab or a plain block did not copy its command"
    copied = [text for check in report.checks for text in check.copied]
    assert copied and not any(line.startswith("$ ") for text in copied for line in text.splitlines())
    assert not any(text.startswith("✓") or "Set kubectl context" in text for text in copied), "output was copied"


def test_screenshots_are_written_for_review(report):
    names = sorted(path.name for path in report.screenshots)
    assert names == ["landing-ja.png", "landing.png", "level-5-ja.png", "level-5.png"]
    for path in report.screenshots:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


@pytest.fixture(scope="module")
def broken_site(built_site, tmp_path_factory):
    """The same site with the faults the check must catch, one per page."""
    site = tmp_path_factory.mktemp("broken") / "html"
    shutil.copytree(built_site, site)
    setup = site / LEVEL_0
    setup.write_text(setup.read_text().replace(
        "</body>", '<script>console.error("boom")</script><img src="https://example.com/tracker.png"></body>'))
    script = site / "_static" / "copybutton.js"
    text = script.read_text()
    assert "'\\\\$ |PS> '" in text and "div.highlight-console div.highlight pre" in text, "copybutton.js changed shape"
    script.write_text(text.replace("'\\\\$ |PS> '", "'NO-PROMPT-HERE'")
                      .replace("div.highlight-console div.highlight pre", "div.highlight-console div.highlight pre, "
                               "div.highlight-text div.highlight pre"))
    return site


def test_faults_are_caught(broken_site, tmp_path):
    with serve(broken_site) as base, browser.Browser() as chromium:
        result = chromium.check(base + LEVEL_0, copy_buttons=True)
    assert "boom" in " ".join(result.console_errors)
    assert result.external_requests == ["https://example.com/tracker.png"]
    assert "copy button: an output (`text`) block has a copy button" in result.problems
    assert any("copied a `$ ` prompt" in problem for problem in result.problems)
    assert not result.ok


def test_check_page_works_on_any_url(tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>gateway</title><h1>Orders</h1>"
                                         "<script>fetch('/missing.json')</script>")
    with serve(tmp_path) as base:
        result = check_page(base, screenshot=tmp_path / "shot.png")
    assert result.failed_requests and result.failed_requests[0].startswith("404 ")
    assert result.screenshot.is_file()
    assert not result.ok


def test_a_request_that_never_ends_is_reported(tmp_path):
    import http.server
    import threading

    release = threading.Event()

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the base class's name)
            if self.path == "/slow":
                release.wait(30)
            body = b"<!doctype html><title>t</title><script>fetch('/slow')</script>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = check_page(f"http://127.0.0.1:{server.server_address[1]}/", timeout_s=3)
    finally:
        release.set()
        server.shutdown()
        server.server_close()
    assert any(text.startswith("still pending after 3 s: ") and text.endswith("/slow") for text in result.failed_requests)
