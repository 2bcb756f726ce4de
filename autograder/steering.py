"""``tadrib indicators`` (export), ``tadrib indicators push`` and ``tadrib indicators xapi``: the
edges around the pure indicator core. Gradebooks are read with one streamed SQL query each, the
roster gives each pseudonym its attributes, and every export and push goes into the audit log.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.audit import AuditLog, file_hash
from autograder.catalogue import Programme
from autograder.completion import Graded, completion, module_outcomes
from autograder.gradebook_enrolments import gradebook_enrolments
from autograder.indicator_files import (
    document,
    quarter_document,
    read_json,
    split_by_quarter,
    write_csv,
    write_json,
)
from autograder.indicators import (
    DIMENSIONS,
    Enrolment,
    IndicatorError,
    Quarter,
    QuarterCounts,
    count_quarter,
    enrolments,
    quarter_range,
)
from autograder.roster import EMPLOYER_TYPES, GENDERS, REGIONS, Roster
from autograder.suppression import DEFAULT_K, PublishedQuarter, publish
from autograder.workspace import Workspace
from autograder.xapi import DEFAULT_PLATFORM_IRI, Achievement, statement

if TYPE_CHECKING:
    from autograder.push import Sent

TREND_QUARTERS = 4
INDICATORS_DIR = "indicators"


@dataclass(frozen=True)
class IndicatorExport:
    quarters: tuple[PublishedQuarter, ...]
    document: dict[str, Any]
    files: tuple[Path, ...]
    unknown_trainees: int


def choose_quarters(quarter: str | None, from_: str | None, to: str | None,
                    now: datetime | None = None) -> list[Quarter]:
    """``--quarter Q`` or ``--from Q [--to Q]`` (default: the current quarter)."""
    current = Quarter.of(now or datetime.now(UTC))
    if quarter and (from_ or to):
        raise IndicatorError("give either --quarter or --from/--to, not both.")
    if to and not from_:
        raise IndicatorError("--to needs --from (the first quarter of the range).")
    if from_:
        return quarter_range(Quarter.parse(from_), Quarter.parse(to) if to else current)
    return [Quarter.parse(quarter) if quarter else current]


def export_stem(quarters: list[Quarter]) -> str:
    first, last = quarters[0], quarters[-1]
    return f"indicators-{first}" if first == last else f"indicators-{first}-{last}"


def read_results(ws: Workspace) -> Iterator[tuple[str, list[Graded]]]:
    """Each trainee's rows, gradebook by gradebook (one streamed query per distinct gradebook)."""
    for url in dict.fromkeys(ws.gradebook_url(p) for p in ws.catalogue.programmes):
        yield from _rows_by_student(url)


def _rows_by_student(url: str) -> Iterator[tuple[str, list[Graded]]]:
    from autograder.nbgrader_course import gradebook_rows

    for key, rows in groupby(gradebook_rows(url), key=attrgetter("student_id")):
        yield key, list(rows)


def read_enrolments(ws: Workspace) -> Iterator[Enrolment]:
    """Every enrolment, gradebook by gradebook: computed by the database where it is SQLite or
    PostgreSQL (one GROUP BY query), else by the pure rules over the rows (the same values)."""
    programmes = ws.catalogue.programmes
    for url in dict.fromkeys(ws.gradebook_url(p) for p in programmes):
        computed = gradebook_enrolments(url, programmes)
        yield from (computed if computed is not None
                    else enrolments(_rows_by_student(url), programmes))


def _values(ws: Workspace, roster: Roster) -> dict[str, list[str]]:
    people = roster.people().values()
    return {"track": [p.id for p in ws.catalogue.programmes],
            "cohort": sorted({p.cohort for p in people}), "region": list(REGIONS),
            "gender": list(GENDERS), "employer_type": list(EMPLOYER_TYPES)}


def counts(ws: Workspace, quarters: Iterable[Quarter],
           by: Iterable[str] = DIMENSIONS) -> tuple[list[QuarterCounts], int]:
    """Raw counts of each quarter (before suppression: never written out), and how many graded
    trainees the roster does not know."""
    dims = [d for d in DIMENSIONS if d in set(by)]
    roster = Roster.of(ws.path)
    people = roster.people()
    values = _values(ws, roster)
    all_enrolments = list(read_enrolments(ws))
    unknown = len({e.student_id for e in all_enrolments} - people.keys())
    return [count_quarter(q, all_enrolments, people, values, dims) for q in quarters], unknown


def compute(ws: Workspace, quarters: Iterable[Quarter], by: Iterable[str] = DIMENSIONS,
            k: int = DEFAULT_K) -> tuple[list[PublishedQuarter], int]:
    """Published figures of each quarter, and how many graded trainees the roster does not know."""
    raw, unknown = counts(ws, quarters, by)
    return [publish(c, k) for c in raw], unknown


def indicators(*, quarter: str | None = None, from_: str | None = None, to: str | None = None,
               by: tuple[str, ...] = DIMENSIONS, k: int = DEFAULT_K, root: Path | None = None,
               workspace: Path | None = None, db_url: str | None = None,
               now: datetime | None = None) -> IndicatorExport:
    """Count, suppress and write the indicator (CSV, JSON, French HTML) for the quarters asked."""
    from autograder.indicator_html import render, write_html

    unknown_dims = sorted(set(by) - set(DIMENSIONS))
    if unknown_dims:
        raise IndicatorError(f"unknown dimension(s) {', '.join(unknown_dims)}; "
                             f"use {', '.join(DIMENSIONS)}.")
    ws = Workspace.open(root=root, workspace=workspace, db_url=db_url, checked=False)
    asked = choose_quarters(quarter, from_, to, now)
    earlier = [asked[0]]
    while len(earlier) < TREND_QUARTERS:
        earlier.insert(0, earlier[0].previous())
    trend_quarters = sorted(set(earlier) | set(asked))
    published, unknown = compute(ws, trend_quarters, by, k)
    mine = [p for p in published if p.quarter in asked]
    doc = document(mine, now or datetime.now(UTC))
    folder = ws.path / "reports" / INDICATORS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / export_stem(asked)
    audit = AuditLog.of(ws.path)
    titles = {p.id: p.title for p in ws.catalogue.programmes}
    html = render(doc, [quarter_document(p) for p in published], titles, audit.head())
    files = (write_csv(stem.with_suffix(".csv"), doc), write_json(stem.with_suffix(".json"), doc),
             write_html(stem.with_suffix(".html"), html))
    audit.record("indicators export", {"quarters": [str(q) for q in asked], "by": list(by), "k": k},
                 {f.name: file_hash(f) for f in files})
    return IndicatorExport(tuple(mine), doc, files, unknown)


def push(*, url: str, quarter: str | None = None, from_: str | None = None, to: str | None = None,
         token: str | None = None, retries: int = 5, backoff: float = 0.5,
         workspace: Path | None = None, now: datetime | None = None) -> list[Sent]:
    """Send an export to the indicator system, quarter by quarter, with idempotency keys."""
    from autograder.push import push_documents, redact
    from autograder.workspace import default_workspace

    path = (workspace or default_workspace()).resolve()
    asked = choose_quarters(quarter, from_, to, now)
    source = path / "reports" / INDICATORS_DIR / f"{export_stem(asked)}.json"
    if not source.exists():
        options = (f"--quarter {asked[0]}" if len(asked) == 1
                   else f"--from {asked[0]} --to {asked[-1]}")
        raise IndicatorError(f"{source}: no such export; run `tadrib indicators {options}` first.")
    documents = split_by_quarter(read_json(source))
    audit = AuditLog.of(path)
    sent = push_documents(url, documents, token=token or os.environ.get("TADRIB_PUSH_TOKEN"),
                          audit_head=audit.head(), retries=retries, backoff=backoff)
    bodies = {d["quarters"][0]["quarter"]: hashlib.sha256(
        json.dumps(d, ensure_ascii=False, sort_keys=True).encode()).hexdigest() for d in documents}
    audit.record("indicators push", {"url": redact(url), "source": source.name,
                                     "keys": [s.key for s in sent],
                                     "statuses": [s.status for s in sent]}, bodies)
    return sent


def achievements(ws: Workspace, quarters: list[Quarter]) -> Iterator[Achievement]:
    """Module passes and programme completions dated within the quarters."""
    owner = {m.id: p for p in ws.catalogue.programmes for m in p.modules}
    start, end = quarters[0].start, quarters[-1].end
    for student, rows in read_results(ws):
        per: dict[str, list[Graded]] = {}
        for row in rows:
            if row.module_id in owner:
                per.setdefault(owner[row.module_id].id, []).append(row)
        for programme_id, mine in per.items():
            yield from _achievements(ws.catalogue.programme(programme_id), student, mine, start, end)


def _achievements(programme: Programme, student: str, rows: list[Graded],
                  start: datetime, end: datetime) -> Iterator[Achievement]:
    outcomes = module_outcomes(rows, programme)
    for o in outcomes:
        if o.passed_at and start <= _naive(o.passed_at) < end:
            yield Achievement("passed", student, programme.id, o.module_id,
                              programme.module(o.module_id).title, o.passed_at, o.score,
                              o.max_score)
    for row in completion(outcomes, programme):
        if row.completed_at and start <= _naive(row.completed_at) < end:
            yield Achievement("completed", student, programme.id, None, programme.title,
                              row.completed_at)


def _naive(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def xapi(*, lrs_url: str, quarter: str | None = None, from_: str | None = None,
         to: str | None = None, user: str | None = None, password: str | None = None,
         platform: str = DEFAULT_PLATFORM_IRI, root: Path | None = None,
         workspace: Path | None = None, db_url: str | None = None,
         now: datetime | None = None) -> int:
    """Send ``passed`` and ``completed`` xAPI statements (pseudonymous accounts) to an LRS."""
    from autograder.push import redact, send_statements

    ws = Workspace.open(root=root, workspace=workspace, db_url=db_url, checked=False)
    asked = choose_quarters(quarter, from_, to, now)
    statements = [statement(a, platform) for a in achievements(ws, asked)]
    count = send_statements(lrs_url, statements, user=user, password=password)
    AuditLog.of(ws.path).record(
        "xapi send", {"lrs": redact(lrs_url), "quarters": [str(q) for q in asked]},
        {"statements": _digest(sorted(s["id"] for s in statements))})
    return count


def _digest(items: list[str]) -> str:
    return hashlib.sha256("\n".join(items).encode()).hexdigest()
