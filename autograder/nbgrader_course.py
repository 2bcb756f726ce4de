"""The one module that talks to nbgrader.

A :class:`Course` is one nbgrader course directory (``source/``, ``release/``, ``submitted/``,
``autograded/``, ``feedback/``, the gradebook). Everything outside this module sees plain data:
paths, :class:`StepResult` and :class:`SubmissionScore` rows. An nbgrader upgrade touches this file.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple
from uuid import uuid4

import nbformat
from nbgrader import api as nbgrader_api
from nbgrader.api import (
    Assignment,
    Grade,
    Gradebook,
    MissingEntry,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
)
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades
from nbgrader.utils import parse_utc
from sqlalchemy import case, create_engine, func, insert, inspect, select, text
from sqlalchemy.exc import OperationalError, SAWarning
from traitlets.config import Config

from autograder.catalogue import Module
from autograder.gradebook_enrolments import course_gradebook_url
from autograder.integrity import findings_of

CODE_STUB = "# VOTRE CODE ICI\nraise NotImplementedError()"
TEXT_STUB = "VOTRE RÉPONSE ICI"
CELL_TIMEOUT_S = 60
TIMESTAMP_FILE = "timestamp.txt"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"

# nbgrader 0.9's gradebook adds objects to its SQLAlchemy 2 session in a way that warns on every
# graded submission (hundreds of lines in a demo run); harmless, and not ours to fix
warnings.filterwarnings("ignore", category=SAWarning, module=r"nbgrader\.api")


class GradingError(Exception):
    """An nbgrader step that failed; the message says which step, module and trainee."""


@dataclass(frozen=True)
class StepResult:
    success: bool
    log: str
    error: str = ""


@dataclass(frozen=True)
class SubmissionScore:
    """One trainee's latest graded submission of one module, as the gradebook records it."""

    student_id: str
    module_id: str
    score: float
    max_score: float
    needs_manual_grade: bool
    timestamp: datetime | None


@dataclass(frozen=True)
class FailedTest:
    """One autograded test cell that did not give a trainee all its points (AI-drafted feedback)."""

    student_id: str
    notebook: str
    grade_id: str
    score: float
    max_score: float


class CommentChange(NamedTuple):
    """A new instructor comment on one answer cell, computed from the current one."""

    student_id: str
    notebook: str
    answer_id: str
    change: Callable[[str | None], str | None]


@dataclass(frozen=True)
class Course:
    """One nbgrader course directory, with its gradebook (SQLite by default, any ``db_url``)."""

    root: Path
    course_id: str
    db_url: str | None = None
    cell_timeout: int = CELL_TIMEOUT_S
    sandbox_uid: int | None = None
    """The held sandbox slot whose launcher forks this course's kernels (its host has the limits)."""
    worker: bool = False
    """A grading worker's private course: tamper probe on, grades left to the one writer."""

    @property
    def gradebook_url(self) -> str:
        return course_gradebook_url(self.root, self.db_url)

    def config(self) -> Config:
        c = Config()
        c.CourseDirectory.root = str(self.root)
        c.CourseDirectory.course_id = self.course_id
        c.CourseDirectory.db_url = self.gradebook_url
        c.ClearSolutions.code_stub = {"python": CODE_STUB}
        c.ClearSolutions.text_stub = TEXT_STUB
        c.Execute.timeout = self.cell_timeout
        c.Exchange.course_id = self.course_id
        # a deleted or retyped test cell is put back (and graded), never "needs manual grading"
        c.OverwriteCells.add_missing_cells = True
        c.OverwriteCells.missing_cell_notification = (
            "Cette cellule (id : {cell_id}) manquait dans la copie rendue ; la correction l'a "
            "remise.\n\n")
        c.LimitOutput.max_lines = 1000
        c.LimitOutput.max_traceback = 100
        if self.worker:
            _worker_pipeline(c)
            c.Execute.shutdown_kernel = "immediate"  # nothing to save: the kernel is thrown away
        if self.sandbox_uid is not None:
            c.Execute.kernel_manager_class = "autograder.sandbox_kernel.SandboxedKernelManager"
            c.SandboxedKernelManager.slot_uid = self.sandbox_uid
        return c

    def sandboxed(self, uid: int) -> Course:
        """The same course, its kernels forked in the sandbox slot ``uid`` held by this process."""
        return replace(self, sandbox_uid=uid)

    def write_config(self) -> Path:
        """Write ``nbgrader_config.py`` so that formgrader and the nbgrader CLI see the same course."""
        self.root.mkdir(parents=True, exist_ok=True)
        lines = ["# Written by tadrib; edits are overwritten on the next release.",
                 "c = get_config()  # noqa: F821"]
        for section, values in replace(self, sandbox_uid=None).config().items():
            for key, value in values.items():
                lines.append(f"c.{section}.{key} = {value!r}")
        path = self.root / "nbgrader_config.py"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    # -- paths ---------------------------------------------------------------------------------

    def source_dir(self, module_id: str) -> Path:
        return self.root / "source" / module_id

    def release_dir(self, module_id: str) -> Path:
        return self.root / "release" / module_id

    def submitted_dir(self, student_id: str, module_id: str) -> Path:
        return self.root / "submitted" / student_id / module_id

    def autograded_dir(self, student_id: str, module_id: str) -> Path:
        return self.root / "autograded" / student_id / module_id

    def feedback_dir(self, student_id: str, module_id: str) -> Path:
        return self.root / "feedback" / student_id / module_id

    def submitters(self, module_id: str) -> list[str]:
        """Trainees with a submission of ``module_id`` in submitted/, in name order."""
        base = self.root / "submitted"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / module_id).is_dir())

    def trainee_ids(self) -> set[str]:
        """Every trainee the course knows: the gradebook's students and the submission folders.

        A missing SQLite gradebook is not created."""
        found = {p.name for folder in ("submitted", "autograded", "feedback")
                 if (self.root / folder).is_dir()
                 for p in (self.root / folder).iterdir() if p.is_dir()}
        if self.db_url or (self.root / "gradebook.db").is_file():
            _venv_on_path()
            with Gradebook(self.gradebook_url) as gb:
                found |= {str(student.id) for student in gb.students}
        return found

    # -- nbgrader steps ------------------------------------------------------------------------

    def sync_source(self, module: Module) -> Path:
        """Copy the module folder from the catalogue into ``source/`` (the repo is the truth)."""
        dest = self.source_dir(module.id)
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(module.folder, dest, ignore=shutil.ignore_patterns(".*", "__pycache__"))
        return dest

    def release(self, module: Module) -> StepResult:
        """nbgrader generate_assignment: the student version, without solutions and hidden tests."""
        self.write_config()
        self.sync_source(module)
        return self._run("generate_assignment", module.id, force=True, create=True)

    def grading_template(self, module_id: str, dest: Path) -> Path:
        """A private course holding only what grading needs: the assignment in a fresh gradebook
        and the released data files (no source notebook). Workers copy it for each submission."""
        if dest.exists():
            shutil.rmtree(dest)
        template = Course(dest, self.course_id, f"sqlite:///{dest / 'gradebook.db'}")
        shutil.copytree(self.source_dir(module_id), template.source_dir(module_id))
        result = template._run("generate_assignment", module_id, force=True, create=True)
        if not result.success:
            raise GradingError(f"could not prepare the grading of {module_id}: "
                               f"{(result.error or result.log).strip().splitlines()[-1:]}")
        for notebook in template.source_dir(module_id).glob("*.ipynb"):
            notebook.unlink()
        shutil.rmtree(template.root / "release", ignore_errors=True)
        return dest

    def autograde(self, module_id: str, student_id: str, *, force: bool = False) -> StepResult:
        """nbgrader autograde of one submission; an unchanged, already graded one is skipped."""
        return self._run("autograde", module_id, student_id, force=force, create=True)

    def generate_feedback(self, module_id: str, student_id: str) -> StepResult:
        return self._run("generate_feedback", module_id, student_id, force=True)

    def _run(self, step: str, *args: Any, **kwargs: Any) -> StepResult:
        with _api(self) as api:
            result = getattr(api, step)(*args, **kwargs)
        return StepResult(bool(result["success"]), result.get("log", ""), result.get("error", ""))

    # -- gradebook -----------------------------------------------------------------------------

    def scores(self) -> list[SubmissionScore]:
        """Every submission in the gradebook with its total score (one SQL query)."""
        _venv_on_path()
        with Gradebook(self.gradebook_url) as gb:
            rows = gb.db.query(
                SubmittedAssignment.student_id,
                SubmittedAssignment.assignment_id,
                SubmittedAssignment.score,
                SubmittedAssignment.max_score,
                SubmittedAssignment.needs_manual_grade,
                SubmittedAssignment.timestamp,
            ).all()
            names = {a.id: a.name for a in gb.assignments}
        return [
            SubmissionScore(student, names[assignment], float(score or 0), float(max_score or 0),
                            bool(manual), timestamp)
            for student, assignment, score, max_score, manual, timestamp in rows
        ]

    def autograded_scores(self, module_id: str) -> dict[str, tuple[float, float]]:
        """Per trainee: (score, max) over autograded test cells only, manual answers left out."""
        _venv_on_path()
        totals: dict[str, tuple[float, float]] = {}
        with Gradebook(self.gradebook_url) as gb:
            for submission in gb.find_assignment(module_id).submissions:
                score = maximum = 0.0
                for notebook in submission.notebooks:
                    manual = {cell.name for cell in notebook.notebook.solution_cells}
                    for grade in notebook.grades:
                        if grade.cell.name not in manual:
                            score += float(grade.auto_score or 0)
                            maximum += float(grade.max_score or 0)
                totals[submission.student_id] = (score, maximum)
        return totals

    def failed_tests(self, module_id: str) -> list[FailedTest]:
        """Autograded test cells scoring below their points (manual score first, as nbgrader
        counts), per trainee; cells waiting for the instructor's review are left out."""
        _venv_on_path()
        failed = []
        with Gradebook(self.gradebook_url, self.course_id) as gb:
            try:
                submissions = gb.find_assignment(module_id).submissions
            except MissingEntry:  # not released into this gradebook: nothing graded
                return []
            for submission in submissions:
                for notebook in submission.notebooks:
                    answers = {cell.name for cell in notebook.notebook.solution_cells}
                    failed += [FailedTest(submission.student_id, notebook.name, grade.cell.name,
                                          float(grade.score or 0), float(grade.max_score or 0))
                               for grade in notebook.grades
                               if grade.cell.name not in answers and not grade.needs_manual_grade
                               and float(grade.score or 0) < float(grade.max_score or 0)]
        return sorted(failed, key=lambda f: (f.student_id, f.notebook, f.grade_id))

    def update_comments(self, module_id: str, changes: Iterable[CommentChange]) -> None:
        """Set instructor comments on answer cells, in one transaction: each to ``change(current
        comment)``; None clears it. nbgrader's feedback (and formgrader's comment box) shows them."""
        changes = list(changes)
        if changes:
            _retry_busy(lambda: self._update_comments(module_id, changes))

    def _update_comments(self, module_id: str, changes: list[CommentChange]) -> None:
        _venv_on_path()
        with Gradebook(self.gradebook_url, self.course_id) as gb:
            for student_id, notebook, answer_id, change in changes:
                try:
                    comment = gb.find_comment(answer_id, notebook, module_id, student_id)
                except MissingEntry:
                    gb.db.rollback()
                    raise GradingError(
                        f"{student_id}/{module_id}/{notebook}.ipynb: the gradebook has no comment "
                        f"for answer cell {answer_id}; grade the submission again (tadrib grade "
                        "--force).") from None
                comment.manual_comment = change(comment.manual_comment)
            gb.db.commit()

    def grade_by_hand(self, module_id: str, student_id: str, fraction: float) -> int:
        """Record what an instructor gives in formgrader: ``fraction`` of the points of every cell
        still waiting for manual grading. Returns how many cells were graded."""
        _venv_on_path()
        graded = 0
        with Gradebook(self.gradebook_url) as gb:
            for notebook in gb.find_submission(module_id, student_id).notebooks:
                for grade in notebook.grades:
                    if grade.needs_manual_grade:
                        grade.manual_score = fraction * float(grade.max_score)
                        grade.needs_manual_grade = False
                        graded += 1
            gb.db.commit()
        return graded

    def record_autograded(self, module_id: str, student_id: str, files: dict[str, bytes]) -> None:
        """The one writer: record a worker's executed notebooks in the gradebook with nbgrader's own
        SaveAutoGrades and AssignLatePenalties, then put the files in autograded/.

        Short transactions, retried while another process holds the database.
        """
        notebooks = {Path(name).stem: nbformat.reads(data.decode("utf-8"), as_version=4)
                     for name, data in files.items() if name.endswith(".ipynb") and "/" not in name}
        stamp = files.get(TIMESTAMP_FILE)
        timestamp = parse_utc(stamp.decode("utf-8").strip()) if stamp else None
        _retry_busy(lambda: self._save_grades(module_id, student_id, notebooks, timestamp))
        _replace_folder(self.autograded_dir(student_id, module_id), files)

    def _save_grades(self, module_id: str, student_id: str, notebooks: dict[str, Any],
                     timestamp: datetime | None) -> None:
        _venv_on_path()
        url = self.gradebook_url
        with Gradebook(url, self.course_id) as gb:
            gb.update_or_create_student(student_id)
            gb.update_or_create_submission(module_id, student_id, timestamp=timestamp)
            expected = [nb.name for nb in gb.find_assignment(module_id).notebooks]
            for name in expected:
                if name not in notebooks:
                    for grade in gb.find_submission_notebook(name, module_id, student_id).grades:
                        grade.auto_score, grade.needs_manual_grade = 0, False
            gb.db.commit()
        config = self.config()
        for name, nb in notebooks.items():
            if name in expected:
                resources = {"nbgrader": {"notebook": name, "assignment": module_id,
                                          "student": student_id, "db_url": url}}
                SaveAutoGrades(config=config).preprocess(nb, resources)
                AssignLatePenalties(config=config).preprocess(nb, resources)
                self._flag_for_review(module_id, student_id, name, findings_of(nb))

    def _flag_for_review(self, module_id: str, student_id: str, notebook: str,
                         findings: list[str]) -> None:
        """A tampered notebook: its autograded points withheld, every test cell sent to the
        instructor for review with the findings as the comment."""
        if not findings:
            return
        note = "Relecture nécessaire, exécution altérée : " + "; ".join(findings)
        with Gradebook(self.gradebook_url, self.course_id) as gb:
            submitted = gb.find_submission_notebook(notebook, module_id, student_id)
            for grade in submitted.grades:
                if grade.auto_score is not None and grade.manual_score is None:
                    grade.auto_score, grade.needs_manual_grade = 0, True
            for comment in submitted.comments:
                comment.auto_comment = note
            gb.db.commit()

    def submission_timestamp(self, module_id: str, student_id: str) -> datetime | None:
        _venv_on_path()
        with Gradebook(self.gradebook_url, self.course_id) as gb:
            try:
                return gb.find_submission(module_id, student_id).timestamp  # type: ignore[no-any-return]
            except Exception:  # MissingEntry: not graded yet
                return None

    def has_module(self, module_id: str) -> bool:
        _venv_on_path()
        with Gradebook(self.gradebook_url) as gb:
            return any(a.name == module_id for a in gb.assignments)


BUSY_RETRY_SECONDS = 600.0


def _retry_busy(action: Any) -> None:
    """Run ``action``; while the database is locked by another process, wait and retry."""
    delay, waited = 0.1, 0.0
    while True:
        try:
            action()
            return
        except OperationalError as error:
            if ("locked" not in str(error) and "busy" not in str(error)) or waited > BUSY_RETRY_SECONDS:
                raise
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 5.0)


def _replace_folder(folder: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` as ``folder``, replacing it in one rename (a crash leaves old or new)."""
    staging = folder.with_name(f".{folder.name}.incoming")
    if staging.exists():
        shutil.rmtree(staging)
    for name, data in files.items():
        target = staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    staging.mkdir(parents=True, exist_ok=True)
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        folder.rename(old)
        staging.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(folder)


def write_timestamp(folder: Path, when: datetime) -> None:
    """The submission time, in nbgrader's own ``timestamp.txt`` format."""
    (folder / TIMESTAMP_FILE).write_text(when.strftime(TIMESTAMP_FORMAT).strip(), encoding="utf-8")


def _worker_pipeline(c: Config) -> None:
    """nbgrader's autograde pipeline with the tamper probe around the execution, and without
    SaveAutoGrades and AssignLatePenalties: the one writer runs those on the real gradebook."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader import preprocessors as p

    from autograder.integrity import AddIntegrityCells, ReadIntegrityProbe

    c.Autograde.sanitize_preprocessors = [p.ClearOutput, p.DeduplicateIds, p.OverwriteKernelspec,
                                          p.OverwriteCells, p.CheckCellMetadata, AddIntegrityCells]
    c.Autograde.autograde_preprocessors = [p.Execute, p.IgnorePattern, ClearMetadataPreprocessor,
                                           ReadIntegrityProbe, p.LimitOutput, p.CheckCellMetadata]


def _venv_on_path() -> None:
    """nbgrader runs the ``alembic`` command found on PATH: make it this environment's own,
    also when ``tadrib`` was started from a virtual environment that is not activated."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


class _SchemaCheckedOnce:
    """``jsonschema`` as nbgrader's cell-metadata validator uses it (``validate`` only), with each
    schema checked and compiled once per process instead of once per cell (a fifth of a grading
    worker's own CPU). Same outcome: jsonschema's ``best_match`` error is raised."""

    def __init__(self) -> None:
        self._validators: dict[str, Any] = {}

    def validate(self, instance: Any, schema: dict[str, Any]) -> None:
        import jsonschema

        key = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = self._validators[key] = cls(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error


def _check_schemas_once() -> None:
    from nbgrader.nbgraderformat import common

    if not isinstance(common.jsonschema, _SchemaCheckedOnce):
        common.jsonschema = _SchemaCheckedOnce()


@contextmanager
def _api(course: Course) -> Iterator[NbGraderAPI]:
    _venv_on_path()
    _check_schemas_once()
    config = course.config()
    coursedir = CourseDirectory(config=config)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    api.log.setLevel(logging.INFO)
    yield api


# -- the gradebook as rows, in bulk (indicators, benchmarks) ------------------------------------


class GradebookRow(NamedTuple):
    """One graded submission as the fast path reads it: the same values as :class:`SubmissionScore`,
    summed by the database with nbgrader's own score expressions. (A named tuple: millions are read
    for a programme-wide indicator.)"""

    student_id: str
    module_id: str
    score: float
    max_score: float
    needs_manual_grade: bool
    submitted_at: datetime | None


def _rows_statement() -> Any:
    """Per submission: trainee, module, nbgrader's score (sum of ``Grade.score``), the module's
    ``Assignment.max_score`` (computed once per module, in a materialised CTE), whether a part waits
    for manual grading, and the timestamp. Driven from the grades, so a submission of a module
    without any graded cell (which cannot be passed) is not read."""
    maxima = (select(Assignment.id.label("assignment"), Assignment.name.label("name"),
                     Assignment.max_score.label("max_score"))
              .cte("maxima").prefix_with("MATERIALIZED"))
    return (
        select(SubmittedAssignment.student_id, maxima.c.name, func.sum(Grade.score),
               func.max(maxima.c.max_score), func.max(case((Grade.needs_manual_grade, 1), else_=0)),
               SubmittedAssignment.timestamp)
        .select_from(Grade)
        .join(SubmittedNotebook, SubmittedNotebook.id == Grade.notebook_id)
        .join(SubmittedAssignment, SubmittedAssignment.id == SubmittedNotebook.assignment_id)
        .join(maxima, maxima.c.assignment == SubmittedAssignment.assignment_id)
        .group_by(SubmittedAssignment.student_id, SubmittedAssignment.id, maxima.c.name,
                  SubmittedAssignment.timestamp)
        .order_by(SubmittedAssignment.student_id))


# One big read: sort in memory and a larger page cache (SQLite); more sort memory per
# operation (PostgreSQL). Each setting lasts for this connection only.
_READ_SETTINGS = {
    "sqlite": ("PRAGMA temp_store = MEMORY", "PRAGMA cache_size = -262144"),
    "postgresql": ("SET work_mem = '256MB'",),
}


def gradebook_rows(db_url: str) -> Iterator[GradebookRow]:
    """Every submission of every course held at ``db_url`` with its total score, ordered by trainee,
    read with one SQL query (SQLAlchemy Core over nbgrader's tables) and streamed. A gradebook that
    does not exist yet has no rows; nothing is created."""
    if db_url.startswith("sqlite:///") and not Path(db_url.removeprefix("sqlite:///")).exists():
        return
    engine = create_engine(_driver_url(db_url))
    try:
        with engine.connect() as connection:
            if "submitted_assignment" not in inspect(connection).get_table_names():
                return
            for setting in _READ_SETTINGS.get(connection.dialect.name, ()):
                connection.exec_driver_sql(setting)
            result = connection.execution_options(stream_results=True, yield_per=20_000)
            names: dict[str, str] = {}
            for part in result.execute(_rows_statement()).partitions():
                for student, module, score, top, manual, when in part:
                    yield GradebookRow(student, names.setdefault(module, module), float(score),
                                       float(top or 0), bool(manual), when)
    finally:
        engine.dispose()


def _driver_url(db_url: str) -> str:
    """``postgresql://`` means psycopg 3 (the ``scale`` extra), not SQLAlchemy's psycopg2 default."""
    if db_url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + db_url.split("://", 1)[1]
    return db_url


def _create_schema(db_url: str) -> None:
    """Create nbgrader's tables and stamp the alembic head in-process, as ``Gradebook`` does for a
    new database but without its ``alembic heads`` subprocess (seconds on a busy machine)."""
    from alembic.script import ScriptDirectory
    from nbgrader.api import Base

    engine = create_engine(db_url)
    try:
        with engine.begin() as connection:
            if inspect(connection).get_table_names():
                return
            Base.metadata.create_all(connection)
            head = ScriptDirectory(str(Path(nbgrader_api.__file__).parent / "alembic")).get_current_head()
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            connection.execute(text("INSERT INTO alembic_version VALUES (:head)"), {"head": head})
    finally:
        engine.dispose()


def register_students(db_url: str, course_id: str, student_ids: list[str]) -> int:
    """Add the (pseudonymous) student ids that the gradebook lacks, without names or emails: the
    roster keeps those. Returns how many were added."""
    _venv_on_path()
    _create_schema(_driver_url(db_url))
    with Gradebook(_driver_url(db_url), course_id) as gb:
        known = set(gb.db.execute(select(Student.id)).scalars())
        missing = [{"id": sid} for sid in dict.fromkeys(student_ids) if sid not in known]
        if missing:
            gb.db.execute(insert(Student), missing)
            gb.db.commit()
    return len(missing)


def bulk_record(db_url: str, course_id: str, max_scores: dict[str, float],
                rows: Iterable[GradebookRow], *, chunk: int = 20_000) -> int:
    """Write graded submissions straight into nbgrader's tables, in bulk (benchmarks and tests that
    need gradebooks of a given shape, far faster than grading). Each module of ``max_scores`` not yet
    in the gradebook becomes an assignment with one notebook and one autograded cell of that many
    points; each row becomes a submission whose grade is its score. Rows must be new submissions
    (nbgrader keeps one per trainee and module). Returns the rows written."""
    _venv_on_path()
    _create_schema(_driver_url(db_url))
    written = 0
    with Gradebook(_driver_url(db_url), course_id) as gb:
        cells = _bulk_assignments(gb, max_scores)
        known = set(gb.db.execute(select(Student.id)).scalars())
        iterator = iter(rows)
        while batch := list(islice(iterator, chunk)):
            tables = _bulk_tables(batch, cells, known)
            for model, values in zip((Student, SubmittedAssignment, SubmittedNotebook, Grade),
                                     tables, strict=True):
                if values:
                    _insert(gb, model, values)
            gb.db.commit()
            written += len(batch)
    return written


def _insert(gb: Gradebook, model: Any, values: list[dict[str, Any]]) -> None:
    """Executemany; on PostgreSQL, COPY (tens of times faster for millions of rows)."""
    connection = gb.db.connection()
    if connection.dialect.name != "postgresql":
        gb.db.execute(insert(model), values)
        return
    table = model.__table__
    columns = list(values[0])
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in values:
            copy.write_row([row[c] for c in columns])


def _bulk_assignments(gb: Gradebook,
                      max_scores: dict[str, float]) -> dict[str, tuple[str, str, str]]:
    """Per module: (assignment id, notebook id, grade cell id), created when missing."""
    cells = {}
    for module, points in max_scores.items():
        try:
            assignment = gb.find_assignment(module)
        except MissingEntry:
            assignment = gb.add_assignment(module)
        if not assignment.notebooks:
            gb.add_notebook(module, module)
            gb.add_grade_cell("total", module, module, max_score=points, cell_type="code")
        notebook = assignment.notebooks[0]
        cells[module] = (assignment.id, notebook.id, notebook.grade_cells[0].id)
    return cells


def _bulk_tables(batch: list[GradebookRow], cells: dict[str, tuple[str, str, str]],
                 known: set[str]) -> tuple[list[dict[str, Any]], ...]:
    students, submissions, notebooks, grades = [], [], [], []
    for row in batch:
        if row.student_id not in known:
            known.add(row.student_id)
            students.append({"id": row.student_id})
        assignment, notebook, cell = cells[row.module_id]
        key = uuid4().hex
        submissions.append({"id": key, "assignment_id": assignment, "student_id": row.student_id,
                            "timestamp": row.submitted_at})
        notebooks.append({"id": key, "assignment_id": key, "notebook_id": notebook,
                          "flagged": False})
        grades.append({"id": key, "notebook_id": key, "cell_id": cell,
                       "auto_score": row.score, "needs_manual_grade": row.needs_manual_grade})
    return students, submissions, notebooks, grades
