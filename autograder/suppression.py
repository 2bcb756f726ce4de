"""Small-cell suppression of the quarterly counts (pure).

Each published line is one measure broken down by one dimension, with the quarter's total of that
measure beside it. The rules, applied line by line with threshold ``k`` (default 10):

1. **Primary**: a count from 1 to k-1 is hidden. A total from 1 to k-1 hides the whole measure.
2. **Complementary**: in a line with a hidden cell, more cells are hidden, smallest first, until at
   least two are hidden *and* the hidden cells add up to at least k. Zeros stay published.

Why nothing hidden can be recovered. The cells of a line split the same persons as the total, so
all one learns about the hidden cells of a line is their sum S (total minus the published cells).
Moving persons from one hidden cell to another, keeping every other attribute, changes no published
figure of any line (other dimensions, other measures, the total): every split of S among the hidden
cells is consistent with everything published, so each hidden cell can be anything from 0 to S, and
S >= k. Across quarters: every figure counts events of its own quarter, and a range of quarters is
published quarter by quarter with the same rules (never as one aggregate), so no figure of one
quarter is a sum or a difference of figures of others. The completion rate is derived from two
published counts and hidden with either of them. ``tests/test_suppression.py`` attacks published
reports with linear programming to check it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from autograder.indicators import COUNTS, Quarter, QuarterCounts, rate

DEFAULT_K = 10


@dataclass(frozen=True)
class PublishedQuarter:
    """What may leave the workspace for one quarter: counts, or None where hidden."""

    quarter: Quarter
    k: int
    totals: dict[str, int | None]
    cells: dict[str, dict[str, dict[str, int | None]]]

    def rate(self, dimension: str | None = None, value: str | None = None) -> float | None:
        if dimension is None or value is None:
            return rate(self.totals["talents_trained"], self.totals["in_progress"])
        return rate(self.cells["talents_trained"][dimension].get(value),
                    self.cells["in_progress"][dimension].get(value))

    @property
    def hidden(self) -> int:
        return sum(v is None for m in self.cells.values() for d in m.values() for v in d.values())


def suppress_line(cells: Mapping[str, int], total: int,
                  k: int = DEFAULT_K) -> tuple[dict[str, int | None], int | None]:
    """One line: (cells with hidden ones as None, total or None)."""
    if 0 < total < k:
        return dict.fromkeys(cells), None
    hidden = {name for name, value in cells.items() if 0 < value < k}
    if hidden:
        spare = sorted((value, name) for name, value in cells.items()
                       if name not in hidden and value > 0)
        while len(hidden) < 2 or sum(cells[name] for name in hidden) < k:
            if not spare:  # cannot protect the line: hide all of it
                return dict.fromkeys(cells), None
            hidden.add(spare.pop(0)[1])
    return {name: None if name in hidden else value for name, value in cells.items()}, total


def publish(counts: QuarterCounts, k: int = DEFAULT_K) -> PublishedQuarter:
    """Suppress every line of a quarter."""
    if k < 2:
        raise ValueError(f"k = {k}: the suppression threshold must be at least 2")
    totals: dict[str, int | None] = {}
    cells: dict[str, dict[str, dict[str, int | None]]] = {}
    for measure in COUNTS:
        total = counts.totals[measure]
        cells[measure] = {}
        published_total: int | None = total
        for dimension, line in counts.cells[measure].items():
            cells[measure][dimension], line_total = suppress_line(line, total, k)
            if line_total is None:
                published_total = None
        if published_total is None:  # a line that could not be protected hides the measure
            cells[measure] = {d: dict.fromkeys(line) for d, line in cells[measure].items()}
        totals[measure] = published_total
    return PublishedQuarter(counts.quarter, k, totals, cells)
