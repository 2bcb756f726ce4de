"""The leak check of `tadrib book`, proven with planted leaks of each kind on a copy of a built site."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.book import BookError, book_sources, check_site
from autograder.book_pages import Hub
from autograder.leaks import secrets_of
from autograder.roster import Roster, import_roster
from autograder.workspace import Workspace
from tests.conftest import run_tadrib
from tests.fixtures_book import HUB, BuiltBook, copy_bookish

SOLUTION = "morceaux_secrets_du_formateur = texte.split()"
HIDDEN = 'assert compter_mots("واحد  اثنان   ثلاثة") == 3, "verification_cachee_espaces"'
MODEL_ANSWER = "Réponse modèle du formateur : parce que les espaces multiples gonflent"
RUBRIC = "un point si la réponse mentionne les espaces multiples."


@pytest.fixture
def site(built_book: BuiltBook, tmp_path: Path) -> Path:
    """A copy of the built site that a test may plant a leak in."""
    return Path(shutil.copytree(built_book.html, tmp_path / "html"))


def _check(built: BuiltBook, site: Path) -> str:
    """The message `tadrib book` would end with, for this site ("" when it would publish it)."""
    ws = Workspace.open(root=built.root, workspace=built.workspace)
    try:
        check_site(ws, site, book_sources(ws, Hub(HUB)))
    except BookError as error:
        return str(error)
    return ""


def _plant(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def test_clean_site_passes(built_book: BuiltBook, site: Path) -> None:
    """Is the site `tadrib book` built free of leaks (so a planted one is the only finding)?"""
    assert _check(built_book, site) == ""
    assert "no leak" in built_book.output
    assert not (built_book.html / "_sources").exists()


def test_solution_in_a_page(built_book: BuiltBook, site: Path) -> None:
    """Is a solution line found in a page even with tags and entities around it?"""
    page = site / "livre-track/livre-01-arabe/darija.html"
    _plant(page, "<pre><span>morceaux_secrets_du_formateur</span> <span>=</span> "
                 "<span>texte.split()</span></pre>")
    message = _check(built_book, site)
    assert f"{page}: contains a solution (cell q1-compter) of livre-01-arabe/darija.ipynb" in message
    assert SOLUTION in message


def test_hidden_test_in_a_downloaded_notebook(built_book: BuiltBook, site: Path) -> None:
    """Is a hidden test found in a downloadable notebook (JSON-escaped inside a cell)?"""
    download = next(site.glob("_downloads/*/darija.ipynb"))
    nb = nbformat.read(download, as_version=4)
    nb.cells[6].source += "\n" + HIDDEN
    nbformat.write(nb, download)
    message = _check(built_book, site)
    assert f"{download}: contains a hidden test (cell q1-tests)" in message


def test_model_answer_in_a_sources_copy(built_book: BuiltBook, site: Path) -> None:
    """Is a written answer's model answer found in a _sources copy of the source notebook?"""
    source = built_book.root / "courses/livre-track/livre-01-arabe/darija.ipynb"
    copy = site / "_sources/livre-track/livre-01-arabe/darija.ipynb.txt"
    _plant(copy, source.read_text(encoding="utf-8"))
    message = _check(built_book, site)
    assert f"{copy}: contains the model answer of a written answer (cell q2-ecrit)" in message
    assert f"{copy}: contains a solution (cell q1-compter)" in message
    assert f"{copy}: contains a hidden test (cell q1-tests)" in message


def test_rubric_in_a_page(built_book: BuiltBook, site: Path) -> None:
    """Is the catalogue's grading rubric found when a page shows it?"""
    page = site / "livre-track/index.html"
    _plant(page, f"<p>Barème : {html.escape(RUBRIC)}</p>")
    assert f"{page}: contains the grading rubric of livre-01-arabe (catalogue)" in _check(
        built_book, site)


def test_solution_words_in_the_search_index_only(built_book: BuiltBook, site: Path) -> None:
    """Is a word only a solution holds found in the search index's terms, even when no page has
    it (an index built before a page was fixed)?"""
    index = site / "searchindex.js"
    text = index.read_text(encoding="utf-8")
    planted = text.replace('"terms": {', '"terms": {"morceaux_secrets_du_formateur": [0], ', 1)
    assert planted != text
    index.write_text(planted, encoding="utf-8")
    message = _check(built_book, site)
    assert (f"{index}: contains a search term from a solution (cell q1-compter) of "
            "livre-01-arabe/darija.ipynb: 'morceaux_secrets_du_formateur'") in message


def test_hidden_test_in_a_search_index_title(built_book: BuiltBook, site: Path) -> None:
    """Is a hidden test found in the search index's titles, where Sphinx escapes non-ASCII?"""
    index = site / "searchindex.js"
    text = index.read_text(encoding="utf-8")
    title = json.dumps(HIDDEN)
    index.write_text(text.replace('"alltitles": {', f'"alltitles": {{{title}: [[0, null]], ', 1),
                     encoding="utf-8")
    assert f"{index}: contains a hidden test (cell q1-tests)" in _check(built_book, site)


def test_workspace_path_in_a_script(built_book: BuiltBook, site: Path) -> None:
    """Is the workspace's absolute path (the instructor's machine) found in a script?"""
    script = site / "_static/documentation_options.js"
    _plant(script, f'\nconst SRC = "{built_book.workspace}/book/src";\n')
    assert f"{script}: contains a path of the instructor's machine" in _check(built_book, site)


def test_trainee_ids_and_roster_in_a_page(built_book: BuiltBook, site: Path, tmp_path: Path) -> None:
    """Are a trainee's pseudonym, national id, email and full name from the roster (`tadrib roster
    import`) found in a page, as is a trainee id known only from a submission folder?"""
    root = copy_bookish(tmp_path / "catalogue")
    workspace = tmp_path / "ws"
    shutil.copytree(built_book.workspace / "courses", workspace / "courses")
    (workspace / "courses/livre-track/submitted/tr-ahmed-042/livre-01-arabe").mkdir(parents=True)
    roster = tmp_path / "roster.csv"
    roster.write_text("national_id,email,first_name,last_name,cohort,track,region,gender,"
                      "institution,employer_type\nAB123456,salma.idrissi@exemple.ma,Salma,Idrissi,"
                      "2026-T3,livre-track,Casablanca-Settat,F,Ministère,ministry\n", encoding="utf-8")
    import_roster(file=roster, root=root, workspace=workspace)
    pseudonym = next(iter(Roster.of(workspace).people()))
    page = site / "intro.html"
    _plant(page, f"<p>Bravo à tr-ahmed-042, à {pseudonym}, à Salma Idrissi (AB123456, "
                 "salma.idrissi@exemple.ma)</p>")
    ws = Workspace.open(root=root, workspace=workspace)
    with pytest.raises(BookError) as error:
        check_site(ws, site, book_sources(ws, Hub(HUB)))
    message = str(error.value)
    assert f"{page}: contains a trainee id from the gradebook: 'tr-ahmed-042'" in message
    assert f"{pseudonym!r}" in message  # registered in the gradebook and kept in the roster
    for value in ("AB123456", "salma.idrissi@exemple.ma", "Salma Idrissi"):
        assert f"{page}: contains personal data from the roster: {value!r}" in message


def test_gradebook_copied_into_the_site(built_book: BuiltBook, site: Path) -> None:
    """Is a gradebook database copied into the site found, whatever its name?"""
    gradebook = built_book.workspace / "courses/livre-track/gradebook.db"
    shutil.copy(gradebook, site / "_static/data.bin")
    assert f"{site / '_static/data.bin'}: contains a database file (a gradebook?)" in _check(
        built_book, site)


def test_release_with_solutions_fails_the_build(tmp_path: Path) -> None:
    """If the instructor version reached the release (the book's input), does `tadrib book` fail,
    name the solution, the hidden test and the model answer, and say nothing was published?"""
    root = copy_bookish(tmp_path / "catalogue")
    workspace = tmp_path / "ws"
    assert run_tadrib("release", "--root", str(root), "--workspace", str(workspace)).exit_code == 0
    source = root / "courses/livre-track/livre-01-arabe/darija.ipynb"
    shutil.copy(source, workspace / "courses/livre-track/release/livre-01-arabe/darija.ipynb")
    result = run_tadrib("book", "--root", str(root), "--workspace", str(workspace))
    assert result.exit_code == 1
    assert "was not published" in result.output
    for kind in ("a solution (cell q1-compter)", "a hidden test (cell q1-tests)",
                 "the model answer of a written answer (cell q2-ecrit)",
                 "an nbgrader region marker"):
        assert kind in result.output


def test_secret_seen_elsewhere_by_trainees_is_not_a_leak(tmp_path: Path) -> None:
    """Is an instructor line that is part of a line trainees see (a list written out in the
    question, continued over two lines in the solution) left out of the secrets?"""
    root = copy_bookish(tmp_path / "catalogue")
    source = root / "courses/livre-track/livre-01-arabe/darija.ipynb"
    nb = nbformat.read(source, as_version=4)
    nb.cells[4].source += '\n\n`MOIS = ["janvier", "février", "mars", "avril", "mai", "juin"]`'
    nb.cells[5].source = nb.cells[5].source.replace(
        "    ### END SOLUTION",
        '    mois = ["janvier", "février",\n            "mars", "avril", "mai", "juin"]\n'
        "    ### END SOLUTION")
    nbformat.write(nb, source)
    module = Workspace.open(root=root, workspace=tmp_path / "ws").catalogue.find_module(
        "livre-01-arabe")[1]
    texts = {s.text for s in secrets_of([module])}
    assert SOLUTION in texts
    assert 'mois = ["janvier", "février",' in texts
    assert '"mars", "avril", "mai", "juin"]' not in texts
