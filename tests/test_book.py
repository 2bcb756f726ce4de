"""`tadrib book` on the bookish catalogue: the site trainees read, generated from the catalogue."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import nbformat
import pytest
import yaml

from autograder.book import ENFORCED_CONFIG, BookError, book, merge, write_tree
from autograder.book_pages import Hub, StudentNotebook, module_page
from autograder.catalogue import load_catalogue
from autograder.leaks import index_terms
from tests.conftest import run_tadrib
from tests.fixtures_book import BOOKISH, HUB, BuiltBook, copy_bookish, release_and_build


def _page(built: BuiltBook, name: str) -> str:
    return (built.html / name).read_text(encoding="utf-8")


def test_toc_is_the_catalogue(built_book: BuiltBook) -> None:
    """Is there one part per track and bootcamp, with its syllabus, modules and notebooks, in the
    catalogue's order, and a page for each?"""
    toc = yaml.safe_load((built_book.workspace / "book/src/_toc.yml").read_text(encoding="utf-8"))
    catalogue = load_catalogue(built_book.root)
    assert [part["caption"] for part in toc["parts"]] == [p.title for p in catalogue.programmes]
    for part, programme in zip(toc["parts"], catalogue.programmes, strict=True):
        chapter = part["chapters"][0]
        assert chapter["file"] == f"{programme.id}/index"
        assert [s["file"] for s in chapter["sections"]] == [
            f"{programme.id}/{m.id}/index" for m in programme.modules]
        for module in programme.modules:
            assert (built_book.html / programme.id / module.id / "index.html").is_file()
            for notebook in module.notebooks:
                assert (built_book.html / programme.id / module.id / f"{notebook.stem}.html").is_file()
    assert "Bootcamp livre (fixture de test)" in [p["caption"] for p in toc["parts"]]
    nav = re.search(r'<nav class="[^"]*bd-docs-nav.*?</nav>', _page(built_book, "intro.html"), re.S)
    assert nav is not None
    for programme in catalogue.programmes:  # named once in the sidebar: the part's caption
        assert nav.group(0).count(programme.title) == 1, programme.title
        for module in programme.modules:  # its page, not again for its only notebook
            assert nav.group(0).count(module.title) == 1, module.title


def test_home_and_syllabus_pages_are_french(built_book: BuiltBook) -> None:
    """Does the home page present the programmes and how to start, in French, with the hub link,
    and does each syllabus list its modules with durations and the completion rule?"""
    home = _page(built_book, "intro.html")
    assert '<html lang="fr"' in home
    for text in ("Parcours livre (fixture de test)", "Bootcamp livre (fixture de test)",
                 "Comment commencer", f'href="{HUB}"'):
        assert text in home
    track = _page(built_book, "livre-track/index.html")
    assert "01 — Textes en arabe et en darija" in track and "45 min" in track
    assert "Le parcours est validé quand" in track
    camp = _page(built_book, "livre-camp/index.html")
    assert "2 h 00 sur 1 jours" in camp and "Le bootcamp est validé quand" in camp


def test_module_page_has_objectives_hub_link_and_download(built_book: BuiltBook) -> None:
    """Does a module page show the catalogue's duration, the objectives of the notebook's first
    cell, an « Ouvrir dans JupyterHub » link to the configured hub and the student notebook to
    download, byte for byte the release?"""
    page = _page(built_book, "livre-track/livre-01-arabe/index.html")
    assert "45 min" in page and "70 %" in page
    assert "normaliser un texte arabe (espaces, tatweel)" in page
    assert "calculer une moyenne de longueurs." in page
    hub = re.search(r'<a [^>]*href="([^"]+)"[^>]*><span>Ouvrir dans JupyterHub</span>', page)
    assert hub is not None and hub.group(1) == f"{HUB}/hub/user-redirect/lab"
    download = re.search(r'href="(\.\./\.\./_downloads/[^"]+/darija\.ipynb)"', page)
    assert download is not None
    published = (built_book.html / "livre-track/livre-01-arabe" / download.group(1)).resolve()
    release = built_book.workspace / "courses/livre-track/release/livre-01-arabe/darija.ipynb"
    assert published.read_bytes() == release.read_bytes()
    assert "VOTRE RÉPONSE ICI" in _page(built_book, "livre-track/livre-01-arabe/darija.html")


def test_nbgitpuller_link_when_a_student_repository_is_configured() -> None:
    """With TADRIB_STUDENT_REPO set, is the button an nbgitpuller link that opens the notebook?"""
    programme, module = load_catalogue(BOOKISH).find_module("livre-01-arabe")
    hub = Hub(url=HUB + "/", student_repo="https://git.example/tadrib-eleves.git", branch="cohorte-1")
    page, missing = module_page(programme, module, [StudentNotebook("darija.ipynb", "")], [], hub)
    assert missing == ["darija.ipynb"]
    link = re.search(r"```\{button-link\} (\S+)", page)
    assert link is not None
    url = urlparse(link.group(1))
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{HUB}/hub/user-redirect/git-pull"
    assert parse_qs(url.query) == {"repo": ["https://git.example/tadrib-eleves.git"],
                                   "branch": ["cohorte-1"],
                                   "urlpath": ["lab/tree/tadrib-eleves/livre-track/livre-01-arabe/"
                                               "darija.ipynb"]}
    assert "Assignment List" not in page


def test_search_index_holds_the_modules(built_book: BuiltBook) -> None:
    """Can a trainee search the book: is there a search page and an index with module words?"""
    assert (built_book.html / "search.html").is_file()
    terms = index_terms((built_book.html / "searchindex.js").read_text(encoding="utf-8"))
    assert {"darij", "tatweel"} <= terms


def test_math_is_mathml_and_no_mathjax(built_book: BuiltBook) -> None:
    """Is math rendered at build time as MathML, with no MathJax script on the page?"""
    page = _page(built_book, "livre-track/livre-01-arabe/darija.html")
    assert page.count("<math ") == 3  # $n$, $x_1, \dots, x_n$ and the display formula
    assert "<mfrac>" in page and "&#x02211;" in page
    assert re.search(r"<script[^>]*mathjax", page, re.I) is None


def test_arabic_reads_right_to_left(built_book: BuiltBook) -> None:
    """Are the Arabic heading and paragraph, and Arabic words inside French text, marked
    right-to-left Arabic, while French text and code stay as they are?"""
    page = _page(built_book, "livre-track/livre-01-arabe/darija.html")
    assert re.search(r'<h2 class="tadrib-ar" dir="rtl" lang="ar">مقدمة', page)
    assert re.search(r'<p class="tadrib-ar" dir="rtl" lang="ar">هذا النص', page)
    assert '<span class="tadrib-ar" dir="rtl" lang="ar">سلام</span>' in page
    assert re.search(r"<p>Le mot « <span", page)
    code = next(pre for pre in re.findall(r"<pre>.*?</pre>", page, re.S) if "سلام عليكم" in pre)
    assert "tadrib-ar" not in code and 'dir="rtl"' not in code


def test_rebuild_is_incremental(tmp_path: Path) -> None:
    """After a build, does a rebuild with nothing changed rewrite no source and no page, and does
    changing one notebook rebuild that notebook's page and leave another module's page alone?"""
    root = copy_bookish(tmp_path / "catalogue")
    workspace = tmp_path / "ws"
    code, output = release_and_build(root, workspace)
    assert code == 0, output
    html = workspace / "book/_build/html"
    pages = {p: p.stat().st_mtime_ns for p in html.rglob("*.html")}
    again = book(root=root, workspace=workspace, hub_url=HUB)
    assert again.written == 0
    assert {p: p.stat().st_mtime_ns for p in html.rglob("*.html")} == pages
    source = root / "bootcamps/livre-camp/livre-camp-j1/jour1.ipynb"
    nb = nbformat.read(source, as_version=4)
    nb.cells[0].source += "\nUne phrase ajoutée."
    nbformat.write(nb, source)
    assert run_tadrib("release", "livre-camp-j1", "--root", str(root), "--workspace",
                      str(workspace)).exit_code == 0
    changed = book(root=root, workspace=workspace, hub_url=HUB)
    assert changed.written == 1  # the notebook only: its objectives did not change
    assert "Une phrase ajoutée." in (html / "livre-camp/livre-camp-j1/jour1.html").read_text(
        encoding="utf-8")
    arabic = html / "livre-track/livre-01-arabe/darija.html"
    assert arabic.stat().st_mtime_ns == pages[arabic]


def test_write_tree_writes_only_what_changed(tmp_path: Path) -> None:
    """Does write_tree leave unchanged files alone, rewrite changed ones and remove stale ones?"""
    assert write_tree(tmp_path, {"a.md": b"A", "sub/b.md": b"B", "old/c.md": b"C"}) == 3
    os.utime(tmp_path / "a.md", ns=(1, 1))
    assert write_tree(tmp_path, {"a.md": b"A", "sub/b.md": b"B2"}) == 1
    assert (tmp_path / "a.md").stat().st_mtime_ns == 1
    assert (tmp_path / "sub/b.md").read_bytes() == b"B2"
    assert not (tmp_path / "old").exists()


def test_safety_settings_win_over_the_authored_config() -> None:
    """Can book/_config.yml turn on page sources, execution or thebe? (It must not.)"""
    authored = {"execute": {"execute_notebooks": "force"},
                "launch_buttons": {"thebe": True, "binderhub_url": "https://mybinder.org"},
                "sphinx": {"extra_extensions": ["sphinx_proof"],
                           "config": {"html_copy_source": True, "language": "fr"}}}
    merged = merge(authored, ENFORCED_CONFIG)
    assert merged["execute"]["execute_notebooks"] == "off"
    assert merged["launch_buttons"]["thebe"] is False
    assert merged["launch_buttons"]["binderhub_url"] == ""
    assert merged["sphinx"]["config"]["html_copy_source"] is False
    assert merged["sphinx"]["config"]["language"] == "fr"
    assert merged["sphinx"]["extra_extensions"] == ["sphinx_proof", "autograder.sphinx_tadrib"]


def test_unreleased_module_is_named(tmp_path: Path) -> None:
    """Does `tadrib book` before `tadrib release` say which modules and what to run?"""
    root = copy_bookish(tmp_path / "catalogue")
    with pytest.raises(BookError, match=r"not released yet: livre-01-arabe, livre-camp-j1; run "
                                        r"`tadrib release` first"):
        book(root=root, workspace=tmp_path / "ws")


def test_missing_home_page_is_named(tmp_path: Path) -> None:
    """Without book/intro.md, does the build say which file to restore?"""
    root = copy_bookish(tmp_path / "catalogue")
    assert run_tadrib("release", "--root", str(root), "--workspace", str(tmp_path / "ws")
                      ).exit_code == 0
    shutil.rmtree(root / "book")
    shutil.copytree(Path(__file__).parents[1] / "book", root / "book",
                    ignore=shutil.ignore_patterns("intro.md"))
    result = run_tadrib("book", "--root", str(root), "--workspace", str(tmp_path / "ws"))
    assert result.exit_code == 1
    assert "book/intro.md not found: the home page is written by hand; restore it." in result.output
