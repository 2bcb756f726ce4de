"""Benchmark: stock `nbgrader autograde` against `tadrib grade` on the same batch, in one run.

    python benchmarks/grading.py [--submissions 40] [--module ds-01-python-pandas] [--workers N]

The batch: N submissions of a module with two notebooks, built from the real student release —
a third fully solved, a third with only the first answer, a third blank. Stock nbgrader grades a
copy of the course (one process, as `nbgrader autograde MODULE`); tadrib grades the original with
its workers and the sandbox on. Scores must be identical. Printed: both throughputs and their ratio,
ours against the floor (starting a fresh kernel per notebook and executing it, nothing else, over the
same number of cores: what any grader pays that starts a new interpreter per notebook, as stock
nbgrader does; tadrib's kernels are forked from a launcher that imported them once, so it can go
under it), and the peak memory of a worker and of its sandbox. The last line is `speedup: <ratio>`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder import notebooks as nbs  # noqa: E402
from autograder.grading import grade  # noqa: E402
from autograder.nbgrader_course import Course, write_timestamp  # noqa: E402
from autograder.workspace import Workspace, release  # noqa: E402

PROFILES = ("solved", "partial", "blank")


def build_batch(workspace: Path, module_id: str, count: int) -> Course:
    release(module=module_id, root=REPO, workspace=workspace)
    ws = Workspace.open(root=REPO, workspace=workspace)
    programme, module = ws.catalogue.find_module(module_id)
    course = ws.course(programme)
    for index in range(count):
        student = f"bench-{index:03d}"
        folder = course.submitted_dir(student, module_id)
        shutil.copytree(course.release_dir(module_id), folder)
        for path in sorted(folder.glob("*.ipynb")):
            source = nbs.read(module.folder / path.name)
            ids = [a.grade_id for a in nbs.answers(source)]
            keep = {"solved": ids, "partial": ids[:1], "blank": []}[PROFILES[index % 3]]
            nbformat.write(nbs.fill_answers(nbs.read(path), source, keep), path)
        write_timestamp(folder, datetime.now(UTC))
    return course


def stock(course: Course, module_id: str) -> float:
    started = time.perf_counter()
    nbgrader = Path(sys.executable).parent / "nbgrader"
    subprocess.run([str(nbgrader), "autograde", module_id, "--log-level=ERROR"], cwd=course.root,
                   check=True, env=dict(os.environ, PATH=f"{nbgrader.parent}:{os.environ['PATH']}",
                                        PYTHONWARNINGS="ignore"))  # its SQLAlchemy warnings
    return time.perf_counter() - started


def floor(course: Course, module_id: str, cores: int) -> float:
    """A fresh kernel's start, execution and stop for every submitted notebook, divided over the
    cores."""
    started = time.perf_counter()
    for folder in sorted((course.root / "submitted").glob(f"*/{module_id}")):
        for path in sorted(folder.glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            NotebookClient(nb, timeout=60, allow_errors=True, kernel_name="python3",
                           resources={"metadata": {"path": str(folder)}}).execute()
    return (time.perf_counter() - started) / cores


def scores(course: Course) -> dict[str, float]:
    return {s.student_id: s.score for s in course.scores()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--module", default="ds-01-python-pandas")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="tadrib-bench-grading-"))
    try:
        ours_course = build_batch(base / "ws", args.module, args.submissions)
        stock_root = base / "stock"
        shutil.copytree(ours_course.root, stock_root)
        stock_course = Course(stock_root, ours_course.course_id)
        stock_course.write_config()
        stock_s = stock(stock_course, args.module)
        started = time.perf_counter()
        statuses = grade(args.module, root=REPO, workspace=base / "ws", workers=args.workers)
        ours_s = time.perf_counter() - started
        floor_s = floor(ours_course, args.module, args.workers)
        if scores(stock_course) != scores(ours_course) or not all(s.ok for s in statuses):
            sys.exit(f"scores differ: stock {scores(stock_course)} vs tadrib {scores(ours_course)}")
        n = args.submissions
        peak = max(s.peak_rss_bytes for s in statuses) / 1024**2
        kernel = max(s.kernel_peak_rss_bytes for s in statuses) / 1024**2
        notebooks = len(list(ours_course.release_dir(args.module).glob("*.ipynb")))
        print(f"submissions: {n} of {args.module} ({notebooks} notebooks each)")
        print(f"stock nbgrader autograde: {stock_s:.1f} s ({n / stock_s:.2f} submissions/s)")
        print(f"tadrib grade, {args.workers} workers, sandboxed: {ours_s:.1f} s "
              f"({n / ours_s:.2f} submissions/s)")
        print(f"floor (a fresh kernel per notebook + execution only, over {args.workers} cores): "
              f"{floor_s:.1f} s; tadrib takes {ours_s / floor_s:.2f}x the floor's time "
              "(its kernels are forked, pre-imported)")
        print(f"peak memory of a worker: {peak:.0f} MiB; of its sandbox's largest process "
              f"(launcher or kernel, resident, pages shared with the launcher included): "
              f"{kernel:.0f} MiB")
        print("scores identical: yes")
        print(f"speedup: {stock_s / ours_s:.2f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
