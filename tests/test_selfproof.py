"""Every module of the catalogue proves itself (real nbgrader, real kernels).

Parametrised over the catalogue: a new module is covered without new test code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.catalogue import Module, load_catalogue
from autograder.selfproof import prove

REPO = Path(__file__).resolve().parents[1]
MODULES = {m.id: m for m in load_catalogue(REPO).modules()}


@pytest.mark.slow
@pytest.mark.parametrize("module_id", sorted(MODULES))
@pytest.mark.usefixtures("mistral_endpoint")
def test_module_proves_itself(module_id: str, tmp_path: Path) -> None:
    """Does the source score full marks, the release 0, and the first answer alone in between?"""
    module: Module = MODULES[module_id]
    proof = prove(module, workdir=tmp_path)
    assert proof.max_points > 0
    assert set(proof.scores) == {"source", "release", "partial"}, proof.errors
    assert proof.scores["source"] == proof.max_points, proof.problems
    assert proof.scores["release"] == 0, proof.problems
    assert 0 < proof.scores["partial"] < proof.max_points, proof.problems
    assert proof.ok


def test_broken_module_is_caught(repo: Path, mini: Path) -> None:
    """Does the proof fail when a public test rejects the instructor's own solution?"""
    notebook = mini / "courses/mini-track/mini-01-sommes/sommes.ipynb"
    text = notebook.read_text(encoding="utf-8")
    notebook.write_text(text.replace("somme([1, 2]) == 3", "somme([1, 2]) == 4"), encoding="utf-8")
    module = load_catalogue(mini).modules()[0]
    proof = prove(module, workdir=mini)
    assert not proof.ok
    assert any("instructor's own solution" in p for p in proof.problems)


def test_answer_passing_without_work_is_caught(mini: Path) -> None:
    """Does the proof fail when a test passes on the blank student version?"""
    notebook = mini / "courses/mini-track/mini-01-sommes/sommes.ipynb"
    text = notebook.read_text(encoding="utf-8")
    weak = text.replace('assert abs(moyenne([1, 3]) - 2) < 1e-9', 'assert True')
    weak = weak.replace('assert abs(moyenne(valeurs) - 2.5) < 1e-9', 'pass')
    notebook.write_text(weak, encoding="utf-8")
    proof = prove(load_catalogue(mini).modules()[0], workdir=mini)
    assert any("not 0" in p for p in proof.problems), proof
