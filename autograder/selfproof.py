"""Every exercise proves itself: ``tadrib prove``.

In a throw-away nbgrader course, a module is released and three trainees hand it back:

* ``source``  — the instructor's version with its solutions: must score full autograded marks;
* ``release`` — the student version untouched: must score 0 and not crash the grader;
* ``partial`` — the student version with only the module's first answer filled in (first answer
  cell of the first notebook): must score strictly between.

Manually graded answers are left out of the sums: only autograded points are compared.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import nbformat

from autograder import notebooks as nbs
from autograder.catalogue import Module
from autograder.nbgrader_course import Course, write_timestamp

VERSIONS = ("source", "release", "partial")


@dataclass(frozen=True)
class Proof:
    module_id: str
    max_points: float
    scores: dict[str, float]
    errors: dict[str, str]

    @property
    def problems(self) -> list[str]:
        found = [f"{version}: grading failed: {error}" for version, error in self.errors.items()]
        source, release, partial = (self.scores.get(v) for v in VERSIONS)
        if source is not None and abs(source - self.max_points) > 1e-9:
            found.append(f"source scores {source} of {self.max_points} autograded points; a test "
                         "fails on the instructor's own solution")
        if release is not None and release != 0:
            found.append(f"student release scores {release}, not 0; a test passes without an "
                         "answer")
        if partial is not None and not 0 < partial < self.max_points:
            found.append(f"first answer alone scores {partial} of {self.max_points}; it must score "
                         "strictly between 0 and full marks (are the questions independent?)")
        return found

    @property
    def ok(self) -> bool:
        return not self.problems


def prove(module: Module, *, workdir: Path | None = None) -> Proof:
    """Release ``module`` in a temporary course and grade the three versions."""
    base = Path(tempfile.mkdtemp(prefix=f"prove-{module.id}-", dir=workdir))
    try:
        course = Course(base / "course", f"prove-{module.id}")
        released = course.release(module)
        if not released.success:
            return Proof(module.id, 0.0, {}, {"release": released.error.strip().splitlines()[-1]})
        errors = {}
        for version in VERSIONS:
            _hand_in(course, module, version)
            result = course.autograde(module.id, version, force=True)
            if not result.success:
                errors[version] = (result.error or result.log).strip().splitlines()[-1]
        totals = course.autograded_scores(module.id)
        maximum = max((m for _, m in totals.values()), default=0.0)
        return Proof(module.id, maximum, {v: s for v, (s, _) in totals.items()}, errors)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _hand_in(course: Course, module: Module, version: str) -> None:
    release_dir = course.release_dir(module.id)
    dest = course.submitted_dir(version, module.id)
    shutil.copytree(release_dir, dest, dirs_exist_ok=True)
    for index, path in enumerate(sorted(release_dir.glob("*.ipynb"))):
        source = nbs.read(module.folder / path.name)
        if version == "source":
            nbformat.write(source, dest / path.name)
        elif version == "partial" and index == 0:
            first = [a.grade_id for a in nbs.answers(source)][:1]
            nbformat.write(nbs.fill_answers(nbs.read(path), source, first), dest / path.name)
    write_timestamp(dest, datetime.now(UTC))
