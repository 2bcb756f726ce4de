"""Enrolments computed by the gradebook's database: the completion rules of
:mod:`autograder.completion` and :func:`autograder.indicators.enrolments`, evaluated with one
GROUP BY query over nbgrader's tables on SQLite or PostgreSQL.

The pure functions stay the reference (``tests/test_gradebook_enrolments.py`` checks that both
give the same enrolments on gradebooks full of edge cases). This path exists for speed: a
programme-wide indicator reads millions of graded submissions, and summing them where they lie
returns one row per trainee and programme instead of one Python object per submission. It uses
the database drivers (``sqlite3``, ``psycopg``) without SQLAlchemy and without importing nbgrader
(whose import alone loads its Jupyter server extensions), so it reads nbgrader's schema by table
and column name: ``tests/test_gradebook_rows.py`` compares the same score expressions with
nbgrader's own ORM. Other databases return None and take the pure path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from autograder.catalogue import Programme
from autograder.completion import PASS_EPSILON
from autograder.indicators import Enrolment

GRADEBOOK_FILE = "gradebook.db"
SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://", "postgresql+psycopg://",
                     "postgresql+psycopg2://")

# nbgrader's Grade.score, Assignment.max_score and needs_manual_grade (nbgrader/api.py), per
# submission; each submission judged against its module's pass mark (the one outcome of that
# trainee and module, see below); then completion.completion per (trainee, programme).
_QUERY = """
WITH catalogue(module, programme, position, mark, need_pass, need_submit) AS (VALUES {values}),
maxima AS MATERIALIZED (
  SELECT a.id AS assignment, a.name AS module,
    (SELECT coalesce(sum(gc.max_score), 0.0) FROM base_cell b
       JOIN grade_cells gc ON b.id = gc.id JOIN notebook n ON b.notebook_id = n.id
     WHERE n.assignment_id = a.id)
    + (SELECT coalesce(sum(tc.max_score), 0.0) FROM base_cell b
       JOIN task_cells tc ON b.id = tc.id JOIN notebook n ON b.notebook_id = n.id
     WHERE n.assignment_id = a.id) AS top
  FROM assignment a WHERE a.name IN (SELECT module FROM catalogue)),
submission AS (
  SELECT sa.student_id AS student, sa.assignment_id AS assignment, sa.timestamp AS ts,
    sum(CASE WHEN g.manual_score IS NOT NULL
             THEN g.manual_score + CASE WHEN g.extra_credit IS NOT NULL THEN g.extra_credit
                                       ELSE 0.0 END
             WHEN g.auto_score IS NOT NULL
             THEN g.auto_score + CASE WHEN g.extra_credit IS NOT NULL THEN g.extra_credit
                                     ELSE 0.0 END
             ELSE 0.0 END) AS score,
    max(CASE WHEN g.needs_manual_grade THEN 1 ELSE 0 END) AS manual
  FROM grade g
    {join} submitted_notebook sn ON sn.id = g.notebook_id
    {join} submitted_assignment sa ON sa.id = sn.assignment_id
  GROUP BY sa.id),  -- student_id, assignment_id and timestamp depend on the primary key
-- kept apart from maxima: built from that materialized table, it is the one SQLite indexes on the
-- fly for the lookup of each submission's module (one CTE with both lost that index)
modules AS MATERIALIZED (
  SELECT m.assignment, m.module, m.top, c.programme, c.position, c.mark, c.need_pass, c.need_submit
  FROM maxima m JOIN catalogue c ON c.module = m.module),
judged AS (
  SELECT s.student, x.module, s.ts, x.programme, x.position, x.need_pass, x.need_submit,
    CASE WHEN s.manual = 0 AND x.top > 0 AND s.score + {epsilon} >= x.mark * x.top
         THEN 1 ELSE 0 END AS pass
  FROM submission s {join} modules x ON x.assignment = s.assignment)
-- nbgrader's gradebook holds at most one submission per trainee and assignment (unique
-- (assignment_id, student_id); assignment names are unique), so each row of judged is the one
-- outcome of a (trainee, module) and completion.module_outcomes' "best submission" is that row
SELECT student, programme, min(ts),
  sum(CASE WHEN pass = 1 THEN need_pass ELSE 0 END), sum(need_submit),
  max(CASE WHEN pass = 1 AND need_pass > 0 THEN ts END),
  max(CASE WHEN need_submit > 0 THEN ts END),
  {quarters_of_rows}
FROM judged GROUP BY student, programme, position ORDER BY student, position
"""

_DIALECT = {
    "sqlite": {
        "quarters_of_rows": "group_concat(DISTINCT CAST(substr(ts, 1, 4) AS INTEGER) * 4"
                            " + (CAST(substr(ts, 6, 2) AS INTEGER) - 1) / 3)",
        "values": "(?, ?, ?, ?, ?, ?)",
        # CROSS JOIN fixes SQLite's join order: one scan of grade, each row's notebook and
        # submission found by primary key (left free, it scanned grade once per module); then
        # each submission's module looked up in the small table of modules (an automatic index),
        # not the submissions indexed for each module
        "join": "CROSS JOIN",
    },
    "postgresql": {
        "quarters_of_rows": "string_agg(DISTINCT (CAST(EXTRACT(YEAR FROM ts) AS INTEGER) * 4"
                            " + (CAST(EXTRACT(MONTH FROM ts) AS INTEGER) - 1) / 3)::text, ',')",
        "join": "JOIN",
        "values": "(%s::text, %s::text, %s::integer, %s::float8, %s::integer, %s::integer)",
    },
}

# One big read: sorts in memory, a large page cache and memory-mapped reads (SQLite); more
# memory per sort and hash, UTC for any timestamp with a time zone (PostgreSQL). For this
# connection only.
_SETTINGS = {
    "sqlite": ("PRAGMA temp_store = MEMORY", "PRAGMA cache_size = -262144",
               "PRAGMA mmap_size = 1073741824", "PRAGMA threads = 2"),
    "postgresql": ("SET work_mem = '256MB'", "SET TIME ZONE 'UTC'"),
}


def course_gradebook_url(course_root: Path, db_url: str | None) -> str:
    """A course's gradebook: ``db_url`` when one is set for every course, else the SQLite file
    ``gradebook.db`` in the course directory (nbgrader's default)."""
    return db_url or f"{SQLITE_PREFIX}{course_root / GRADEBOOK_FILE}"


def dialect_of(db_url: str) -> str | None:
    """``sqlite`` or ``postgresql`` when this path can read the gradebook at ``db_url``."""
    if db_url.startswith(SQLITE_PREFIX) and db_url != SQLITE_PREFIX + ":memory:":
        return "sqlite"
    if db_url.startswith(POSTGRES_PREFIXES):
        return "postgresql"
    return None


def gradebook_enrolments(db_url: str, programmes: Sequence[Programme]) -> list[Enrolment] | None:
    """Every enrolment the gradebook at ``db_url`` holds, as
    ``enrolments(read rows, programmes)`` gives them (same values, same order), or None when the
    database is not SQLite or PostgreSQL. A gradebook that does not exist yet has none; nothing is
    created or written."""
    dialect = dialect_of(db_url)
    if dialect is None:
        return None
    catalogue = _catalogue_rows(programmes)
    if not catalogue:
        return []
    required = {p.id: (len(p.completion.passed), len(p.completion.submitted)) for p in programmes}
    with _connection(db_url, dialect) as cursor:
        if cursor is None:
            return []
        for setting in _SETTINGS[dialect]:
            cursor.execute(setting)
        cursor.execute(_statement(dialect, len(catalogue)),
                       [value for row in catalogue for value in row])
        return [_enrolment(row, required) for row in cursor.fetchall()]


def _catalogue_rows(programmes: Sequence[Programme]) -> list[tuple[str, str, int, float, int, int]]:
    """(module, owner programme, its position, pass mark, times the rule lists it under
    ``passed``, under ``submitted``): the owner is the last programme listing the module, as in
    :func:`autograder.indicators.enrolments`."""
    owner: dict[str, tuple[int, Programme]] = {}
    for position, programme in enumerate(programmes):
        for module in programme.modules:
            owner[module.id] = (position, programme)
    rows = []
    for module_id, (position, programme) in owner.items():
        marks = {m.id: m.pass_mark for m in programme.modules}
        rule = programme.completion
        rows.append((module_id, programme.id, position, float(marks[module_id]),
                     rule.passed.count(module_id), rule.submitted.count(module_id)))
    return rows


def _statement(dialect: str, modules: int) -> str:
    words = dict(_DIALECT[dialect])
    values = ", ".join([words.pop("values")] * modules)
    return _QUERY.format(values=values, epsilon=repr(PASS_EPSILON), **words)


@contextmanager
def _connection(db_url: str, dialect: str) -> Iterator[Any]:
    """A cursor on the gradebook, or None when it does not exist (no tables, no file)."""
    if dialect == "sqlite":
        path = Path(db_url.removeprefix(SQLITE_PREFIX))
        if not path.is_file():
            yield None
            return
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as db, closing(db.cursor()) as cursor:
            found = cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                   "name = 'submitted_assignment'").fetchone()
            yield cursor if found else None
        return
    import psycopg

    conninfo = "postgresql://" + db_url.split("://", 1)[1]
    with psycopg.connect(conninfo) as pg, pg.cursor() as pg_cursor:
        found = pg_cursor.execute("SELECT to_regclass('submitted_assignment')").fetchone()
        yield pg_cursor if found and found[0] else None


def _enrolment(row: tuple[Any, ...], required: dict[str, tuple[int, int]]) -> Enrolment:
    student, programme, first, passed, submitted, last_pass, last_submit, quarters = row
    must_pass, must_submit = required[programme]
    completed = passed == must_pass and submitted == must_submit
    dates = [d for d in (_when(last_pass), _when(last_submit)) if d is not None]
    done = max(dates, default=None) if completed else None
    active = frozenset(int(k) for k in quarters.split(",")) if quarters else frozenset()
    return Enrolment(student, programme, _when(first), done, active)


def _when(value: datetime | str | None) -> datetime | None:
    """A timestamp as the pure path sees it: naive UTC (SQLite holds text, PostgreSQL datetimes)."""
    if value is None:
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
