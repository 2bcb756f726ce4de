"""Scale-out: a PostgreSQL gradebook and a real local Dask cluster, on the real grading pipeline."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from autograder.grading import grade
from autograder.nbgrader_course import Course
from autograder.workspace import Workspace, release
from tests.test_grading import CORRECT, FAST, MODULE, NEEDS_SANDBOX, hand_in

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _postgres_or_skip() -> None:
    try:
        import psycopg

        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
    except Exception as error:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no PostgreSQL server answers on 127.0.0.1:5432 ({error})")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    _postgres_or_skip()
    import psycopg

    name = f"tadrib_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _course(mini: Path, workspace: Path, db_url: str | None = None) -> Course:
    release(root=mini, workspace=workspace, db_url=db_url)
    ws = Workspace.open(root=mini, workspace=workspace, db_url=db_url)
    return ws.course(ws.modules(MODULE)[0][0])


@NEEDS_SANDBOX
def test_postgresql_gradebook(mini: Path, tmp_path: Path, pg_url: str) -> None:
    """Does grading record the same scores in a PostgreSQL gradebook (nbgrader's db_url)?"""
    course = _course(mini, tmp_path / "ws", pg_url)
    hand_in(course, mini, "a", CORRECT)
    hand_in(course, mini, "b")
    statuses = grade(MODULE, root=mini, workspace=tmp_path / "ws", db_url=pg_url, workers=2,
                     limits=FAST)
    assert all(s.ok for s in statuses)
    assert {s.student_id: s.score for s in course.scores()} == {"a": 2.0, "b": 0.0}
    assert not (course.root / "gradebook.db").exists()
    again = grade(MODULE, root=mini, workspace=tmp_path / "ws", db_url=pg_url, limits=FAST)
    assert {s.message for s in again} == {"unchanged, kept"}


@NEEDS_SANDBOX
def test_dask_cluster(mini: Path, tmp_path: Path) -> None:
    """Does a real local Dask cluster grade the batch with the same scores (one writer here)?"""
    from distributed import LocalCluster

    course = _course(mini, tmp_path / "ws")
    hand_in(course, mini, "a", CORRECT)
    hand_in(course, mini, "b")
    hand_in(course, mini, "c", solved=True)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        statuses = grade(MODULE, root=mini, workspace=tmp_path / "ws", scheduler=cluster.scheduler_address,
                         limits=FAST)
    assert all(s.ok for s in statuses), statuses
    assert {s.student_id: s.score for s in course.scores()} == {"a": 2.0, "b": 0.0, "c": 5.0}
