"""`tadrib check`: each catalogue defect is caught, named by file and cell, with a fix."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from autograder.check import check_catalogue
from tests.conftest import run_tadrib

TRACK = Path("courses/mini-track/track.yml")
NOTEBOOK = Path("courses/mini-track/mini-01-sommes/sommes.ipynb")


def _edit_notebook(root: Path, change: Callable[[nbformat.NotebookNode], None]) -> None:
    nb = nbformat.read(root / NOTEBOOK, as_version=4)
    change(nb)
    nbformat.write(nb, root / NOTEBOOK)


def _cell(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def malformed_yaml(root: Path) -> None:
    (root / TRACK).write_text("id: mini-track\ntitle: a: b\nmodules: []\n", encoding="utf-8")


def unknown_key(root: Path) -> None:
    text = (root / TRACK).read_text(encoding="utf-8")
    (root / TRACK).write_text(text.replace("title: \"01", "titel: \"01"), encoding="utf-8")


def listed_but_missing(root: Path) -> None:
    text = (root / TRACK).read_text(encoding="utf-8")
    extra = "  - id: mini-02-absent\n    title: \"02\"\n    duration_minutes: 5\ncompletion:"
    (root / TRACK).write_text(text.replace("completion:", extra), encoding="utf-8")


def present_but_unlisted(root: Path) -> None:
    folder = root / "courses/mini-track/mini-03-orphelin"
    folder.mkdir()
    shutil.copy(root / NOTEBOOK, folder / "orphelin.ipynb")


def duplicate_grade_id(root: Path) -> None:
    _edit_notebook(root, lambda nb: _cell(nb, "q2-tests").metadata.nbgrader.update(
        grade_id="q1-tests"))


def solution_outside_solution_cell(root: Path) -> None:
    def change(nb: nbformat.NotebookNode) -> None:
        _cell(nb, "donnees").source += "\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
    _edit_notebook(root, change)


def answer_without_test(root: Path) -> None:
    _edit_notebook(root, lambda nb: nb.cells.remove(_cell(nb, "q2-tests")))


def notebook_with_outputs(root: Path) -> None:
    def change(nb: nbformat.NotebookNode) -> None:
        cell = _cell(nb, "donnees")
        cell.execution_count = 3
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    _edit_notebook(root, change)


def missing_data_file(root: Path) -> None:
    (root / "courses/mini-track/mini-01-sommes/nombres.csv").unlink()


DEFECTS = {
    # defect: (mutation, words the message must hold: file, cell and fix)
    "malformed-yaml": (malformed_yaml, ["track.yml", "malformed YAML", "line 2"]),
    "unknown-key": (unknown_key, ["track.yml", "titel", "unknown key", "allowed keys"]),
    "listed-but-missing": (listed_but_missing, ["track.yml", "mini-02-absent", "does not exist"]),
    "present-but-unlisted": (present_but_unlisted, ["mini-03-orphelin", "not listed",
                                                    "- id: mini-03-orphelin"]),
    "duplicate-grade-id": (duplicate_grade_id, ["sommes.ipynb", "[cell q1-tests]", "own ID"]),
    "solution-outside": (solution_outside_solution_cell, ["sommes.ipynb", "[cell donnees]",
                                                          "Solution region detected"]),
    "answer-without-test": (answer_without_test, ["sommes.ipynb", "[cell q2-moyenne]",
                                                  "answer cell with no test"]),
    "outputs": (notebook_with_outputs, ["sommes.ipynb", "[cell donnees]", "clear-output"]),
    "missing-data": (missing_data_file, ["mini-01-sommes", "nombres.csv", "missing"]),
}


def test_clean_catalogue_has_no_problem(mini: Path) -> None:
    """Does the untouched fixture pass, so that each defect below is the only one?"""
    catalogue, problems = check_catalogue(mini)
    assert problems == []
    assert catalogue is not None and [m.id for m in catalogue.modules()] == ["mini-01-sommes"]


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_defect_is_reported_with_file_cell_and_fix(mini: Path, defect: str) -> None:
    """Is each defect caught, with a message naming the file, the cell and the fix?"""
    mutate, words = DEFECTS[defect]
    mutate(mini)
    _, problems = check_catalogue(mini)
    assert problems, f"{defect} was not detected"
    text = "\n".join(str(p) for p in problems)
    for word in words:
        assert word in text, f"{word!r} missing from: {text}"


@pytest.mark.parametrize("defect", ["malformed-yaml", "outputs"])
def test_cli_fails_cleanly(mini: Path, defect: str) -> None:
    """Does `tadrib check` exit 1 with the message and no traceback?"""
    DEFECTS[defect][0](mini)
    result = run_tadrib("check", "--root", str(mini))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "problem(s) found" in result.output


def test_repository_catalogue_is_clean(repo: Path) -> None:
    """Does the committed catalogue pass `tadrib check` (no outputs, tests everywhere…)?"""
    result = run_tadrib("check", "--root", str(repo))
    assert result.exit_code == 0, result.output
    assert "catalogue OK" in result.output
