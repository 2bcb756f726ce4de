"""Fixtures of the book tests: the ``bookish`` catalogue (a track with Arabic, math, an image, a
written answer and a rubric, and a one-day bootcamp) released and built once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.book import Book
from tests.conftest import copy_catalogue, run_tadrib

BOOKISH = Path(__file__).resolve().parent / "fixtures" / "bookish"
HUB = "https://hub.tadrib.example"


@dataclass(frozen=True)
class BuiltBook:
    root: Path
    workspace: Path
    book: Book
    output: str

    @property
    def html(self) -> Path:
        return self.book.html


def copy_bookish(dest: Path) -> Path:
    """A copy of the bookish catalogue (with the real book/ folder) that a test may change."""
    return copy_catalogue(BOOKISH, dest)


def release_and_build(root: Path, workspace: Path, *extra: str) -> tuple[int, str]:
    released = run_tadrib("release", "--root", str(root), "--workspace", str(workspace))
    assert released.exit_code == 0, released.output
    built = run_tadrib("book", "--root", str(root), "--workspace", str(workspace),
                       "--hub-url", HUB, *extra)
    return built.exit_code, built.output


@pytest.fixture(scope="session")
def built_book(tmp_path_factory: pytest.TempPathFactory) -> BuiltBook:
    """`tadrib release` then `tadrib book` of the bookish catalogue, as an instructor runs them."""
    base = tmp_path_factory.mktemp("book")
    root = copy_bookish(base / "catalogue")
    workspace = base / "ws"
    code, output = release_and_build(root, workspace)
    assert code == 0, output
    html = workspace / "book" / "_build" / "html"
    return BuiltBook(root, workspace, Book(html=html, pages=len(list(html.rglob("*.html")))),
                     output)
