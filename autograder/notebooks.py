"""Reading nbgrader source notebooks as plain data: which cell is what, and what the answers are.

nbgrader's own metadata rules apply (``cell.metadata.nbgrader``); the region markers are nbgrader's
defaults (``### BEGIN SOLUTION`` / ``### END SOLUTION``, ``### BEGIN HIDDEN TESTS`` /
``### END HIDDEN TESTS``). Everything here is pure: notebooks in, notebooks or strings out.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)


class NotebookError(Exception):
    """A notebook that cannot be read; the message names the file and the fix."""


def read(path: Path) -> NotebookNode:
    try:
        notebook: NotebookNode = nbformat.read(path, as_version=4)
        return notebook
    except Exception as error:  # nbformat raises many kinds (JSON, validation, encoding)
        raise NotebookError(
            f"{path}: not a readable Jupyter notebook ({type(error).__name__}: {error}); "
            "re-save it from JupyterLab."
        ) from None


def nbgrader_meta(cell: NotebookNode) -> dict[str, Any]:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return dict(meta) if isinstance(meta, dict) else {}


def is_solution(cell: NotebookNode) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_grade(cell: NotebookNode) -> bool:
    return bool(nbgrader_meta(cell).get("grade"))


def is_autograded_answer(cell: NotebookNode) -> bool:
    """A code cell the trainee fills in, graded by the test cells after it."""
    return cell.cell_type == "code" and is_solution(cell) and not is_grade(cell)


def is_autograder_test(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)


def grade_id(cell: NotebookNode) -> str | None:
    value = nbgrader_meta(cell).get("grade_id")
    return str(value) if value is not None else None


def _between(lines: list[str], begin: str, end: str) -> Iterator[tuple[bool, str]]:
    """Yield (inside_region, line) for each line, markers excluded."""
    inside = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(begin):
            inside = True
        elif stripped.startswith(end):
            inside = False
        else:
            yield inside, line


def solution_text(cell: NotebookNode) -> str:
    """The answer as a trainee would type it: the source without the solution markers.

    A code cell keeps the lines around the region (a ``def`` line, a docstring) and the region's
    content; a markdown answer keeps its text.
    """
    lines = cell.source.splitlines()
    return "\n".join(line for _, line in _between(lines, BEGIN_SOLUTION, END_SOLUTION))


def _split_lines(cell: NotebookNode) -> tuple[list[str], list[str]]:
    """(visible, secret) lines of a cell: what a trainee receives, and what only instructors see."""
    lines = cell.source.splitlines()
    if is_solution(cell) and (cell.cell_type == "markdown" or BEGIN_SOLUTION not in cell.source):
        return [], lines
    visible: list[str] = []
    secret: list[str] = []
    for begin, end in ((BEGIN_SOLUTION, END_SOLUTION), (BEGIN_HIDDEN, END_HIDDEN)):
        if begin in cell.source:
            for inside, line in _between(lines, begin, end):
                (secret if inside else visible).append(line)
            return visible, secret
    return lines, []


def secret_lines(cell: NotebookNode) -> list[str]:
    """Lines that must never reach a trainee: solution regions, written answers, hidden tests."""
    return _split_lines(cell)[1]


def visible_lines(cell: NotebookNode) -> list[str]:
    """Lines a trainee receives as they are."""
    return _split_lines(cell)[0]


@dataclass(frozen=True)
class Answer:
    """One answer cell of a source notebook and its solution text."""

    grade_id: str
    cell_type: str
    text: str


def answers(source: NotebookNode) -> list[Answer]:
    """The answer cells of a source notebook (code and written), in order."""
    return [
        Answer(grade_id(cell) or "", cell.cell_type, solution_text(cell))
        for cell in source.cells
        if is_solution(cell)
    ]


def fill_answers(release: NotebookNode, source: NotebookNode, grade_ids: Iterable[str]) -> NotebookNode:
    """A copy of the student release with the named answers filled from the source solutions.

    This is how a trainee who answered those questions correctly hands the notebook back.
    """
    wanted = set(grade_ids)
    solutions = {a.grade_id: a.text for a in answers(source) if a.grade_id in wanted}
    missing = wanted - solutions.keys()
    if missing:
        raise NotebookError(f"no answer cell with grade id {', '.join(sorted(missing))}")
    filled = copy.deepcopy(release)
    for cell in filled.cells:
        gid = grade_id(cell)
        if is_solution(cell) and gid in solutions:
            cell.source = solutions[gid]
    return filled
