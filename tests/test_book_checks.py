"""Accessibility and offline checks over the built site, and the pure parts of the book's pages."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.book_pages import StudentNotebook, objectives, part_title
from autograder.site_checks import accessibility_problems, offline_problems
from autograder.sphinx_tadrib import MathError, arabic_share, mathml
from tests.fixtures_book import BuiltBook, copy_bookish, release_and_build


@pytest.fixture
def site(built_book: BuiltBook, tmp_path: Path) -> Path:
    return Path(shutil.copytree(built_book.html, tmp_path / "html"))


def _plant(page: Path, html: str) -> None:
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("</article>", html + "</article>", 1), encoding="utf-8")


def test_built_site_is_accessible_and_offline(built_book: BuiltBook) -> None:
    """Does the built site pass both checks, its image included?"""
    assert accessibility_problems(built_book.html) == []
    assert offline_problems(built_book.html) == []
    page = (built_book.html / "livre-track/livre-01-arabe/darija.html").read_text(encoding="utf-8")
    assert 'alt="Histogramme des longueurs de messages, en nombre de mots"' in page


def test_image_without_alt_text_is_named(site: Path) -> None:
    """Is an image without alt text reported with its page, file and fix, and a decorative one
    (role="presentation") accepted?"""
    _plant(site / "intro.html", '<img src="_static/carte.png"><img src="x.png" alt="" '
                                'role="presentation"><img src="y.png" alt="Carte du Maroc">')
    assert [str(p) for p in accessibility_problems(site)] == [
        "intro.html: image '_static/carte.png' has no alt text; describe it: ![what the image "
        "shows](file) in markdown or :alt: in a figure directive."]


def test_skipped_heading_level_is_named(site: Path) -> None:
    """Is a heading that skips a level (h2 then h4) reported with the level to use?"""
    _plant(site / "intro.html", "<h4>Détails</h4>")
    problems = [str(p) for p in accessibility_problems(site)]
    assert len(problems) == 1
    assert problems[0].startswith("intro.html: heading h4 'Détails' follows h2 ")
    assert problems[0].endswith("a level is skipped; make it h3 (### in markdown).")


def test_remote_resources_are_named(site: Path) -> None:
    """Are a CDN script, a remote style sheet, an image and a remote font in CSS reported?"""
    _plant(site / "intro.html", '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex.js">'
                                '</script><img alt="logo" src="//example.org/logo.png">')
    css = site / "_static/tadrib.css"
    css.write_text(css.read_text(encoding="utf-8")
                   + '\n@import "https://fonts.googleapis.com/css?family=Amiri";\n', encoding="utf-8")
    found = sorted(str(p) for p in offline_problems(site))
    assert len(found) == 3
    assert found[0].startswith("_static/tadrib.css: loads 'https://fonts.googleapis.com/")
    assert "intro.html: loads '//example.org/logo.png' from another host" in found[1] + found[2]
    assert "'https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex.js'" in found[1] + found[2]


def test_notebook_image_without_alt_fails_the_build(tmp_path: Path) -> None:
    """Does `tadrib book` fail on a notebook image without alt text, naming the source notebook?"""
    root = copy_bookish(tmp_path / "catalogue")
    source = root / "courses/livre-track/livre-01-arabe/darija.ipynb"
    nb = nbformat.read(source, as_version=4)
    nb.cells[1].source = nb.cells[1].source.replace(
        "![Histogramme des longueurs de messages, en nombre de mots]", "![]")
    nb.cells[2].source += "\n<h4>تفاصيل</h4>\n"  # raw HTML: Sphinx nests markdown headings itself
    nbformat.write(nb, source)
    code, output = release_and_build(root, tmp_path / "ws")
    assert code == 1
    assert "it is not accessible" in output
    assert ("livre-track/livre-01-arabe/darija.html: image '../../_images/longueurs.png' has no "
            "alt text") in output
    assert "heading h4 'تفاصيل' follows h2 'مقدمة': a level is skipped" in output
    assert f"(source: {source})" in output


@pytest.mark.parametrize(("cell", "expected"), [
    ("# T\n\n**Objectifs** — à la fin, vous saurez :\n- lire ;\n- écrire.\n\nSuite.",
     ["À la fin, vous saurez :", "", "- lire ;", "- écrire."]),
    ("# T\nObjectifs : additionner. Durée : 10 minutes.", ["Additionner. Durée : 10 minutes."]),
    ("# T\n**Objectifs**\n\n- un ;\n  suite du un\n- deux\nFin", ["- un ;", "  suite du un",
                                                                  "- deux"]),
    ("# T\nPas d'objectif annoncé ici.", []),
])
def test_objectives_come_from_the_first_cell(cell: str, expected: list[str]) -> None:
    """Are the objectives taken from the « Objectifs » line and the list after it, in the
    ways authors write them?"""
    assert objectives(cell) == expected


def test_part_title_is_the_notebook_subtitle() -> None:
    """Is a notebook's part named by its second-level heading, else its file name?"""
    assert part_title(StudentNotebook("1-a.ipynb", "# M\n## Partie 1 · Bases\n")) == "Partie 1 · Bases"
    assert part_title(StudentNotebook("1-a.ipynb", "# M\n")) == "1-a"


def test_unsupported_formula_names_the_page() -> None:
    """Does a formula MathML cannot express stop the build with the page, line and formula?"""
    with pytest.raises(MathError, match=r"livre-track/x, line 4: the formula '\\\\foo\{x\}' cannot "
                                        r"be rendered offline as MathML \('\\\\foo' is not supported\)"):
        mathml(r"\foo{x}", display="inline", where="livre-track/x, line 4")
    assert "<mfrac>" in mathml(r"\frac{a}{b}", display="block", where="p")


def test_arabic_share() -> None:
    """Is a text called Arabic by the share of Arabic letters, digits and punctuation ignored?"""
    assert arabic_share("هذا النص مكتوب بالعربية") == 1
    assert arabic_share("Le mot « سلام » veut dire paix") < 0.5
    assert arabic_share("123 !") == 0
