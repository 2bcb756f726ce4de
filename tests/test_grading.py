"""`tadrib grade`: parallel, sandboxed, resumable grading on nbgrader's pipeline.

Each probe is a submission of the mini module whose first answer tries an attack: if the attack
succeeds it defines a correct ``somme`` (and scores), if it is blocked nothing is defined (0).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import psutil
import pytest

from autograder import notebooks as nbs
from autograder.grading import SubmissionStatus, grade
from autograder.nbgrader_course import Course, write_timestamp
from autograder.sandbox import Limits, sandbox_unavailable
from autograder.workspace import Workspace, release

MODULE = "mini-01-sommes"
NEEDS_SANDBOX = pytest.mark.skipif(sandbox_unavailable() is not None and os.environ.get("CI") != "true",
                                   reason=f"sandbox unavailable: {sandbox_unavailable()}")
FAST = Limits(memory_bytes=1024**3, cpu_seconds=60, processes=48, wall_seconds=20, cell_seconds=8)
CORRECT = "def somme(xs):\n    return sum(xs)\n"


@pytest.fixture
def course(mini: Path, tmp_path: Path) -> tuple[Path, Path, Course]:
    """A released mini module in a fresh workspace."""
    workspace = tmp_path / "ws"
    release(root=mini, workspace=workspace)
    ws = Workspace.open(root=mini, workspace=workspace)
    programme, _ = ws.modules(MODULE)[0]
    return mini, workspace, ws.course(programme)


def hand_in(course: Course, mini: Path, student: str, first_answer: str | None = None,
            *, solved: bool = False) -> Path:
    source = nbs.read(mini / "courses/mini-track" / MODULE / "sommes.ipynb")
    release_nb = nbs.read(course.release_dir(MODULE) / "sommes.ipynb")
    notebook = source if solved else release_nb
    if first_answer is not None:
        notebook = nbs.fill_answers(release_nb, source, [])
        next(c for c in notebook.cells if nbs.grade_id(c) == "q1-somme").source = first_answer
    folder = course.submitted_dir(student, MODULE)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(mini / "courses/mini-track" / MODULE / "nombres.csv", folder)
    nbformat.write(notebook, folder / "sommes.ipynb")
    write_timestamp(folder, datetime.now(UTC))
    return folder


def scores(course: Course) -> dict[str, float]:
    return {s.student_id: s.score for s in course.scores()}


def run(mini: Path, workspace: Path, **options: object) -> dict[str, SubmissionStatus]:
    options.setdefault("limits", FAST)
    options.setdefault("workers", 2)
    return {s.student_id: s for s in grade(MODULE, root=mini, workspace=workspace,
                                           **options)}  # type: ignore[arg-type]


def stock_autograde(course: Course, student: str, tmp_path: Path) -> float:
    """The same submission graded by stock `nbgrader autograde` in a copy of the course."""
    copy = tmp_path / f"stock-{student}"
    shutil.copytree(course.root, copy)
    stock = Course(copy, course.course_id)
    stock.write_config()
    stock.autograde(MODULE, student, force=True)
    return scores(stock)[student]


@NEEDS_SANDBOX
def test_scores_match_stock_nbgrader(course: tuple[Path, Path, Course], tmp_path: Path) -> None:
    """Does sandboxed parallel grading give exactly stock nbgrader's scores?"""
    mini, workspace, c = course
    hand_in(c, mini, "full", solved=True)
    hand_in(c, mini, "blank")
    hand_in(c, mini, "part", CORRECT)
    statuses = run(mini, workspace)
    assert all(s.ok for s in statuses.values()), statuses
    ours = scores(c)
    assert ours == {"full": 5.0, "blank": 0.0, "part": 2.0}
    for student, score in ours.items():
        assert stock_autograde(c, student, tmp_path) == score
    assert (c.autograded_dir("full", MODULE) / "sommes.ipynb").is_file()


@NEEDS_SANDBOX
def test_rerun_is_idempotent_and_resumes(course: tuple[Path, Path, Course]) -> None:
    """Is a second run a no-op, a changed submission regraded, and nothing duplicated?"""
    mini, workspace, c = course
    hand_in(c, mini, "a", CORRECT)
    hand_in(c, mini, "b")
    run(mini, workspace)
    again = run(mini, workspace)
    assert {s.message for s in again.values()} == {"unchanged, kept"}
    hand_in(c, mini, "b", CORRECT)  # b resubmits
    third = run(mini, workspace)
    assert third["a"].message == "unchanged, kept" and third["b"].message == "graded"
    assert scores(c) == {"a": 2.0, "b": 2.0}
    forced = run(mini, workspace, force=True)
    assert {s.message for s in forced.values()} == {"graded"}
    with sqlite3.connect(c.root / "gradebook.db") as db:
        rows = db.execute("select count(*) from submitted_assignment").fetchone()[0]
    assert rows == 2


@NEEDS_SANDBOX
def test_killed_run_is_resumed(course: tuple[Path, Path, Course], tmp_path: Path) -> None:
    """After a kill -9 mid-run, does a new run grade what is missing and keep what is done?"""
    mini, workspace, c = course
    for index in range(4):
        hand_in(c, mini, f"t{index}", CORRECT if index % 2 else None)
    script = tmp_path / "run.py"
    script.write_text(
        "import sys\nfrom pathlib import Path\nfrom autograder.grading import grade\n"
        "if __name__ == '__main__':\n"
        f"    grade({MODULE!r}, root=Path({str(mini)!r}), workspace=Path({str(workspace)!r}), "
        "workers=1)\n", encoding="utf-8")
    child = subprocess.Popen([sys.executable, str(script)], cwd=Path(__file__).parents[1])
    results = c.root / ".tadrib/grading" / f"{MODULE}.json"
    deadline = time.monotonic() + 120
    while not results.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = psutil.Process(child.pid).children(recursive=True)
    child.kill()  # kill -9 while the others are still being graded
    child.wait()
    # its pool worker, holding a sandbox slot, and the worker's sandbox die with it
    _, alive = psutil.wait_procs(workers, timeout=20)
    assert alive == []
    statuses = run(mini, workspace)
    assert all(s.ok for s in statuses.values())
    assert any(s.message == "unchanged, kept" for s in statuses.values())
    assert scores(c) == {"t0": 0.0, "t1": 2.0, "t2": 0.0, "t3": 2.0}


@NEEDS_SANDBOX
def test_busy_database_delays_grading(course: tuple[Path, Path, Course]) -> None:
    """Does another process holding the gradebook for a while delay grading, not abort it?"""
    mini, workspace, c = course
    hand_in(c, mini, "a", CORRECT)
    holder = sqlite3.connect(c.root / "gradebook.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    release_later = threading.Timer(12, lambda: holder.execute("COMMIT"))
    release_later.start()
    try:
        statuses = run(mini, workspace)
    finally:
        release_later.join()
        holder.close()
    assert statuses["a"].ok, statuses["a"].message
    assert scores(c) == {"a": 2.0}


ATTACKS = {
    # name: (first answer trying the attack; defines somme only if the attack worked)
    "read-solutions": "open({source!r}).read()\n" + CORRECT,
    "read-gradebook": "open({gradebook!r}, 'rb').read(100)\n" + CORRECT,
    "write-gradebook": "import sqlite3\nsqlite3.connect({gradebook!r}).execute("
                       "'update grade set auto_score = 99').connection.commit()\n" + CORRECT,
    "read-other-submission": "open({other!r}).read()\n" + CORRECT,
    "network": "import socket\nsocket.create_connection(('127.0.0.1', 5432), timeout=3)\n" + CORRECT,
    "list-workspace": "import os\nassert os.listdir({workspace!r})\n" + CORRECT,
    # the slot's kernel launcher, which every later kernel of the slot is forked from
    "ptrace-launcher": "import ctypes, os\n"
                       "assert ctypes.CDLL(None).ptrace(16, os.getppid(), 0, 0) == 0\n" + CORRECT,
    "read-launcher": "import os\nopen('/proc/%d/environ' % os.getppid(), 'rb').read()\n" + CORRECT,
}


@NEEDS_SANDBOX
def test_attacks_are_blocked(course: tuple[Path, Path, Course]) -> None:
    """Is each attack blocked (0 points) while the honest submission keeps its grade?"""
    mini, workspace, c = course
    hand_in(c, mini, "honest", CORRECT)
    paths = {"source": str(c.source_dir(MODULE) / "sommes.ipynb"),
             "gradebook": str(c.root / "gradebook.db"),
             "other": str(c.submitted_dir("honest", MODULE) / "sommes.ipynb"),
             "workspace": str(workspace)}
    for name, code in ATTACKS.items():
        hand_in(c, mini, name, code.format(**paths))
    statuses = run(mini, workspace)
    assert all(s.ok for s in statuses.values()), statuses
    graded = scores(c)
    assert graded["honest"] == 2.0
    # the memory of the sandbox's processes is reported too (a kernel holds tens of MiB)
    assert statuses["honest"].kernel_peak_rss_bytes > 20 * 1024**2
    for name in ATTACKS:
        assert graded[name] == 0.0, f"attack {name} was not blocked"


@NEEDS_SANDBOX
def test_background_process_is_gone_after_grading(course: tuple[Path, Path, Course]) -> None:
    """Is a process the submission left running killed when its grading ends?"""
    mini, workspace, c = course
    planted = ["sleep", "617.25"]  # a command line no other test starts
    code = (f"import subprocess\nsubprocess.Popen({planted!r}, start_new_session=True)\n"
            + CORRECT)
    hand_in(c, mini, "daemon", code)
    statuses = run(mini, workspace)
    assert statuses["daemon"].ok
    # only the planted process is looked for: other tests may be grading in the slots right now
    leftovers = [p.pid for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == planted]
    assert leftovers == []


@NEEDS_SANDBOX
def test_next_trainee_inherits_nothing_from_the_slot(course: tuple[Path, Path, Course]) -> None:
    """Kernels of one worker are forked from the same launcher, one trainee after another: does
    anything the first one leaves behind (an IPython startup file in /tmp, files in /dev/shm, a
    process waiting for the next kernel, a killed launcher) reach the next one?"""
    mini, workspace, c = course
    planted = ("import os, pathlib, subprocess\n"
               "startup = pathlib.Path('/tmp/ipython/profile_default/startup')\n"
               "startup.mkdir(parents=True, exist_ok=True)\n"
               "(startup / '00-cadeau.py').write_text('def somme(xs):\\n    return sum(xs)\\n')\n"
               "try:\n    pathlib.Path('/dev/shm/cadeau').write_text('x')\n"
               "except OSError:\n    pass\n"
               "subprocess.Popen(['sleep', '617.5'], start_new_session=True)\n")
    hand_in(c, mini, "a-plante", planted + CORRECT)
    hand_in(c, mini, "b-vide", "pass\n")  # next, same worker, defines no somme: must score 0
    hand_in(c, mini, "c-tue", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n" + CORRECT)
    hand_in(c, mini, "d-honnete", CORRECT)  # after its launcher was killed: a new one
    hand_in(c, mini, "e-vide", "pass\n")
    statuses = run(mini, workspace, workers=1)
    # killing the launcher ends its sandbox, its own kernel included: a clear status, no grade
    assert not statuses["c-tue"].ok and "kernel died" in statuses["c-tue"].message
    assert [s for s in statuses.values() if not s.ok and s.student_id != "c-tue"] == []
    assert {k: v for k, v in scores(c).items() if k != "c-tue"} == {
        "a-plante": 2.0, "b-vide": 0.0, "d-honnete": 2.0, "e-vide": 0.0}
    assert [p.pid for p in psutil.process_iter(["cmdline"])
            if p.info["cmdline"] == ["sleep", "617.5"]] == []


@NEEDS_SANDBOX
def test_later_notebook_cannot_rewrite_an_earlier_one(mini: Path, tmp_path: Path) -> None:
    """The second notebook's kernel runs where nbgrader wrote the first one's executed copy: does
    rewriting it (errors removed from its outputs) change the first notebook's grade?"""
    module = mini / "courses/mini-track" / MODULE
    shutil.copy(module / "sommes.ipynb", module / "sommes2.ipynb")
    workspace = tmp_path / "ws"
    release(root=mini, workspace=workspace)
    ws = Workspace.open(root=mini, workspace=workspace)
    c = ws.course(ws.modules(MODULE)[0][0])
    rewrite = ("import json\n"
               "nb = json.load(open('sommes.ipynb'))\n"
               "for cell in nb['cells']:\n"
               "    cell['outputs'] = [o for o in cell.get('outputs', []) if o['output_type'] != 'error']\n"
               "json.dump(nb, open('sommes.ipynb', 'w'))\n")
    folder = hand_in(c, mini, "reecrit")  # sommes.ipynb left blank: its tests fail
    second = nbs.read(c.release_dir(MODULE) / "sommes2.ipynb")
    source = nbs.read(module / "sommes2.ipynb")
    second = nbs.fill_answers(second, source, [])
    next(cell for cell in second.cells if nbs.grade_id(cell) == "q1-somme").source = rewrite + CORRECT
    nbformat.write(second, folder / "sommes2.ipynb")
    statuses = run(mini, workspace)
    assert statuses["reecrit"].ok, statuses["reecrit"]
    assert scores(c) == {"reecrit": 2.0}  # the second notebook's own q1 points, nothing more
    on_disk = json.loads((c.autograded_dir("reecrit", MODULE) / "sommes.ipynb").read_text())
    assert any(o["output_type"] == "error" for cell in on_disk["cells"]
               for o in cell.get("outputs", []))


@NEEDS_SANDBOX
def test_launcher_is_replaced_after_its_quota_of_kernels(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    """Is a slot's launcher, whose own CPU time counts against the slot's limit, replaced by a new
    one after its quota of kernels, and kept until then?"""
    from autograder import sandbox_host

    monkeypatch.setattr(sandbox_host, "KERNELS_PER_LAUNCHER", 2)

    def one_kernel() -> tuple[int, int]:
        with sandbox_host.kernel_host(FAST) as host:
            kernel = host.spawn(host.folder, {"PATH": "/usr/bin:/bin"}, ["--version"])
            assert kernel.wait(timeout=60) == 0  # ipykernel printed its version and exited
            host.sweep()
            return id(host), host._process.pid

    try:
        first, second, third = one_kernel(), one_kernel(), one_kernel()
    finally:
        sandbox_host.close_all()
    assert first == second  # the same launcher for its first two kernels
    assert third[1] != first[1]  # then a new one
    assert not psutil.pid_exists(first[1])  # and the old one is gone


@NEEDS_SANDBOX
def test_formgrader_autograde_button_refuses_on_the_hub(course: tuple[Path, Path, Course],
                                                       tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """formgrader's own autograde runs nbgrader as the course's account, outside the sandbox: with
    the hub's formgrader settings, does it refuse and say how to grade, without running the
    trainee's code?"""
    from nbgrader.apps import NbGrader
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from autograder.hub import _write_jupyter_config
    from autograder.sandbox_kernel import FORMGRADER_REFUSAL

    mini, _, c = course
    ran = tmp_path / "le-code-a-tourne"
    hand_in(c, mini, "a", f"open({str(ran)!r}, 'w').close()\n" + CORRECT)
    _write_jupyter_config(tmp_path / "grader", {}, {}, trainee=False)
    # what the formgrader service of the hub has: that folder on JUPYTER_CONFIG_PATH, the course
    # as its working directory; its API is built as nbgrader's formgrader builds it
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(tmp_path / "grader"))
    monkeypatch.chdir(c.root)
    app = NbGrader()
    app.load_config_file()
    result = NbGraderAPI(CourseDirectory(parent=app), parent=app).autograde(MODULE, "a")
    assert not result["success"]
    assert FORMGRADER_REFUSAL[:60] in result["error"] + result["log"]
    assert not ran.exists()
    assert scores(c).get("a", 0.0) == 0.0


BAD_INPUTS = {
    "not-json": lambda folder: (folder / "sommes.ipynb").write_text("{ceci n'est pas du JSON"),
    "empty-file": lambda folder: (folder / "sommes.ipynb").write_text(""),
    "wrong-nbformat": lambda folder: (folder / "sommes.ipynb").write_text(
        '{"nbformat": 3, "nbformat_minor": 0, "worksheets": [], "metadata": {}}'),
    "renamed": lambda folder: (folder / "sommes.ipynb").rename(folder / "mes-sommes.ipynb"),
}

RUNAWAY = {
    "loop-ignoring-sigint": "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                            "while True:\n    pass\n",
    "memory-bomb": "blocs = []\nwhile True:\n    blocs.append(bytearray(256 * 1024 * 1024))\n",
    "fork-bomb": "import os\nwhile True:\n    os.fork()\n",
}


@NEEDS_SANDBOX
def test_bad_inputs_get_a_status_and_others_are_graded(course: tuple[Path, Path, Course]) -> None:
    """Does each broken or hostile submission get a clear status, the others their grades?"""
    mini, workspace, c = course
    hand_in(c, mini, "honest", CORRECT)
    for name, breaks in BAD_INPUTS.items():
        breaks(hand_in(c, mini, name, CORRECT))
    for name, code in RUNAWAY.items():
        hand_in(c, mini, name, code + CORRECT)
    statuses = run(mini, workspace)
    assert statuses["honest"].ok and scores(c)["honest"] == 2.0
    for name in [*BAD_INPUTS, *RUNAWAY]:
        status = statuses[name]
        assert status.message, name
        if status.ok:  # graded: the runaway code must not have earned the points
            assert scores(c).get(name, 0.0) == 0.0, name
    assert "JSON" in statuses["not-json"].message or not statuses["not-json"].ok
    assert statuses["renamed"].ok is False or scores(c).get("renamed", 0.0) == 0.0
    # that nothing a submission started survives its grading is checked, with a process only that
    # test starts, by test_background_process_is_gone_after_grading: the slots' uids may be busy
    # with another test's grading right now, so they are not swept here


def test_refuses_without_sandbox_support(course: tuple[Path, Path, Course],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Where bubblewrap is missing, does grading refuse with the fix instead of running unsandboxed?"""
    from autograder.sandbox import SandboxError

    mini, workspace, c = course
    hand_in(c, mini, "a", CORRECT)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SandboxError, match=r"bubblewrap|root"):
        grade(MODULE, root=mini, workspace=workspace)
    assert c.scores() == []


SUBVERSIONS = {
    "input-transformer": "get_ipython().input_transformers_cleanup.append(\n"
                         "    lambda lines: [l for l in lines if not l.lstrip().startswith('assert')])\n",
    "always-equal": "class Toujours:\n    def __eq__(self, other):\n        return True\n"
                    "def somme(xs):\n    return Toujours()\nresultat = Toujours()\n",
    "patched-helper": "import math\nmath_isclose = math.isclose\nimport numpy\n"
                      "numpy.isclose = lambda *a, **k: True\n",
    "overwritten-builtin": "import builtins\nbuiltins.sum = lambda xs: 3\n"
                           "def somme(xs):\n    return sum(xs)\n",
    "hidden-tracebacks": "get_ipython().showtraceback = lambda *a, **k: None\n",
    "event-callback": "def effacer(resultat):\n    resultat.error_in_exec = None\n"
                      "get_ipython().events.register('post_run_cell', effacer)\n",
}


@NEEDS_SANDBOX
def test_subverted_kernels_are_flagged(course: tuple[Path, Path, Course]) -> None:
    """Is a submission that subverts its kernel flagged for review with 0 points, others unchanged
    (an honest one using matplotlib, which registers IPython callbacks of its own, included)?"""
    mini, workspace, c = course
    hand_in(c, mini, "honest", "import matplotlib.pyplot as plt\n" + CORRECT)
    for name, code in SUBVERSIONS.items():
        hand_in(c, mini, name, code)
    statuses = run(mini, workspace)
    assert statuses["honest"].message == "graded"
    graded = {s.student_id: s for s in c.scores()}
    assert graded["honest"].score == 2.0 and not graded["honest"].needs_manual_grade
    for name in SUBVERSIONS:
        assert statuses[name].message.startswith("flagged for review"), (name, statuses[name])
        assert graded[name].score == 0.0 and graded[name].needs_manual_grade, name


@NEEDS_SANDBOX
def test_deleted_test_cell_is_put_back(course: tuple[Path, Path, Course]) -> None:
    """Does deleting a test cell score 0 for it, not 'needs manual grading' forever?"""
    mini, workspace, c = course
    folder = hand_in(c, mini, "sans-test")
    notebook = nbformat.read(folder / "sommes.ipynb", as_version=4)
    notebook.cells = [cell for cell in notebook.cells if nbs.grade_id(cell) != "q1-tests"]
    retyped = next(cell for cell in notebook.cells if nbs.grade_id(cell) == "q2-tests")
    retyped.cell_type, retyped.source = "markdown", "plus de test ici"
    retyped.pop("outputs", None)
    retyped.pop("execution_count", None)
    nbformat.write(notebook, folder / "sommes.ipynb")
    statuses = run(mini, workspace)
    assert statuses["sans-test"].ok, statuses["sans-test"]
    [score] = c.scores()
    assert score.score == 0.0 and not score.needs_manual_grade
    graded = nbformat.read(c.autograded_dir("sans-test", MODULE) / "sommes.ipynb", as_version=4)
    assert {"q1-tests", "q2-tests"} <= {nbs.grade_id(cell) for cell in graded.cells}


@NEEDS_SANDBOX
def test_odd_but_honest_submissions_are_graded(course: tuple[Path, Path, Course]) -> None:
    """Are a missing data file, another kernel and a huge output handled, and the answer graded?"""
    mini, workspace, c = course
    (hand_in(c, mini, "sans-donnees", CORRECT) / "nombres.csv").unlink()
    other = hand_in(c, mini, "autre-noyau", CORRECT)
    notebook = nbformat.read(other / "sommes.ipynb", as_version=4)
    notebook.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    nbformat.write(notebook, other / "sommes.ipynb")
    hand_in(c, mini, "bavard", "for i in range(200_000):\n    print('ligne', i)\n" + CORRECT)
    statuses = run(mini, workspace)
    assert all(s.ok for s in statuses.values()), statuses
    assert scores(c) == {"sans-donnees": 2.0, "autre-noyau": 2.0, "bavard": 2.0}
    graded = c.autograded_dir("bavard", MODULE) / "sommes.ipynb"
    assert graded.stat().st_size < 2 * 1024 * 1024  # nbgrader's LimitOutput kept it small
