"""AI-drafted feedback, instructor in the loop (`tadrib feedback --draft`, `tadrib drafts`).

One graded workspace per module run: the mini module with a marker planted in a solution and in a
hidden test, and one wrong submission that passes Q1's visible test but fails a hidden one (whose
IPython traceback shows the hidden lines), and leaves Q2 blank (its visible test fails). Each test
works on its own copy. Drafts are asked
of the real classroom server over HTTP, through the real ``mistralai`` client.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import sqlite3
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import nbformat
import pytest
from mistralai.client import Mistral

from autograder import notebooks as nbs
from autograder.catalogue import load_catalogue
from autograder.draft_review import list_drafts, merged_comment
from autograder.drafts import HIDDEN_FAILED, draft, secret_in
from autograder.grading import UnsandboxedWarning, grade
from autograder.leaks import secrets_of
from autograder.sandbox import sandbox_unavailable
from autograder.workspace import Workspace, release
from tests.conftest import MINI, copy_catalogue, run_tadrib
from tests.fixtures_mistral import MistralEndpoint
from tests.test_grading import FAST, MODULE, hand_in

SOLUTION_MARKER = "SOLUTION_MARKER_7f3a"
HIDDEN_MARKER = "HIDDEN_MARKER_91c2"
MARKERS = (SOLUTION_MARKER, HIDDEN_MARKER)
TRAINEE = "t3f9a0c2b7d41e6a5"  # a pseudonym, as the roster gives them


def _plant_markers(catalogue: Path) -> None:
    path = catalogue / "courses/mini-track" / MODULE / "sommes.ipynb"
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if nbs.grade_id(cell) == "q1-somme":
            cell.source = cell.source.replace(
                nbs.BEGIN_SOLUTION, f'{nbs.BEGIN_SOLUTION}\n    marqueur = "{SOLUTION_MARKER}"')
        if nbs.grade_id(cell) == "q1-tests":
            cell.source = cell.source.replace(
                nbs.BEGIN_HIDDEN, f'{nbs.BEGIN_HIDDEN}\nassert "{HIDDEN_MARKER}" != ""')
    nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalogue and a workspace where a wrong submission of the mini module is graded."""
    base = tmp_path_factory.mktemp("drafts")
    catalogue, workspace = base / "catalogue", base / "ws"
    copy_catalogue(MINI, catalogue)
    _plant_markers(catalogue)
    release(root=catalogue, workspace=workspace)
    ws = Workspace.open(root=catalogue, workspace=workspace)
    course = ws.course(ws.modules(MODULE)[0][0])
    hand_in(course, catalogue, TRAINEE, "def somme(xs):\n    return 3\n")
    sandbox = sandbox_unavailable() is None  # else our own fixture code runs unsandboxed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsandboxedWarning)
        statuses = grade(MODULE, root=catalogue, workspace=workspace, workers=2, limits=FAST,
                         sandbox=sandbox)
    assert all(s.ok for s in statuses), statuses
    return base


@pytest.fixture
def copy(graded: Path, tmp_path: Path) -> tuple[Path, Path]:
    """This test's own copy of the graded catalogue and workspace."""
    shutil.copytree(graded, tmp_path / "copy")
    return tmp_path / "copy/catalogue", tmp_path / "copy/ws"


@pytest.fixture
def recorded(mistral_endpoint: MistralEndpoint) -> Iterator[tuple[Mistral, list[bytes]]]:
    """A real client for the classroom server that keeps every request body it sends."""
    bodies: list[bytes] = []
    with httpx.Client(event_hooks={"request": [lambda request: bodies.append(request.read())]}) \
            as http:
        yield Mistral(api_key=mistral_endpoint.api_key, server_url=mistral_endpoint.url,
                      client=cast(Any, http)), bodies


def _tadrib(catalogue: Path, workspace: Path, *args: str) -> str:
    result = run_tadrib(*args, "--root", str(catalogue), "--workspace", str(workspace))
    assert result.exit_code == 0, result.output
    return result.output


def _feedback_html(workspace: Path, student: str) -> str:
    path = workspace / "courses/mini-track/feedback" / student / MODULE / "sommes.html"
    return html.unescape(path.read_text(encoding="utf-8"))


def _comment(workspace: Path, answer_id: str) -> str | None:
    """The comment the trainee's feedback page shows on this answer cell (tags removed)."""
    page = (workspace / "courses/mini-track/feedback" / TRAINEE / MODULE / "sommes.html"
            ).read_text(encoding="utf-8")
    start = page.index(f'<a name="comment-{answer_id}">')
    end = page.find('<a name="comment-', start + 1)
    cell = page[start:end if end != -1 else None]
    if "<b>Comments:</b>" not in cell:
        return None
    shown = cell.split("<b>Comments:</b>", 1)[1].split('<div class="cell', 1)[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", shown)).split())


def _flat(text: str) -> str:
    """``text`` as the page shows it: markdown list dashes and line breaks gone."""
    return " ".join(" ".join(line.lstrip("- ") for line in text.splitlines()).split())


def test_no_prompt_and_no_draft_holds_a_secret(copy: tuple[Path, Path],
                                                recorded: tuple[Mistral, list[bytes]]) -> None:
    """Does no request sent to the model, and no stored draft, hold solution or hidden-test text,
    while each prompt holds the question, the answer, the released test and the error?"""
    catalogue, workspace = copy
    llm, bodies = recorded
    outcomes = draft(MODULE, root=catalogue, workspace=workspace, llm=llm,
                     model="tadrib-classroom-small", by="formateur")
    assert [(o.student_id, o.test_id, o.outcome) for o in outcomes] == [
        (TRAINEE, "q1-tests", "drafted"), (TRAINEE, "q2-tests", "drafted")]
    assert len(bodies) == 2
    secrets = secrets_of(load_catalogue(catalogue).find_module(MODULE)[1:])
    for body in bodies:
        assert not any(marker.encode() in body for marker in MARKERS)
        assert TRAINEE.encode() not in body  # no trainee id goes out either
        assert secret_in(json.loads(body)["messages"][-1]["content"], secrets) is None
    q1, q2 = (json.loads(body)["messages"][-1]["content"] for body in bodies)
    assert "Écrivez `somme(xs)`" in q1 and "return 3" in q1 and "doit valoir 3" in q1
    assert HIDDEN_FAILED in q1 and "somme(valeurs)" not in q1
    assert "Écrivez `moyenne(xs)`" in q2 and "NotImplementedError" in q2
    assert "assert abs(moyenne([1, 3]) - 2) < 1e-9" in q2 and "2.5" not in q2
    stored = (workspace / "courses/mini-track/drafts.db").read_bytes()
    assert not any(marker.encode() in stored for marker in MARKERS)
    assert {d.status for d in list_drafts(MODULE, root=catalogue, workspace=workspace)} == {"draft"}


def test_a_prompt_with_a_secret_is_never_sent(copy: tuple[Path, Path],
                                              recorded: tuple[Mistral, list[bytes]]) -> None:
    """Is a prompt that would hold a solution line (here pasted by the trainee) refused, unsent?"""
    catalogue, workspace = copy
    llm, bodies = recorded
    ws = Workspace.open(root=catalogue, workspace=workspace)
    folder = ws.course(ws.modules(MODULE)[0][0]).submitted_dir(TRAINEE, MODULE)
    notebook = nbformat.read(folder / "sommes.ipynb", as_version=4)
    answer = next(c for c in notebook.cells if nbs.grade_id(c) == "q1-somme")
    answer.source = f'def somme(xs):\n    marqueur = "{SOLUTION_MARKER}"\n    return 3\n'
    nbformat.write(notebook, folder / "sommes.ipynb")  # as handed in; the grades stay as they are
    outcomes = {o.test_id: o for o in draft(MODULE, root=catalogue, workspace=workspace, llm=llm,
                                            model="tadrib-classroom-small")}
    assert outcomes["q1-tests"].outcome == "refused"
    assert "a solution (cell q1-somme" in outcomes["q1-tests"].message
    assert outcomes["q2-tests"].outcome == "drafted"
    assert len(bodies) == 1 and SOLUTION_MARKER.encode() not in bodies[0]


def test_only_approved_text_reaches_the_feedback(copy: tuple[Path, Path],
                                                 mistral_endpoint: MistralEndpoint) -> None:
    """Through the CLI: do untouched, edited-unapproved and dropped drafts stay out of the
    trainee's feedback, while approved and edited-then-approved ones go in?"""
    catalogue, workspace = copy
    assert "2 drafted" in _tadrib(catalogue, workspace, "feedback", MODULE, "--draft")
    again = _tadrib(catalogue, workspace, "feedback", "--draft", MODULE)
    assert "0 drafted" in again and again.count("kept") == 2  # idempotent
    q1, q2 = list_drafts(MODULE, root=catalogue, workspace=workspace)
    blank = "No response."  # nbgrader's own comment on Q2's untouched answer
    _tadrib(catalogue, workspace, "feedback", MODULE)
    assert _comment(workspace, "q1-somme") is None and _comment(workspace, "q2-moyenne") == blank

    _tadrib(catalogue, workspace, "drafts", "approve", MODULE, str(q1.id), "--by", "formatrice")
    _tadrib(catalogue, workspace, "drafts", "edit", MODULE, str(q2.id), "--text",
            "TEXTE_NON_APPROUVE_55aa")
    _tadrib(catalogue, workspace, "feedback", MODULE)
    assert _comment(workspace, "q1-somme") == _flat(q1.text)
    assert _comment(workspace, "q2-moyenne") == blank

    _tadrib(catalogue, workspace, "drafts", "drop", MODULE, str(q1.id))
    _tadrib(catalogue, workspace, "drafts", "edit", MODULE, str(q2.id), "--text",
            "TEXTE_EDITE_4d2e : pensez à la liste vide.", "--approve")
    _tadrib(catalogue, workspace, "feedback", MODULE)
    assert _comment(workspace, "q1-somme") is None  # dropped after approval: taken back
    assert _comment(workspace, "q2-moyenne") == "TEXTE_EDITE_4d2e : pensez à la liste vide."
    listed = _tadrib(catalogue, workspace, "drafts", "list", MODULE, "--status", "dropped")
    assert "1 draft(s)." in listed and f"{TRAINEE} sommes/q1-tests" in listed
    with sqlite3.connect(workspace / "courses/mini-track/drafts.db") as db:
        history = list(db.execute("select action, by from draft_event where draft_id = ? "
                                  "order by id", (q1.id,)))
    assert [action for action, _ in history] == ["drafted", "approved", "dropped"]
    assert history[1][1] == "formatrice"


def test_redraft_keeps_the_instructors_decisions(copy: tuple[Path, Path],
                                                 recorded: tuple[Mistral, list[bytes]]) -> None:
    """Does --redraft replace a waiting draft but never an approved or edited one?"""
    catalogue, workspace = copy
    llm, bodies = recorded
    where = ("--root", str(catalogue), "--workspace", str(workspace))

    def redraft() -> dict[str, str]:
        return {o.test_id: o.outcome for o in draft(MODULE, root=catalogue, workspace=workspace,
                                                    llm=llm, model="tadrib-classroom-small",
                                                    redraft=True)}

    q1, q2 = (cast(int, o.draft_id) for o in draft(MODULE, root=catalogue, workspace=workspace,
                                                   llm=llm, model="tadrib-classroom-small"))
    assert run_tadrib("drafts", "approve", MODULE, str(q1), *where).exit_code == 0
    assert redraft() == {"q1-tests": "kept", "q2-tests": "drafted"} and len(bodies) == 3
    assert run_tadrib("drafts", "edit", MODULE, str(q2), "--text", "À moi.", *where).exit_code == 0
    assert redraft() == {"q1-tests": "kept", "q2-tests": "kept"} and len(bodies) == 3
    texts = {d.id: d.text for d in list_drafts(MODULE, root=catalogue, workspace=workspace)}
    assert texts[q2] == "À moi."


def test_review_errors_name_the_draft_and_the_fix(copy: tuple[Path, Path],
                                                   mistral_endpoint: MistralEndpoint,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Do an unknown draft, an empty edit and a missing endpoint end with a message, no traceback,
    and nothing stored changes?"""
    catalogue, workspace = copy
    where = ("--root", str(catalogue), "--workspace", str(workspace))
    _tadrib(catalogue, workspace, "feedback", MODULE, "--draft")
    unknown = run_tadrib("drafts", "approve", MODULE, "1", "999", *where)
    assert unknown.exit_code == 1 and "no draft 999" in unknown.output
    assert "Traceback" not in unknown.output
    assert {d.status for d in list_drafts(MODULE, root=catalogue, workspace=workspace)} == {"draft"}
    empty = run_tadrib("drafts", "edit", MODULE, "1", "--text", "  ", *where)
    assert empty.exit_code == 1 and "drafts drop" in empty.output
    for variable in ("TADRIB_MISTRAL_MODE", "TADRIB_MISTRAL_URL", "MISTRAL_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    missing = run_tadrib("feedback", MODULE, "--redraft", *where)
    assert missing.exit_code == 1 and "MISTRAL_API_KEY" in missing.output
    assert "Traceback" not in missing.output


@pytest.mark.parametrize(("current", "previous", "wanted", "expected"), [
    (None, None, "Indice.", "Indice."),
    ("Indice.", "Indice.", None, None),
    ("Vu en classe.\n\nIndice.", "Indice.", "Nouvel indice.", "Vu en classe.\n\nNouvel indice."),
    ("Vu en classe.", None, "Indice.", "Vu en classe.\n\nIndice."),
    ("Réécrit dans formgrader.", "Indice.", None, "Réécrit dans formgrader."),
    ("Indice.", None, "Indice.", "Indice."),
])
def test_merged_comment_keeps_the_instructors_words(current: str | None, previous: str | None,
                                                    wanted: str | None,
                                                    expected: str | None) -> None:
    """Does releasing or taking back a hint keep what the instructor wrote in formgrader?"""
    assert merged_comment(current, previous=previous, wanted=wanted) == expected


def test_failing_line_in_a_hidden_part_is_not_told() -> None:
    """Is an error in a hidden test reduced to 'un test caché a échoué', IPython's context lines
    (which show hidden tests) never used?"""
    from autograder.drafts import error_of

    source = "assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(2) == SECRET\n### END HIDDEN TESTS"
    released = nbformat.v4.new_code_cell("assert f(1) == 1")

    def graded(line: int, value: str) -> nbformat.NotebookNode:
        frame = f"\x1b[32m----> \x1b[39m\x1b[32m{line}\x1b[39m assert ...\n      3 assert f(2) == SECRET"
        return cast(nbformat.NotebookNode, nbformat.v4.new_code_cell(source, outputs=[nbformat.v4.new_output(
            "error", ename="AssertionError", evalue=value, traceback=["Cell In[4]", frame])]))

    assert error_of(graded(3, "SECRET"), released) == HIDDEN_FAILED
    visible = error_of(graded(1, "f(1) doit valoir 1"), released)
    assert visible.startswith("AssertionError: f(1) doit valoir 1") and "SECRET" not in visible
    assert re.search("SECRET", error_of(graded(9, ""), released)) is None
