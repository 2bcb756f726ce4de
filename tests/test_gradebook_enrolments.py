"""The database computes the enrolments (one GROUP BY query) exactly as the pure rules do.

:func:`autograder.gradebook_enrolments.gradebook_enrolments` is the fast path of every indicator;
:func:`autograder.indicators.enrolments` over the rows read one by one is the reference. Both run on
the same gradebooks, full of edge cases, on SQLite and on PostgreSQL (127.0.0.1:5432; skipped when
no server answers, except under CI)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from autograder.catalogue import Programme, load_catalogue
from autograder.gradebook_enrolments import gradebook_enrolments
from autograder.indicators import enrolments
from autograder.nbgrader_course import GradebookRow, bulk_record
from autograder.steering import _rows_by_student
from tests.test_gradebook_rows import postgres_url  # noqa: F401 (a fixture)

TRACKS = {
    # a1 and a2 must be passed (a2 at its own mark of 50 %), a3 only submitted; a3 is also listed
    # by the bootcamp, which owns it (the last programme listing a module)
    "courses/pa/track.yml": """id: pa
title: "Parcours A"
summary: "s"
audience: "a"
pass_mark: 0.7
modules:
  - {id: a1, title: "A1", duration_minutes: 60}
  - {id: a2, title: "A2", duration_minutes: 60, pass_mark: 0.5}
  - {id: a3, title: "A3", duration_minutes: 60}
completion:
  passed: [a1, a2]
  submitted: [a3]
""",
    "bootcamps/pb/bootcamp.yml": """id: pb
title: "Bootcamp B"
summary: "s"
audience: "a"
days: 2
pass_mark: 0.6
modules:
  - {id: b1, title: "B1", duration_minutes: 60, kind: day}
  - {id: b2, title: "B2", duration_minutes: 60, kind: capstone}
completion:
  passed: [b2]
  submitted: all
""",
}
MAX_SCORES = {"a1": 10.0, "a2": 10.0, "a3": 10.0, "b1": 4.0, "b2": 4.0, "retired": 10.0}


def _programmes(root: Path) -> list[Programme]:
    for path, text in TRACKS.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return list(load_catalogue(root).programmes)


def _rows(seed: int) -> list[GradebookRow]:
    """Random trainees, each with a random subset of modules: scores right at the pass mark, just
    under, zero and full; pending manual grading; hand-ins spread over three quarters; a module no
    programme lists any more."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 8)
    rows = []
    for student in range(120):
        for module, top in MAX_SCORES.items():
            if rng.random() < 0.3:
                continue
            score = rng.choice([0.0, top, 0.7 * top, 0.5 * top, 0.6 * top, 0.7 * top - 0.1,
                                round(rng.uniform(0, top), 1)])
            rows.append(GradebookRow(f"t{student:016x}", module, score, top, rng.random() < 0.1,
                                     start + timedelta(days=rng.randint(0, 260),
                                                       minutes=rng.randint(0, 900))))
    return rows


def _compare(url: str, programmes: list[Programme]) -> None:
    fast = gradebook_enrolments(url, programmes)
    reference = list(enrolments(_rows_by_student(url), programmes))
    assert fast is not None
    assert len(reference) > 100
    assert {e.completed_at is not None for e in reference} == {True, False}
    assert fast == reference


@pytest.mark.parametrize("seed", [1, 2])
def test_sqlite_enrolments_match_the_rules(tmp_path: Path, seed: int) -> None:
    """On SQLite, does the one query give every enrolment (start, completion, active quarters) the
    pure completion rules give, in the same order?"""
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    assert bulk_record(url, "c", MAX_SCORES, _rows(seed)) > 0
    _compare(url, _programmes(tmp_path / "catalogue"))


@pytest.mark.postgres
def test_postgres_enrolments_match_the_rules(tmp_path: Path, postgres_url: str) -> None:  # noqa: F811
    """The same on PostgreSQL."""
    assert bulk_record(postgres_url, "c", MAX_SCORES, _rows(3)) > 0
    _compare(postgres_url, _programmes(tmp_path / "catalogue"))


def test_missing_gradebook_has_no_enrolment(tmp_path: Path) -> None:
    """Is a gradebook that does not exist read as empty, and left uncreated?"""
    url = f"sqlite:///{tmp_path / 'absent.db'}"
    assert gradebook_enrolments(url, _programmes(tmp_path / "catalogue")) == []
    assert not (tmp_path / "absent.db").exists()
