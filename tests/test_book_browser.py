"""The built book in a real browser (Debian's headless Chromium, driven by Playwright): served from
localhost, it makes no request to any other host, renders its math, reads Arabic right-to-left and
its search works. Chromium is installed by scripts/install-chromium.sh when it is missing."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import BrowserContext, Page, Route, sync_playwright

from tests.conftest import CHROMIUM_FLAGS, chromium_executable
from tests.fixtures_book import BuiltBook

pytestmark = pytest.mark.xdist_group("browser")  # its module-scoped server runs once



class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No access log in the test output."""


@dataclass
class Browser:
    """A headless Chromium on a fresh profile that records every request its pages make and
    refuses (and records) any that leaves ``origin``."""

    context: BrowserContext
    origin: str
    requests: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def route(self, route: Route) -> None:
        url = route.request.url
        self.requests.append(url)
        if urlparse(url).netloc == urlparse(self.origin).netloc or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.refused.append(url)
            route.abort()

    def open(self, path: str) -> Page:
        page = self.context.new_page()
        page.goto(f"{self.origin}/{path}", wait_until="networkidle")
        return page


@pytest.fixture(scope="module")
def browser(built_book: BuiltBook, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    executable = chromium_executable()
    handler = functools.partial(_Quiet, directory=str(built_book.html))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    profile = tmp_path_factory.mktemp("chromium-profile")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(profile), executable_path=executable, args=CHROMIUM_FLAGS, headless=True,
                viewport={"width": 1280, "height": 900})
            recorder = Browser(context, f"http://127.0.0.1:{server.server_address[1]}")
            context.route("**/*", recorder.route)
            yield recorder
            context.close()
    finally:
        server.shutdown()
        server.server_close()


def test_no_request_leaves_localhost(built_book: BuiltBook, browser: Browser) -> None:
    """Does every page of the book load with requests to the local server only (scripts, styles,
    fonts, images), none refused?"""
    pages = sorted(p.relative_to(built_book.html).as_posix() for p in built_book.html.rglob("*.html"))
    for path in pages:
        browser.open(path).close()
    assert len(browser.requests) > 3 * len(pages)
    assert {urlparse(u).path.rsplit(".", 1)[-1] for u in browser.requests} >= {"html", "js", "css"}
    assert browser.refused == []


def test_math_renders_and_screenshot(browser: Browser, tmp_path: Path) -> None:
    """Does a page with math render it (MathML laid out with a size, fraction and sum visible),
    the Arabic paragraph right-to-left, and is the screenshot a real picture?"""
    page = browser.open("livre-track/livre-01-arabe/darija.html")
    sizes = page.eval_on_selector_all(
        "math", "ms => ms.map(m => { const r = m.getBoundingClientRect(); return [r.width, r.height]; })")
    assert len(sizes) == 3 and all(w > 5 and h > 5 for w, h in sizes)
    block = page.eval_on_selector("math[display=block]",
                                  "m => [m.getBoundingClientRect().height, m.querySelector('mfrac') "
                                  "!== null]")
    assert block[0] > 25 and block[1] is True
    direction = page.eval_on_selector("p[lang=ar]", "p => getComputedStyle(p).direction")
    assert direction == "rtl"
    shot = tmp_path / "darija.png"
    page.screenshot(path=str(shot), full_page=True)
    page.close()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")
    assert browser.refused == []


def test_search_finds_a_module(browser: Browser) -> None:
    """Does the book's search, offline, find the module that speaks of « tatweel »?"""
    page = browser.open("search.html?q=tatweel")
    page.wait_for_selector("#search-results li", timeout=15_000)
    links = page.eval_on_selector_all("#search-results li a", "as => as.map(a => a.href)")
    page.close()
    assert any(link.endswith("livre-track/livre-01-arabe/index.html") for link in links)
    assert browser.refused == []
