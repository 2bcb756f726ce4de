"""``tadrib grade`` and ``tadrib feedback``.

Grading runs nbgrader's autograde pipeline on a pool of workers (local processes by default, a Dask
cluster with ``scheduler``), each submission in a private course with its kernel in the sandbox.
Workers return results as data; this process is the one writer: it records each result in the
gradebook (short transactions, retried while the database is busy), then the run's results table.
A run stopped at any point (Ctrl-C, kill -9) is resumed by running it again; regrading is
idempotent.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from autograder.catalogue import Module
from autograder.grading_worker import GradingResult, GradingTask, die_with_parent, grade_task
from autograder.nbgrader_course import Course, StepResult
from autograder.sandbox import Limits, check_available
from autograder.workspace import Workspace, require_released

RESULTS_DIR = ".tadrib/grading"
TEMPLATES_DIR = ".tadrib/templates"


@dataclass(frozen=True)
class SubmissionStatus:
    """What happened to one trainee's submission in one run."""

    student_id: str
    module_id: str
    ok: bool
    message: str
    seconds: float = 0.0
    peak_rss_bytes: int = 0
    kernel_peak_rss_bytes: int = 0


Progress = Callable[[SubmissionStatus], None]


class UnsandboxedWarning(UserWarning):
    """Student code is about to run without the sandbox."""


def grade(module: str | list[str], *, root: Path | None = None, workspace: Path | None = None,
          db_url: str | None = None, force: bool = False, workers: int | None = None,
          sandbox: bool = True, scheduler: str | None = None, limits: Limits | None = None,
          on_start: Callable[[int], None] | None = None,
          on_progress: Progress | None = None) -> list[SubmissionStatus]:
    """Autograde every submission of ``module`` (or of each module of a list, in one pool) found in
    submitted/; unchanged, already graded submissions are kept.

    ``workers`` defaults to the number of cores; ``scheduler`` (``tcp://host:port``) sends the work
    to a Dask cluster instead. ``sandbox=False`` is for trusted debugging only.
    """
    if sandbox:
        check_available()
    else:
        warnings.warn("grading WITHOUT the sandbox: student code runs with your rights and sees the "
                      "whole machine; use only for trusted debugging.", UnsandboxedWarning,
                      stacklevel=2)
    ws = Workspace.open(root=root, workspace=workspace, db_url=db_url)
    pairs = [ws.catalogue.find_module(m) for m in ([module] if isinstance(module, str) else module)]
    require_released(ws, pairs)
    statuses: list[SubmissionStatus] = []
    tasks: list[GradingTask] = []
    tables: dict[str, tuple[Course, ResultsTable]] = {}
    for programme, mod in pairs:
        course = ws.course(programme)
        table = ResultsTable(course.root / RESULTS_DIR / f"{mod.id}.json")
        tables[mod.id] = (course, table)
        kept, todo = _plan(course, mod, table, force=force, sandbox=sandbox, limits=limits or Limits())
        statuses += kept
        tasks += todo
    if on_start:
        on_start(len(statuses) + len(tasks))
    for status in statuses:
        _tell(on_progress, status)
    if tasks:
        with _executor(workers, scheduler) as run:
            for result in run(tasks):
                status = record(*tables[result.task.module_id], result)
                statuses.append(status)
                _tell(on_progress, status)
    return sorted(statuses, key=lambda s: (s.module_id, s.student_id))


def _tell(on_progress: Progress | None, status: SubmissionStatus) -> None:
    if on_progress:
        on_progress(status)


def _plan(course: Course, module: Module, table: ResultsTable, *, force: bool, sandbox: bool,
          limits: Limits) -> tuple[list[SubmissionStatus], list[GradingTask]]:
    kept, tasks = [], []
    template: Path | None = None
    for student in course.submitters(module.id):
        folder = course.submitted_dir(student, module.id)
        fingerprint = fingerprint_of(folder)
        if not force and table.is_current(student, fingerprint) \
                and course.autograded_dir(student, module.id).is_dir():
            kept.append(SubmissionStatus(student, module.id, True, "unchanged, kept"))
            continue
        if template is None:
            template = course.grading_template(module.id, course.root / TEMPLATES_DIR / module.id)
        tasks.append(GradingTask(course.course_id, module.id, student, str(folder), str(template),
                                 fingerprint, sandbox, limits, limits.cell_seconds))
    return kept, tasks


def fingerprint_of(folder: Path) -> str:
    """A hash of everything the trainee handed in (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def record(course: Course, table: ResultsTable, result: GradingResult) -> SubmissionStatus:
    """The one writer: gradebook first, then the files, then the results table."""
    task = result.task
    ok, message = result.ok, result.message
    if ok:
        try:
            course.record_autograded(task.module_id, task.student_id, result.files)
        except Exception as error:  # the grade is not stored: say so, keep the others going
            ok, message = False, f"could not record the grades: {type(error).__name__}: {error}"
    table.put(task.student_id, task.fingerprint if ok else "", ok, message, result.seconds)
    return SubmissionStatus(task.student_id, task.module_id, ok, message, result.seconds,
                            result.peak_rss_bytes, result.kernel_peak_rss_bytes)


class ResultsTable:
    """Per module: the last grading of each trainee (status, message, what was graded), kept as
    JSON beside the course and replaced in one rename, so a killed run leaves it whole."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[str, dict[str, object]] = (
            json.loads(path.read_text(encoding="utf-8")) if path.exists() else {})

    def is_current(self, student: str, fingerprint: str) -> bool:
        row = self.rows.get(student, {})
        return bool(row.get("ok")) and row.get("fingerprint") == fingerprint

    def put(self, student: str, fingerprint: str, ok: bool, message: str, seconds: float) -> None:
        self.rows[student] = {"ok": ok, "message": message, "fingerprint": fingerprint,
                              "seconds": round(seconds, 2), "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = self.path.with_suffix(".tmp")
        staging.write_text(json.dumps(self.rows, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(staging, self.path)


Runner = Callable[[list[GradingTask]], Iterator[GradingResult]]


@contextmanager
def _executor(workers: int | None, scheduler: str | None) -> Iterator[Runner]:
    if scheduler:
        from distributed import Client
        from distributed import as_completed as dask_completed

        with Client(scheduler) as client:
            def run_dask(tasks: list[GradingTask]) -> Iterator[GradingResult]:
                futures = client.map(grade_task, tasks, pure=False)
                for future in dask_completed(futures):
                    yield future.result()
            yield run_dask
        return
    count = max(1, workers or os.cpu_count() or 1)
    with ProcessPoolExecutor(count, mp_context=get_context("spawn"), initializer=die_with_parent,
                             initargs=(os.getpid(),)) as pool:
        def run_local(tasks: list[GradingTask]) -> Iterator[GradingResult]:
            for future in as_completed([pool.submit(grade_task, t) for t in tasks]):
                yield future.result()
        yield run_local


def feedback(module: str, *, root: Path | None = None, workspace: Path | None = None,
             db_url: str | None = None,
             on_progress: Progress | None = None) -> list[SubmissionStatus]:
    """nbgrader generate_feedback (HTML) for every graded submission of ``module``."""
    ws = Workspace.open(root=root, workspace=workspace, db_url=db_url)
    programme, mod = ws.catalogue.find_module(module)
    course = ws.course(programme)
    graded = sorted(p.parent.name for p in (course.root / "autograded").glob(f"*/{mod.id}"))
    statuses = []
    for student in graded:
        result = course.generate_feedback(mod.id, student)
        status = _status(student, mod.id, result, "feedback written")
        statuses.append(status)
        _tell(on_progress, status)
    return statuses


def _status(student: str, module_id: str, result: StepResult, done: str) -> SubmissionStatus:
    if result.success:
        return SubmissionStatus(student, module_id, True, done)
    lines = [line.strip() for line in (result.log + "\n" + result.error).splitlines() if line.strip()]
    errors = [line.removeprefix("[ERROR] ") for line in lines if line.startswith("[ERROR]")]
    useful = [e for e in errors if not e.startswith(("Traceback", "Please see"))]
    return SubmissionStatus(student, module_id, False, "; ".join(useful[:3]) or lines[-1])
