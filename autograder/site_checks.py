"""Checks over a built site: accessibility (images have alt text, headings in order) and offline
(no page, style sheet or image loads anything from another host).

Both read the HTML as it is published (stdlib ``html.parser``); each problem names the page and
says how to fix it. The browser test (tests/test_book_browser.py) proves the offline part live.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

_HEADING = re.compile(r"^h([1-6])$")
_REMOTE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.I)
_CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])([^'")\s]+)""", re.I)
_LOADING = {("script", "src"), ("img", "src"), ("img", "srcset"), ("iframe", "src"),
            ("source", "src"), ("source", "srcset"), ("video", "src"), ("video", "poster"),
            ("audio", "src"), ("embed", "src"), ("object", "data"), ("input", "src"),
            ("track", "src")}
_LINK_LOADING = {"stylesheet", "preload", "modulepreload", "icon", "prefetch", "manifest",
                 "apple-touch-icon", "mask-icon"}


Pages = list[tuple[str, "_Page"]]


@dataclass(frozen=True)
class SiteProblem:
    page: str
    message: str

    def __str__(self) -> str:
        return f"{self.page}: {self.message}"


class _Page(HTMLParser):
    """What the checks need from one page: images, headings of the main content, resources."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str]] = []
        self.headings: list[tuple[int, str]] = []
        self.resources: list[str] = []
        self._main_depth = 0
        self._heading: list[object] = []
        self._in_headerlink = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag == "main":
            self._main_depth += 1
        if tag == "img":
            self.images.append(attr)
        if tag == "a" and "headerlink" in attr.get("class", "").split():
            self._in_headerlink = True
        level = _HEADING.match(tag)
        if level and self._main_depth:
            self._heading = [int(level.group(1)), ""]
        self.resources += [attr[a] for t, a in _LOADING if t == tag and a in attr]
        rels = set(attr.get("rel", "").lower().split())
        if tag == "link" and rels & _LINK_LOADING and "href" in attr:
            self.resources.append(attr["href"])
        if "style" in attr:
            self.resources += _CSS_URL.findall(attr["style"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._in_headerlink = False
        if tag == "main":
            self._main_depth = max(0, self._main_depth - 1)
        if self._heading and _HEADING.match(tag):
            level, text = self._heading
            self.headings.append((int(str(level)), " ".join(str(text).split())))
            self._heading = []

    def handle_data(self, data: str) -> None:
        if self._heading and not self._in_headerlink:
            self._heading[1] = str(self._heading[1]) + data


def parse_site(site: Path) -> list[tuple[str, _Page]]:
    """Every HTML page of ``site`` (its path relative to the site, and what the checks need)."""
    parsed = []
    for path in sorted(site.rglob("*.html")):
        page = _Page()
        page.feed(path.read_text(encoding="utf-8", errors="replace"))
        page.close()
        parsed.append((path.relative_to(site).as_posix(), page))
    return parsed


def accessibility_problems(site: Path, pages: Pages | None = None) -> list[SiteProblem]:
    """Images without alt text, and main-content headings that do not start at h1 or skip a level."""
    problems = []
    for name, page in parse_site(site) if pages is None else pages:
        for image in page.images:
            decorative = image.get("role") == "presentation" or image.get("aria-hidden") == "true"
            if not image.get("alt", "").strip() and not decorative:
                problems.append(SiteProblem(name, f"image {image.get('src', '?')!r} has no alt text; "
                                            "describe it: ![what the image shows](file) in markdown "
                                            "or :alt: in a figure directive."))
        problems += _heading_problems(name, page.headings)
    return problems


def _heading_problems(name: str, headings: list[tuple[int, str]]) -> list[SiteProblem]:
    problems = []
    if headings and headings[0][0] != 1:
        problems.append(SiteProblem(name, f"the page starts with h{headings[0][0]} "
                                    f"{headings[0][1]!r}, not h1; give the page a '# title'."))
    for (before, before_text), (level, text) in itertools.pairwise(headings):
        if level > before + 1:
            problems.append(SiteProblem(
                name, f"heading h{level} {text!r} follows h{before} {before_text!r}: a level is "
                f"skipped; make it h{before + 1} ({'#' * (before + 1)} in markdown)."))
    return problems


def offline_problems(site: Path, pages: Pages | None = None) -> list[SiteProblem]:
    """Resources that a page or style sheet would fetch from another host."""
    problems = []
    for name, page in parse_site(site) if pages is None else pages:
        for url in page.resources:
            if any(_REMOTE.match(u.split()[0]) for u in url.split(",") if u.strip()):
                problems.append(SiteProblem(name, f"loads {url!r} from another host; the book must "
                                            "work offline: ship the file in book/_static instead."))
    for css in sorted(site.rglob("*.css")):
        for url in _CSS_URL.findall(css.read_text(encoding="utf-8", errors="replace")):
            if _REMOTE.match(url):
                problems.append(SiteProblem(css.relative_to(site).as_posix(),
                                            f"loads {url!r} from another host; ship it locally."))
    return problems
