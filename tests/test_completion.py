"""Completion rules, table-tested: pure functions, no I/O."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from autograder.catalogue import CompletionRule, Module, Programme
from autograder.completion import ModuleResult, completion, module_outcomes

D = datetime.fromisoformat


def _programme(rule: CompletionRule, marks: dict[str, float] | None = None) -> Programme:
    marks = marks or {"m1": 0.7, "m2": 0.7, "cap": 0.5}
    modules = tuple(Module(mid, mid, 60, mark, True, "module", (), Path(mid), "p")
                    for mid, mark in marks.items())
    return Programme("p", "track", "P", "s", "a", modules, rule, Path("."))


def _r(student: str, module: str, score: float, when: str, manual: bool = False,
       max_score: float = 10) -> ModuleResult:
    return ModuleResult(student, module, score, max_score, manual, D(when))


ALL = CompletionRule(passed=("m1", "m2"))


@pytest.mark.parametrize(("rows", "expected"), [
    # exactly at the pass mark passes
    ([_r("a", "m1", 7, "2026-07-01")], True),
    # just under does not
    ([_r("a", "m1", 6.99, "2026-07-01")], False),
    # a pass is kept after a weaker resubmission (best submission counts)
    ([_r("a", "m1", 9, "2026-07-01"), _r("a", "m1", 2, "2026-07-09")], True),
    # a failed attempt followed by a pass passes
    ([_r("a", "m1", 2, "2026-07-01"), _r("a", "m1", 8, "2026-07-09")], True),
    # full autograded points but a written answer still ungraded: not yet
    ([_r("a", "m1", 9, "2026-07-01", manual=True)], False),
    # a module with no points cannot be passed
    ([_r("a", "m1", 0, "2026-07-01", max_score=0)], False),
])
def test_module_pass(rows: list[ModuleResult], expected: bool) -> None:
    """Is a module passed exactly when the best submission reaches the pass mark?"""
    [outcome] = module_outcomes(rows, _programme(ALL))
    assert outcome.passed is expected


def test_passed_at_is_first_passing_submission() -> None:
    """Is the pass dated by the first submission that passed, not a later resubmission?"""
    rows = [_r("a", "m1", 3, "2026-07-01"), _r("a", "m1", 8, "2026-07-05"),
            _r("a", "m1", 10, "2026-08-01")]
    [outcome] = module_outcomes(rows, _programme(ALL))
    assert outcome.passed_at == D("2026-07-05")
    assert outcome.score == 10
    assert outcome.submitted_at == D("2026-08-01")


def test_track_completed_when_last_required_module_passed() -> None:
    """Is the completion date the day the last required module was passed?"""
    rows = [_r("a", "m1", 8, "2026-07-01"), _r("a", "m2", 9, "2026-09-15"),
            _r("b", "m1", 8, "2026-07-01"), _r("b", "m2", 5, "2026-07-02")]
    programme = _programme(ALL)
    done = {r.student_id: r for r in completion(module_outcomes(rows, programme), programme)}
    assert done["a"].completed and done["a"].completed_at == D("2026-09-15")
    assert not done["b"].completed and done["b"].completed_at is None
    assert (done["b"].modules_passed, done["b"].modules_required) == (1, 2)


def test_late_submission_counts_on_its_own_date() -> None:
    """Does a late pass complete the track on the late date (not before)?"""
    rows = [_r("a", "m1", 8, "2026-06-30"), _r("a", "m2", 8, "2026-10-02")]
    programme = _programme(ALL)
    [row] = completion(module_outcomes(rows, programme), programme)
    assert row.completed_at == D("2026-10-02")


def test_module_removed_from_catalogue_is_ignored() -> None:
    """Does a grade for a module no longer in the catalogue leave completion unchanged?"""
    rows = [_r("a", "m1", 8, "2026-07-01"), _r("a", "m2", 8, "2026-07-02"),
            _r("a", "old", 0, "2026-07-03")]
    programme = _programme(ALL)
    outcomes = module_outcomes(rows, programme)
    assert {o.module_id for o in outcomes} == {"m1", "m2"}
    assert completion(outcomes, programme)[0].completed


def test_bootcamp_rule_submitted_days_and_passed_capstone() -> None:
    """Does a bootcamp need every day submitted (any score) and the capstone passed?"""
    rule = CompletionRule(passed=("cap",), submitted=("m1", "m2"))
    programme = _programme(rule)
    good = [_r("a", "m1", 0, "2026-07-01"), _r("a", "m2", 1, "2026-07-02"),
            _r("a", "cap", 5, "2026-07-03")]
    missing_day = [_r("b", "m1", 10, "2026-07-01"), _r("b", "cap", 10, "2026-07-03")]
    rows = completion(module_outcomes(good + missing_day, programme), programme)
    assert [(r.student_id, r.completed) for r in rows] == [("a", True), ("b", False)]
    assert rows[0].completed_at == D("2026-07-03")


def test_exactly_at_a_pass_mark_that_floats_round_down() -> None:
    """Does 2.1 points out of 3 pass a 0.7 mark, although 0.7 * 3 is 2.0999999999999996?"""
    [outcome] = module_outcomes([_r("a", "m1", 2.1, "2026-07-01", max_score=3)],
                                _programme(ALL))
    assert outcome.passed


def test_started_at_is_the_first_submission_of_any_module() -> None:
    """Is a programme started by the first submission of any of its modules, required or not?"""
    rows = [_r("a", "cap", 1, "2026-06-20"), _r("a", "m1", 8, "2026-07-01"),
            _r("a", "m2", 8, "2026-07-03")]
    programme = _programme(ALL)
    [row] = completion(module_outcomes(rows, programme), programme)
    assert row.started_at == D("2026-06-20")
    assert row.completed_at == D("2026-07-03")


def test_required_module_removed_completes_on_the_remaining_ones() -> None:
    """When a required module leaves the rule, is the track completed by the others, dated by the
    last of them?"""
    rows = [_r("a", "m1", 8, "2026-07-01"), _r("a", "m2", 1, "2026-07-09")]
    before = _programme(ALL)
    assert not completion(module_outcomes(rows, before), before)[0].completed
    after = _programme(CompletionRule(passed=("m1",)), {"m1": 0.7})
    [row] = completion(module_outcomes(rows, after), after)
    assert row.completed and row.completed_at == D("2026-07-01")
