"""Small-cell suppression: table-tested rules, then adversarial recovery attempts.

The attacker knows every published figure (every measure, every dimension, the totals, of one
quarter or of several) and solves linear programmes for the smallest and largest value each hidden
cell can take. They are given more than is published: that each person follows one programme only
and, across quarters, that a person starts once and stops after completing. Protection means that
each hidden cell stays anywhere in a range at least k wide.
"""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.sparse import lil_matrix

from autograder.indicators import (
    COUNTS,
    DIMENSIONS,
    Enrolment,
    Person,
    Quarter,
    QuarterCounts,
    count_quarter,
)
from autograder.suppression import PublishedQuarter, publish, suppress_line

K = 10
Q2, Q3 = Quarter(2026, 2), Quarter(2026, 3)
PATTERNS = (frozenset({"talents_trained"}), frozenset({"starts"}), frozenset({"in_progress"}),
            frozenset({"talents_trained", "starts"}), frozenset({"starts", "in_progress"}))


@pytest.mark.parametrize(("cells", "total", "expected", "expected_total"), [
    # nothing small: all published
    ({"a": 12, "b": 30}, 42, {"a": 12, "b": 30}, 42),
    # one small cell: the smallest other is hidden with it
    ({"a": 3, "b": 12, "c": 40}, 55, {"a": None, "b": None, "c": 40}, 55),
    # two small cells adding up to less than k: a third is hidden
    ({"a": 2, "b": 3, "c": 11, "d": 40}, 56, {"a": None, "b": None, "c": None, "d": 40}, 56),
    # zeros stay published and are never used as complements
    ({"a": 0, "b": 4, "c": 0, "d": 25}, 29, {"a": 0, "b": None, "c": 0, "d": None}, 29),
    # exactly k is published
    ({"a": 10, "b": 10}, 20, {"a": 10, "b": 10}, 20),
    # a small total hides the whole line
    ({"a": 4, "b": 5}, 9, {"a": None, "b": None}, None),
    # nobody: zeros everywhere are published
    ({"a": 0, "b": 0}, 0, {"a": 0, "b": 0}, 0),
])
def test_suppress_line(cells: dict[str, int], total: int, expected: dict[str, int | None],
                       expected_total: int | None) -> None:
    """Are small cells hidden, with complements until two are hidden adding up to at least k?"""
    assert suppress_line(cells, total, K) == (expected, expected_total)


# -- a synthetic programme, counted by the real (pure) indicator code -----------------------------


VALUES = {"track": ["ta", "tb"], "cohort": ["c1", "c2"], "region": ["r1", "r2", "r3", "r4"],
          "gender": ["F", "M"], "employer_type": ["ministry", "agency", "startup"]}


def synthetic(seed: int, size: int = 260) -> tuple[dict[str, Person], list[Enrolment]]:
    """Skewed attributes (some rare values), one programme per person, dates over Q2 and Q3."""
    rng = random.Random(seed)
    people, enrolled = {}, []
    for i in range(size):
        sid = f"p{i}"
        people[sid] = Person(sid, rng.choices(VALUES["cohort"], (5, 1))[0],
                             rng.choices(VALUES["region"], (12, 6, 2, 1))[0],
                             rng.choice(VALUES["gender"]),
                             rng.choices(VALUES["employer_type"], (8, 3, 1))[0])
        start = datetime(2026, 4, 1) + timedelta(days=rng.randint(0, 170))
        end = start + timedelta(days=rng.randint(10, 120)) if rng.random() < 0.5 else None
        active = {Quarter.of(start).key} | ({Quarter.of(end).key} if end else set())
        if end is None and rng.random() < 0.5:
            active.add(Q3.key)
        enrolled.append(Enrolment(sid, rng.choices(VALUES["track"], (4, 1))[0], start, end,
                                  frozenset(active)))
    return people, enrolled


def counts_of(quarter: Quarter, people: dict[str, Person],
              enrolled: list[Enrolment]) -> QuarterCounts:
    return count_quarter(quarter, enrolled, people, VALUES)


def primary_only(counts: QuarterCounts) -> PublishedQuarter:
    """The naive rule the module must beat: hide small cells and nothing else."""
    hide = {m: {d: {v: None if 0 < n < K else n for v, n in line.items()}
                for d, line in counts.cells[m].items()} for m in COUNTS}
    return PublishedQuarter(counts.quarter, K, dict(counts.totals), hide)  # type: ignore[arg-type]


# -- the attacker ---------------------------------------------------------------------------------


Combo = tuple[str, ...]


def _combos() -> list[Combo]:
    return list(itertools.product(*(VALUES[d] for d in DIMENSIONS)))


def attack(published: list[PublishedQuarter],
           patterns: list[tuple[frozenset[str], ...]]) -> dict[tuple[int, str, str, str],
                                                            tuple[float, float]]:
    """For each hidden (quarter index, measure, dimension, value): the attacker's (min, max)."""
    combos = _combos()
    variables = [(c, p) for c in combos for p in patterns]
    rows: list[tuple[list[int], float]] = []
    hidden: dict[tuple[int, str, str, str], list[int]] = {}
    for qi, pub in enumerate(published):
        for measure in COUNTS:
            members = [i for i, (_, p) in enumerate(variables) if measure in p[qi]]
            if pub.totals[measure] is not None:
                rows.append((members, float(pub.totals[measure] or 0)))
            for di, dim in enumerate(DIMENSIONS):
                for value, n in pub.cells[measure][dim].items():
                    cell = [i for i in members if variables[i][0][di] == value]
                    if n is None:
                        hidden[(qi, measure, dim, value)] = cell
                    else:
                        rows.append((cell, float(n)))
    matrix = lil_matrix((len(rows), len(variables)))
    for r, (members, _) in enumerate(rows):
        for i in members:
            matrix[r, i] = 1.0
    rhs = np.array([b for _, b in rows])
    ranges = {}
    for key, cell in hidden.items():
        objective = np.zeros(len(variables))
        objective[cell] = 1.0
        low = linprog(objective, A_eq=matrix.tocsr(), b_eq=rhs, bounds=(0, None), method="highs")
        high = linprog(-objective, A_eq=matrix.tocsr(), b_eq=rhs, bounds=(0, None), method="highs")
        assert low.status == 0 and high.status == 0, (low.message, high.message)
        ranges[key] = (low.fun, -high.fun)
    return ranges


def one_quarter_patterns() -> list[tuple[frozenset[str], ...]]:
    return [(p,) for p in PATTERNS]


def two_quarter_patterns() -> list[tuple[frozenset[str], ...]]:
    """What one person can do over Q2 then Q3 in one programme: start once, nothing after
    completing, no start after having been in progress."""
    options = [frozenset(), *PATTERNS]
    joint = []
    for first, second in itertools.product(options, options):
        if not first and not second:
            continue
        if "starts" in first and "starts" in second:
            continue
        if "talents_trained" in first and second:
            continue
        if "in_progress" in first and "starts" in second:
            continue
        joint.append((first, second))
    return joint


def true_value(counts: list[QuarterCounts], key: tuple[int, str, str, str]) -> int:
    qi, measure, dim, value = key
    return counts[qi].cells[measure][dim][value]


def assert_protected(ranges: dict[tuple[int, str, str, str], tuple[float, float]],
                     counts: list[QuarterCounts]) -> None:
    assert ranges, "the data must give hidden cells to attack"
    for key, (low, high) in ranges.items():
        truth = true_value(counts, key)
        assert low - 1e-6 <= truth <= high + 1e-6, key
        assert high - low >= K - 1e-6, f"{key}: hidden {truth} narrowed to [{low:g}, {high:g}]"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_hidden_cell_recoverable_within_a_quarter(seed: int) -> None:
    """Can an attacker with every published figure of a quarter pin down any hidden cell?"""
    people, enrolled = synthetic(seed)
    counts = [counts_of(Q3, people, enrolled)]
    published = [publish(counts[0], K)]
    assert published[0].hidden > 0
    assert_protected(attack(published, one_quarter_patterns()), counts)


@pytest.mark.parametrize("seed", [1, 2])
def test_no_hidden_cell_recoverable_across_two_quarters(seed: int) -> None:
    """Does putting two quarters' figures side by side (their differences included) reveal
    anything hidden in either?"""
    people, enrolled = synthetic(seed)
    counts = [counts_of(Q2, people, enrolled), counts_of(Q3, people, enrolled)]
    published = [publish(c, K) for c in counts]
    assert_protected(attack(published, two_quarter_patterns()), counts)


def test_primary_suppression_alone_is_broken_by_the_same_attack() -> None:
    """Would the attacker recover hidden cells if only small cells were hidden (no complements)?
    (The attack has teeth.)"""
    people, enrolled = synthetic(1)
    counts = [counts_of(Q3, people, enrolled)]
    ranges = attack([primary_only(counts[0])], one_quarter_patterns())
    exact = [key for key, (low, high) in ranges.items() if high - low < 0.5]
    assert exact
    assert all(abs(ranges[key][0] - true_value(counts, key)) < 1e-6 for key in exact)


def test_a_quarter_is_the_same_alone_and_in_a_range() -> None:
    """Is a quarter published identically whatever else is asked with it (so ranges add nothing)?"""
    people, enrolled = synthetic(4)
    alone = publish(counts_of(Q3, people, enrolled), K)
    again = [publish(counts_of(q, people, enrolled), K) for q in (Q2, Q3)][1]
    assert alone == again


def test_every_line_hides_two_cells_adding_up_to_k() -> None:
    """In every published line with a hidden cell, are at least two cells hidden, adding up to at
    least k (or is the whole measure hidden)?"""
    people, enrolled = synthetic(5)
    for quarter in (Q2, Q3):
        counts = counts_of(quarter, people, enrolled)
        published = publish(counts, K)
        for measure in COUNTS:
            for dim in DIMENSIONS:
                line = published.cells[measure][dim]
                hidden = [v for v, n in line.items() if n is None]
                if hidden and published.totals[measure] is not None:
                    assert len(hidden) >= 2
                    assert sum(counts.cells[measure][dim][v] for v in hidden) >= K
