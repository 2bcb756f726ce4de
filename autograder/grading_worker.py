"""A grading worker: one submission in, its executed notebooks out, as plain data.

The worker runs nbgrader's own ``autograde`` on a private copy: a throw-away course holding a
template gradebook (the assignment only, made once per run) and the one submission. Its kernel runs
in the sandbox. It writes nothing to the real course: the results travel back as bytes, and one
writer (:mod:`autograder.grading`) records them. The same function runs in a local process pool or
on Dask workers sharing the course directory.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from autograder.nbgrader_course import Course, StepResult
from autograder.sandbox import Limits, kill_uid
from autograder.sandbox_host import kernel_host

TEMPLATE_DB = "gradebook.db"


@dataclass(frozen=True)
class GradingTask:
    """Everything a worker needs, as paths and values (picklable, no open handles)."""

    course_id: str
    module_id: str
    student_id: str
    submission: str
    template: str
    fingerprint: str
    sandbox: bool = True
    limits: Limits = field(default_factory=Limits)
    cell_timeout: int = 60


@dataclass(frozen=True)
class GradingResult:
    task: GradingTask
    ok: bool
    message: str
    files: dict[str, bytes]
    seconds: float
    peak_rss_bytes: int
    """The worker's own peak resident memory (with its unsandboxed kernels)."""
    kernel_peak_rss_bytes: int = 0
    """The peak resident memory of the sandbox's launcher and of its largest kernel so far."""


def die_with_parent(parent: int) -> None:
    """A local pool worker's initializer: killed with the grading run (``kill -9`` included), so
    an interrupted run leaves no worker holding a sandbox slot; its sandbox dies with it."""
    import ctypes
    import os
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the run died before the line above
        os._exit(1)


def grade_task(task: GradingTask) -> GradingResult:
    """Autograde one submission in a private course; never raises, always returns a result."""
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=f"tadrib-grade-{task.student_id}-"))
    try:
        course = _private_course(task, work)
        result, killed, files, sandbox_rss = _autograde(course, task)
        message = _graded(files) if result.success else _failure(result, killed, task.limits)
        return GradingResult(task, result.success, message, files, time.monotonic() - started,
                             _peak_rss(), sandbox_rss)
    except Exception as error:  # a worker reports, it never takes the run down
        return GradingResult(task, False, f"grading failed: {type(error).__name__}: {error}", {},
                             time.monotonic() - started, _peak_rss())
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _private_course(task: GradingTask, work: Path) -> Course:
    root = work / "course"
    shutil.copytree(task.template, root)
    dest = root / "submitted" / task.student_id / task.module_id
    shutil.copytree(task.submission, dest, symlinks=False,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return Course(root, task.course_id, f"sqlite:///{root / TEMPLATE_DB}",
                  cell_timeout=task.cell_timeout, worker=True)


def _autograde(course: Course,
               task: GradingTask) -> tuple[StepResult, bool, dict[str, bytes], int]:
    """nbgrader's autograde of the task's submission: its outcome, whether the watchdog stopped
    it, the autograded files, and the peak memory of the sandbox's processes (0 unsandboxed: the
    kernels are then the worker's own children)."""
    notebooks = max(1, len(list(Path(task.submission).glob("*.ipynb"))))
    wall = task.limits.wall_seconds * notebooks
    _keep_written_notebooks()
    _WRITTEN.files = {}
    if not task.sandbox:
        result, killed = _with_watchdog(
            lambda: course.autograde(task.module_id, task.student_id, force=True), wall,
            _kill_children)
        return result, killed, _collect(course, task) if result.success else {}, 0
    with kernel_host(task.limits) as host, host.stage() as stage:
        # nbgrader writes the autograded copy through this link into the stage, the one part of
        # the private course that the kernels see
        (course.root / "autograded").mkdir(exist_ok=True)
        (course.root / "autograded" / task.student_id).symlink_to(stage, target_is_directory=True)
        sandboxed = course.sandboxed(host.uid)
        result, killed = _with_watchdog(
            lambda: sandboxed.autograde(task.module_id, task.student_id, force=True), wall,
            lambda: kill_uid(host.uid))
        return (result, killed, _collect(course, task) if result.success else {},
                host.peak_rss())


_WRITTEN = threading.local()
"""The notebooks nbgrader wrote in this thread's current grading, as it wrote them."""


def _keep_written_notebooks() -> None:
    """Keep each autograded notebook as nbgrader writes it. The kernel of a later notebook of the
    same submission runs in the same folder and could rewrite an earlier one's outputs on disk;
    the grades are read from the copy kept here, not from the disk."""
    from nbgrader.converters.autograde import Autograde

    if getattr(Autograde, "_tadrib_keeps_written", False):
        return
    write = Autograde.write_single_notebook

    def keep(self: Autograde, output: str, resources: Any) -> None:
        name = resources["unique_key"] + resources.get("output_extension", ".ipynb")
        getattr(_WRITTEN, "files", {})[name] = output.encode("utf-8")
        write(self, output, resources)

    Autograde.write_single_notebook = keep
    Autograde._tadrib_keeps_written = True


def _with_watchdog(run: object, seconds: float, kill: object) -> tuple[StepResult, bool]:
    fired = threading.Event()

    def expire() -> None:
        fired.set()
        kill()  # type: ignore[operator]

    timer = threading.Timer(seconds, expire)
    timer.start()
    try:
        return run(), fired.is_set()  # type: ignore[operator]
    finally:
        timer.cancel()


def _kill_children() -> int:
    children = psutil.Process().children(recursive=True)
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()
    return len(children)


def _graded(files: dict[str, bytes]) -> str:
    import nbformat

    from autograder.integrity import findings_of

    findings = [f"{name}: {item}" for name, data in sorted(files.items()) if name.endswith(".ipynb")
                for item in findings_of(nbformat.reads(data.decode("utf-8"), as_version=4))]
    return "graded" if not findings else "flagged for review: " + "; ".join(findings)


def _collect(course: Course, task: GradingTask) -> dict[str, bytes]:
    folder = course.autograded_dir(task.student_id, task.module_id)
    files = {p.relative_to(folder).as_posix(): p.read_bytes()
             for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}
    files.update(getattr(_WRITTEN, "files", {}))
    return files


def _failure(result: StepResult, killed: bool, limits: Limits) -> str:
    text = result.log + "\n" + result.error
    if killed:
        return f"stopped after the wall-time limit ({limits.wall_seconds} s per notebook)"
    known = {
        "DeadKernelError": "the kernel died (memory, CPU or process limit reached, or it exited)",
        "Kernel died": "the kernel died (memory, CPU or process limit reached, or it exited)",
        "NotJSONError": "a notebook is not valid JSON; the trainee must re-save it from JupyterLab",
        "Notebook does not appear to be JSON": "a notebook is not valid JSON; re-save it",
        "No notebooks found": "no notebook of the assignment was found (renamed or missing?)",
        "Unreadable Notebook": "a notebook is unreadable (wrong nbformat?); re-save it",
        "CellTimeoutError": "a cell ran past the time limit",
    }
    for needle, meaning in known.items():
        if needle in text:
            return meaning
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    useful = [line for line in lines if "Error" in line and not line.startswith(("File ", "raise"))]
    return (useful or lines or ["nbgrader autograde failed"])[-1][:300]


def _peak_rss() -> int:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) * 1024
