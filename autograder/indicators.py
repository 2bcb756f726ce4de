"""The talents-trained indicator: pure functions from gradebook rows and roster attributes to
quarterly counts (no I/O; suppression of small cells is :mod:`autograder.suppression`).

Per calendar quarter (UTC), for the whole programme and broken down by one dimension at a time:

``talents_trained``
    distinct persons who completed a track or a bootcamp during the quarter (by track: completions
    of that programme).
``starts``
    distinct persons whose first submission (in any programme; by track: in that programme) falls
    in the quarter.
``in_progress``
    distinct persons who handed in work during the quarter and had not completed by its end (and,
    at person level, completed nothing during it).
``completion_rate``
    ``talents_trained / (talents_trained + in_progress)``, in percent.

Every figure is about one quarter only: a range of quarters is reported quarter by quarter, never
as one aggregate, so that no published figure is the sum or the difference of others over time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from autograder.catalogue import Programme
from autograder.completion import Graded, completion, module_outcomes

DIMENSIONS = ("track", "cohort", "region", "gender", "employer_type")
COUNTS = ("talents_trained", "starts", "in_progress")
TOTAL = "total"
UNKNOWN = "non renseigné"
QUARTER_PATTERN = re.compile(r"^(\d{4})-?[QqTt]([1-4])$")


class IndicatorError(Exception):
    """Indicator options that cannot be used; the message says what to type instead."""


@dataclass(frozen=True, order=True, slots=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        match = QUARTER_PATTERN.match(text.strip())
        if not match:
            raise IndicatorError(f"'{text}' is not a quarter; write it like 2026Q3 (year, Q, 1-4).")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, when: datetime) -> Quarter:
        when = _utc(when)
        return cls(when.year, (when.month - 1) // 3 + 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> datetime:
        """The first instant after the quarter (exclusive bound)."""
        nxt = self.next()
        return datetime(nxt.year, 3 * nxt.number - 2, 1)

    def next(self) -> Quarter:
        return Quarter(self.year + self.number // 4, self.number % 4 + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - (self.number == 1), (self.number - 2) % 4 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def key(self) -> int:
        return self.year * 4 + self.number - 1

    @property
    def label_fr(self) -> str:
        return f"T{self.number} {self.year}"


def quarter_range(first: Quarter, last: Quarter) -> list[Quarter]:
    if last < first:
        raise IndicatorError(f"--to {last} is before --from {first}; swap them.")
    quarters = [first]
    while quarters[-1] < last:
        quarters.append(quarters[-1].next())
    return quarters


def quarter_key(when: datetime) -> int:
    """The quarter of a time as one integer (``Quarter.key``), cheap to hash millions of times."""
    if when.tzinfo:
        when = _utc(when)
    return when.year * 4 + (when.month - 1) // 3


def _utc(when: datetime) -> datetime:
    """Naive datetimes are UTC (as nbgrader stores them); aware ones are converted."""
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


@dataclass(frozen=True, slots=True)
class Person:
    """The attributes of a trainee that indicators may use; never a name, email or id number."""

    student_id: str
    cohort: str
    region: str
    gender: str
    employer_type: str


@dataclass(frozen=True, slots=True)
class Enrolment:
    """One trainee in one programme: when they started, completed, and the quarters they handed in
    work (as ``Quarter.key``). Starting and completing are hand-ins, so they fall in active quarters."""

    student_id: str
    programme_id: str
    started_at: datetime | None
    completed_at: datetime | None
    active: frozenset[int]


def enrolments(rows_by_student: Iterable[tuple[str, list[Graded]]],
               programmes: Iterable[Programme]) -> Iterator[Enrolment]:
    """Apply the completion rules to each trainee's rows; rows of modules that no programme of the
    catalogue lists any more are ignored."""
    catalogue = list(programmes)
    owner = {m.id: p for p in catalogue for m in p.modules}
    for student, rows in rows_by_student:
        per_programme: dict[str, list[Graded]] = {}
        for row in rows:
            if row.module_id in owner:
                per_programme.setdefault(owner[row.module_id].id, []).append(row)
        for programme in catalogue:
            mine = per_programme.get(programme.id)
            if mine:
                yield _enrolment(student, mine, programme)


def _enrolment(student: str, rows: list[Graded], programme: Programme) -> Enrolment:
    [row] = completion(module_outcomes(rows, programme), programme)
    active = frozenset(quarter_key(r.submitted_at) for r in rows if r.submitted_at)
    started = _utc(row.started_at) if row.started_at else None
    done = _utc(row.completed_at) if row.completed_at else None
    return Enrolment(student, programme.id, started, done, active)


@dataclass(frozen=True)
class QuarterCounts:
    """Raw counts of one quarter: ``cells[measure][dimension][value]`` and ``totals[measure]``."""

    quarter: Quarter
    cells: dict[str, dict[str, dict[str, int]]]
    totals: dict[str, int]


@dataclass(frozen=True, slots=True)
class _Window:
    """A quarter with its bounds computed once (they are compared millions of times)."""

    key: int
    start: datetime
    end: datetime


def _within(when: datetime | None, window: _Window) -> bool:
    return when is not None and window.start <= when < window.end


def count_quarter(quarter: Quarter, all_enrolments: Iterable[Enrolment],
                  people: Mapping[str, Person], values: Mapping[str, Iterable[str]],
                  dimensions: Iterable[str] = DIMENSIONS) -> QuarterCounts:
    """Counts for one quarter, every value of every dimension listed (zeros included). Only
    enrolments with work handed in during the quarter can count in it."""
    dims = list(dimensions)
    all_enrolments = list(all_enrolments)
    window = _Window(quarter.key, quarter.start, quarter.end)
    cells = {m: {d: dict.fromkeys(values[d], 0) for d in dims} for m in COUNTS}
    per_person: dict[str, list[tuple[Enrolment, list[str]]]] = {}
    for enrolment in all_enrolments:
        if window.key not in enrolment.active:
            continue
        measures = _track_measures(enrolment, window)
        per_person.setdefault(enrolment.student_id, []).append((enrolment, measures))
        if "track" in dims:
            for measure in measures:
                track = cells[measure]["track"]
                track[enrolment.programme_id] = track.get(enrolment.programme_id, 0) + 1
    totals = dict.fromkeys(COUNTS, 0)
    person_dims = [d for d in dims if d != "track"]
    all_starts = _first_starts(all_enrolments, per_person)
    for student, mine in per_person.items():
        person = people.get(student) or Person(student, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN)
        for measure in _person_measures(mine, all_starts[student], window):
            totals[measure] += 1
            for dim in person_dims:
                line = cells[measure][dim]
                value = getattr(person, dim)
                line[value] = line.get(value, 0) + 1
    return QuarterCounts(quarter, cells, totals)


def _first_starts(all_enrolments: Iterable[Enrolment],
                  active: Mapping[str, object]) -> dict[str, datetime | None]:
    """Each active person's first start over all their programmes (a person starts once)."""
    first: dict[str, datetime | None] = dict.fromkeys(active)
    for e in all_enrolments:
        if e.student_id in first and e.started_at:
            known = first[e.student_id]
            if known is None or e.started_at < known:
                first[e.student_id] = e.started_at
    return first


def _track_measures(e: Enrolment, window: _Window) -> list[str]:
    measures = []
    if _within(e.completed_at, window):
        measures.append("talents_trained")
    elif window.key in e.active and not (e.completed_at and e.completed_at < window.end):
        measures.append("in_progress")
    if _within(e.started_at, window):
        measures.append("starts")
    return measures


def _person_measures(mine: list[tuple[Enrolment, list[str]]], first: datetime | None,
                     window: _Window) -> list[str]:
    measures = []
    if any("talents_trained" in m for _, m in mine):
        measures.append("talents_trained")
    elif any("in_progress" in m for _, m in mine):
        measures.append("in_progress")
    if _within(first, window):
        measures.append("starts")
    return measures


def rate(talents: int | None, in_progress: int | None) -> float | None:
    """Completion rate in percent (one decimal), or None when a count is hidden or both are 0."""
    if talents is None or in_progress is None or talents + in_progress == 0:
        return None
    return round(100 * talents / (talents + in_progress), 1)
