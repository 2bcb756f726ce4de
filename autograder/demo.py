"""``tadrib demo``: the whole platform end to end on embedded defaults.

Releases every module, simulates a cohort whose submissions are made from the real release
notebooks with real answers (taken from the source solutions), grades them with nbgrader, writes
the feedback, the completion report and the book. Running it again reuses what is there: unchanged
submissions are not graded twice. ``fresh=True`` starts over.
"""

from __future__ import annotations

import dataclasses
import random
import shutil
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat

from autograder import notebooks as nbs
from autograder.book import Book, book
from autograder.catalogue import Module, Programme
from autograder.demo_roster import enrol
from autograder.grading import SubmissionStatus, UnsandboxedWarning, feedback, grade
from autograder.mistral.server import classroom_unless_configured
from autograder.nbgrader_course import Course, write_timestamp
from autograder.progress import Reporter, Silent
from autograder.report import Report, report
from autograder.sandbox import sandbox_unavailable
from autograder.steering import IndicatorExport, indicators
from autograder.workspace import Workspace, release

DEFAULT_DEMO_WORKSPACE = Path("var/demo")
PROFILES = ("solved", "partial", "blank")
PROFILE_WEIGHTS = (0.5, 0.3, 0.2)


@dataclass(frozen=True)
class Trainee:
    """A simulated trainee: a pseudonymous id, a programme and how they work."""

    student_id: str
    programme_id: str
    profile: str


@dataclass(frozen=True)
class DemoResult:
    workspace: Path
    cohort: tuple[Trainee, ...]
    statuses: tuple[SubmissionStatus, ...]
    report: Report
    book: Book
    indicators: IndicatorExport


def demo(*, trainees: int = 30, workspace: Path = DEFAULT_DEMO_WORKSPACE, fresh: bool = False,
         seed: int = 2026, root: Path | None = None,
         reporter: Reporter | None = None) -> DemoResult:
    """Run the whole flow for a simulated cohort of ``trainees`` people."""
    steps = reporter or Silent()
    if fresh and workspace.exists():
        shutil.rmtree(workspace)
    ws = Workspace.open(root=root, workspace=workspace, db_url="")
    with classroom_unless_configured(ws.path):
        return _run(ws, trainees, seed, steps)


def _run(ws: Workspace, trainees: int, seed: int, steps: Reporter) -> DemoResult:
    modules = [(p, m) for p in ws.catalogue.programmes for m in p.modules]
    advance = steps.task("Publication (nbgrader generate_assignment)", len(modules))
    release(root=ws.catalogue.root, workspace=ws.path, db_url="", on_step=advance)
    cohort = enrol_cohort(ws, simulate_cohort(ws.catalogue.programmes, trainees, seed), seed)
    hand_in_all(ws, cohort, seed)
    statuses = _grade_all(ws, cohort, steps)
    grade_written_answers(ws, cohort)
    done = report(root=ws.catalogue.root, workspace=ws.path, db_url="")
    built = book(root=ws.catalogue.root, workspace=ws.path, db_url="")
    counted = indicators(root=ws.catalogue.root, workspace=ws.path, db_url="")
    return DemoResult(ws.path, tuple(cohort), tuple(statuses), done, built, counted)


def enrol_cohort(ws: Workspace, cohort: list[Trainee], seed: int) -> list[Trainee]:
    """Import a synthetic roster for the cohort (fake names, regions, genders, employers) through
    the real roster import: each trainee is then graded under their pseudonym."""
    ids = enrol(ws.path, ws.catalogue.root, [t.programme_id for t in cohort], seed)
    return [dataclasses.replace(t, student_id=sid) for t, sid in zip(cohort, ids, strict=True)]


def simulate_cohort(programmes: tuple[Programme, ...], size: int, seed: int) -> list[Trainee]:
    """``size`` trainees spread over the programmes in turn, with seeded random profiles.

    The first three trainees of each programme take one profile each, so every cohort shows a
    completion, a partial attempt and a blank hand-in.
    """
    rng = random.Random(seed)
    cohort = []
    for index in range(size):
        programme = programmes[index % len(programmes)]
        rank = index // len(programmes)
        profile = PROFILES[rank] if rank < len(PROFILES) else rng.choices(PROFILES,
                                                                          PROFILE_WEIGHTS)[0]
        cohort.append(Trainee(f"demo-{index + 1:03d}", programme.id, profile))
    return cohort


def hand_in_all(ws: Workspace, cohort: list[Trainee], seed: int) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    for trainee in cohort:
        programme = ws.catalogue.programme(trainee.programme_id)
        for module in programme.modules:
            when = now - timedelta(days=rng.randint(1, 40), minutes=rng.randint(0, 600))
            hand_in(ws.course(programme), module, trainee, when)


def hand_in(course: Course, module: Module, trainee: Trainee, when: datetime) -> Path:
    """Write the trainee's submission into submitted/, unless the same one is already there."""
    dest = course.submitted_dir(trainee.student_id, module.id)
    dest.mkdir(parents=True, exist_ok=True)
    changed = False
    for path in sorted(course.release_dir(module.id).iterdir()):
        target = dest / path.name
        data = _answered(path, module, trainee.profile) if path.suffix == ".ipynb" \
            else path.read_bytes()
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
            changed = True
    if changed or not (dest / "timestamp.txt").exists():
        write_timestamp(dest, when)
    return dest


def _answered(release_path: Path, module: Module, profile: str) -> bytes:
    release_nb = nbs.read(release_path)
    if profile == "blank":
        filled = release_nb
    else:
        source = nbs.read(module.folder / release_path.name)
        ids = [a.grade_id for a in nbs.answers(source)]
        filled = nbs.fill_answers(release_nb, source, ids if profile == "solved" else ids[:1])
    text: str = nbformat.writes(filled)
    return text.encode("utf-8")


def grade_written_answers(ws: Workspace, cohort: list[Trainee]) -> None:
    """The instructor's part: full marks for a written answer that was given, none for a blank."""
    for trainee in cohort:
        programme = ws.catalogue.programme(trainee.programme_id)
        course = ws.course(programme)
        for module in programme.modules:
            course.grade_by_hand(module.id, trainee.student_id,
                                 1.0 if trainee.profile == "solved" else 0.0)


def _grade_all(ws: Workspace, cohort: list[Trainee], steps: Reporter) -> list[SubmissionStatus]:
    statuses: list[SubmissionStatus] = []
    counts = {p.id: sum(t.programme_id == p.id for t in cohort) for p in ws.catalogue.programmes}
    total = sum(counts[p.id] * len(p.modules) for p in ws.catalogue.programmes)
    sandboxed = sandbox_unavailable() is None  # the simulated cohort is trusted code
    advance = steps.task("Correction (nbgrader autograde, "
                         f"{'sandboxed' if sandboxed else 'not sandboxed'})", total)
    modules = [m.id for p in ws.catalogue.programmes for m in p.modules]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsandboxedWarning)
        statuses += grade(modules, root=ws.catalogue.root, workspace=ws.path, db_url="",
                          sandbox=sandboxed,
                          on_progress=lambda s: advance(f"{s.student_id} {s.module_id}"))
    advance_fb = steps.task("Retours (nbgrader generate_feedback)", total)
    for programme in ws.catalogue.programmes:
        for module in programme.modules:
            feedback(module.id, root=ws.catalogue.root, workspace=ws.path, db_url="",
                     on_progress=lambda s: advance_fb(s.student_id))
    return statuses
