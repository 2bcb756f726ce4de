"""The fast path: one SQL query over nbgrader's tables gives the same scores as nbgrader's own ORM,
on SQLite and on PostgreSQL (127.0.0.1:5432; skipped when no server answers, except under CI)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from autograder.nbgrader_course import Course, GradebookRow, bulk_record, gradebook_rows
from autograder.steering import indicators
from tests.fixtures_indicators import MAX_SCORE, TRACKS, completes, make_world

PG_ADMIN = "postgresql://root@127.0.0.1:5432/postgres"


def _rows() -> list[GradebookRow]:
    start = datetime(2026, 7, 1, 9)
    return [GradebookRow(f"t{s:016x}", f"m{m}", float((s * m) % 11), 10.0, s % 5 == 0,
                         start + timedelta(hours=s + m))
            for s in range(40) for m in range(3)]


def _key(row: object) -> tuple[object, ...]:
    return tuple(getattr(row, f) for f in ("student_id", "module_id", "score", "max_score",
                                           "needs_manual_grade"))


def test_fast_rows_match_nbgrader_orm(tmp_path: Path) -> None:
    """Does the one-query read give, submission by submission, nbgrader's own score, maximum,
    manual-grading flag and timestamp, ordered by trainee?"""
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    assert bulk_record(url, "c", {"m0": 10.0, "m1": 10.0, "m2": 10.0}, _rows()) == 120
    fast = list(gradebook_rows(url))
    orm = Course(tmp_path, "c").scores()
    assert sorted(map(_key, fast)) == sorted(map(_key, orm)) == sorted(map(_key, _rows()))
    assert sorted((r.student_id, r.submitted_at) for r in fast) == sorted(
        (r.student_id, r.timestamp) for r in orm)
    assert [r.student_id for r in fast] == sorted(r.student_id for r in fast)
    assert list(gradebook_rows(f"sqlite:///{tmp_path / 'absent.db'}")) == []
    assert not (tmp_path / "absent.db").exists()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    name = f"tadrib_test_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no PostgreSQL server at 127.0.0.1:5432 ({error})")
    with admin:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            yield f"postgresql://root@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.postgres
def test_postgres_gradebook_gives_the_same_indicator(tmp_path: Path, postgres_url: str) -> None:
    """On one PostgreSQL gradebook shared by every course, are the rows and the quarter's
    indicator the same as on the per-course SQLite gradebooks?"""
    assert bulk_record(postgres_url, "c", {"m0": 10.0, "m1": 10.0, "m2": 10.0}, _rows()) == 120
    assert sorted(map(_key, gradebook_rows(postgres_url))) == sorted(map(_key, _rows()))
    world = make_world(tmp_path / "sqlite", 40)
    rows = [r for t in world.trainees[:25] for r in completes(t, datetime(2026, 7, 3))]
    world.record(rows)
    on_sqlite = indicators(quarter="2026Q3", root=world.root, workspace=world.workspace,
                           db_url="").document["quarters"]
    ids = world.ids
    for track in ("track-a", "track-b"):
        modules = TRACKS[track][2]
        bulk_record(postgres_url, track, dict.fromkeys(modules, MAX_SCORE),
                    [GradebookRow(ids[n], m, s, MAX_SCORE, False, w) for n, m, s, w in rows
                     if m in modules])
    on_postgres = indicators(quarter="2026Q3", root=world.root, workspace=world.workspace,
                             db_url=postgres_url).document["quarters"]
    assert on_postgres == on_sqlite
    assert on_sqlite[0]["total"]["talents_trained"] == 25
