"""Completion rules: pure functions from gradebook rows to outcome rows (no I/O).

* A module is **passed** when a graded submission scores at least the module's pass mark (a fraction
  of all its points) and no part still waits for manual grading. The **best** submission counts:
  a trainee who passed keeps the pass after a weaker resubmission.
* A programme (track or bootcamp) is **completed** when every module its rule lists under
  ``passed`` is passed and every module under ``submitted`` has a submission. Its completion date
  is when the last of those conditions became true.
* A trainee **started** a programme with their first submission of any of its modules.

nbgrader keeps one graded submission per trainee and module (a graded resubmission replaces the
previous one), so the rows read from a gradebook hold the latest graded submission of each module;
given several rows (a history), the best one counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol

from autograder.catalogue import Programme

PASS_EPSILON = 1e-9


class Graded(Protocol):
    """What the rules read of a graded submission (a :class:`ModuleResult`, a gradebook row…)."""

    @property
    def student_id(self) -> str: ...
    @property
    def module_id(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def max_score(self) -> float: ...
    @property
    def needs_manual_grade(self) -> bool: ...
    @property
    def submitted_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class ModuleResult:
    """One graded submission (input row)."""

    student_id: str
    module_id: str
    score: float
    max_score: float
    needs_manual_grade: bool
    submitted_at: datetime | None


class ModuleOutcome(NamedTuple):
    """A trainee's standing on one module: their best submission. (A named tuple: millions are
    made for a programme-wide indicator.)"""

    student_id: str
    module_id: str
    score: float
    max_score: float
    passed: bool
    needs_manual_grade: bool
    submitted_at: datetime | None
    passed_at: datetime | None
    first_submitted_at: datetime | None = None


@dataclass(frozen=True)
class CompletionRow:
    """A trainee's standing on one programme."""

    programme_id: str
    student_id: str
    modules_passed: int
    modules_required: int
    completed: bool
    completed_at: datetime | None
    started_at: datetime | None = None


def passes(result: Graded, pass_mark: float) -> bool:
    if result.needs_manual_grade or result.max_score <= 0:
        return False
    return result.score + PASS_EPSILON >= pass_mark * result.max_score


def module_outcomes(results: Iterable[Graded], programme: Programme) -> list[ModuleOutcome]:
    """Best submission per (trainee, module) of ``programme``; modules it no longer lists are
    ignored."""
    marks = {m.id: m.pass_mark for m in programme.modules}
    by_key: dict[tuple[str, str], list[Graded]] = {}
    for result in results:
        if result.module_id in marks:
            by_key.setdefault((result.student_id, result.module_id), []).append(result)
    return [_best(rows, marks[module]) for (_, module), rows in sorted(by_key.items())]


def _best(rows: list[Graded], pass_mark: float) -> ModuleOutcome:
    if len(rows) == 1:  # what a gradebook holds: one graded submission per trainee and module
        [only] = rows
        passed = passes(only, pass_mark)
        when = only.submitted_at
        return ModuleOutcome(only.student_id, only.module_id, only.score, only.max_score, passed,
                             only.needs_manual_grade, when, when if passed else None, when)

    def rank(r: Graded) -> tuple[bool, float, float]:
        ratio = r.score / r.max_score if r.max_score else 0.0
        return passes(r, pass_mark), ratio, -_stamp(r.submitted_at)

    best = max(rows, key=rank)
    passing = [r for r in rows if passes(r, pass_mark)]
    first_pass = min((r.submitted_at for r in passing if r.submitted_at), default=None)
    dates = [r.submitted_at for r in rows if r.submitted_at]
    return ModuleOutcome(
        student_id=best.student_id,
        module_id=best.module_id,
        score=best.score,
        max_score=best.max_score,
        passed=bool(passing),
        needs_manual_grade=any(r.needs_manual_grade for r in rows) and not passing,
        submitted_at=max(dates, default=None),
        passed_at=first_pass,
        first_submitted_at=min(dates, default=None),
    )


def _stamp(when: datetime | None) -> float:
    return when.timestamp() if when else float("inf")


def completion(outcomes: Iterable[ModuleOutcome], programme: Programme) -> list[CompletionRow]:
    """One row per trainee who submitted anything in ``programme``."""
    per_student: dict[str, dict[str, ModuleOutcome]] = {}
    for outcome in outcomes:
        per_student.setdefault(outcome.student_id, {})[outcome.module_id] = outcome
    rule = programme.completion
    rows = []
    for student, done in sorted(per_student.items()):
        passed = [done[m] for m in rule.passed if m in done and done[m].passed]
        submitted = [done[m] for m in rule.submitted if m in done]
        completed = len(passed) == len(rule.passed) and len(submitted) == len(rule.submitted)
        dates = [o.passed_at for o in passed] + [o.submitted_at for o in submitted]
        when = max((d for d in dates if d), default=None) if completed else None
        started = min((o.first_submitted_at for o in done.values() if o.first_submitted_at),
                      default=None)
        rows.append(CompletionRow(programme.id, student, len(passed), len(rule.passed),
                                  completed, when, started))
    return rows
