"""The sandbox for student code: each grading kernel runs under bubblewrap as an unprivileged uid.

What the kernel of one submission gets:

* its own working directory (the submission being graded), read-write, and a ``/tmp`` emptied
  before and after it;
* the system, the Python installation, the virtual environment and the ``autograder`` package,
  read-only — nothing else of the machine: no ``source/``, no other submission, no gradebook, no
  roster, no workspace;
* no network (a new, empty network namespace), a PID namespace whose every other process is killed
  when its notebook ends, a minimal environment (no inherited secrets);
* an unprivileged uid of its own (one per grading slot, held by one grading worker at a time:
  :mod:`autograder.sandbox_host`, so per-uid limits are per submission), with
  ``setpriv --no-new-privs`` and resource limits: address space (memory), CPU seconds, processes,
  file size, open files. Wall time per notebook is enforced by the grader (see grading workers).

The kernels of a slot are forked from one launcher per slot (:mod:`autograder.sandbox_zygote`),
started once under :func:`bwrap_command`; docs/grading.md says why that is as safe as a new
sandbox per kernel.

Tools: bubblewrap (``apt-get install bubblewrap``), util-linux ``setpriv`` and ``prlimit``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

GIB = 1024**3
SLOT_UID_BASE = 61000
SLOT_COUNT = 64
SLOT_LOCK_DIR = Path("/tmp/tadrib-sandbox-slots")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


class SandboxError(Exception):
    """The sandbox cannot be set up here; the message says why and how to fix it."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one grading kernel (defaults: the programme's grading policy)."""

    memory_bytes: int = 2 * GIB
    """Address space of the kernel and every process it starts (RLIMIT_AS)."""
    cpu_seconds: int = 300
    """CPU time of each process (RLIMIT_CPU); the kernel is killed past it."""
    processes: int = 64
    """Processes and threads the slot's uid may run at once (RLIMIT_NPROC): stops fork bombs."""
    file_bytes: int = 256 * 1024**2
    """Largest file the kernel may write (RLIMIT_FSIZE)."""
    open_files: int = 256
    """Open file descriptors (RLIMIT_NOFILE)."""
    wall_seconds: int = 120
    """Wall time of one notebook, enforced by the grader, which kills the slot past it."""
    cell_seconds: int = 60
    """Time one cell may run before nbgrader interrupts it (nbgrader's Execute.timeout)."""

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _readonly_roots() -> list[Path]:
    """What a kernel needs to read: the system, Python, the venv, the autograder package."""
    roots = {Path(p) for p in ("/usr", "/etc", "/lib", "/lib64", "/bin", "/sbin") if Path(p).exists()}
    roots |= {Path(sys.base_prefix).resolve(), Path(sys.prefix)}
    roots.add(Path(__file__).resolve().parent)
    for key in ("purelib", "platlib"):
        roots.add(Path(sysconfig.get_paths()[key]))
    return sorted(roots)


def _covered(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def bwrap_command(argv: list[str], *, cwd: Path, writable: list[Path], uid: int, limits: Limits,
                  environment: dict[str, str]) -> list[str]:
    """``argv`` wrapped: bubblewrap namespaces and mounts, then setpriv and prlimit."""
    ro = _readonly_roots()
    command = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
               "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
    for key, value in sorted(environment.items()):
        command += ["--setenv", key, value]
    command += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    made: set[Path] = set()
    mounts = [("--ro-bind", root) for root in ro] + [("--bind", t) for t in [cwd, *writable]]
    for kind, target in mounts:
        for parent in reversed(target.parents):
            if parent not in made and parent != Path("/") and not _covered(parent, ro):
                command += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        command += [kind, str(target), str(target)]
    command += ["--chdir", str(cwd), "--",
                "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
                "prlimit", f"--as={limits.memory_bytes}", f"--cpu={limits.cpu_seconds}",
                f"--nproc={limits.processes}", f"--fsize={limits.file_bytes}",
                f"--nofile={limits.open_files}", "--", *argv]
    return command


def kernel_environment(home: Path) -> dict[str, str]:
    """The whole environment of a grading kernel: nothing inherited but the locale and Mistral's
    endpoint choice (never a key)."""
    env = {"PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home),
           "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1",
           # IPython's profile in the private /tmp, not in the graded folder (whose files come back)
           "IPYTHONDIR": "/tmp/ipython", "TADRIB_SANDBOXED": "1",
           # the grader's own autograder package (bound read-only) for `from autograder.llm import …`
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    env.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    for key in ("TADRIB_MISTRAL_MODE", "TADRIB_MISTRAL_URL"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def kill_uid(uid: int) -> int:
    """Kill every process of ``uid`` (a slot's leftovers); return how many there were."""
    killed = 0
    for process in psutil.process_iter(["uids"]):
        uids = process.info.get("uids")
        if uids is not None and uid in (uids.real, uids.effective):
            try:
                process.kill()
                killed += 1
            except psutil.Error:
                pass
    return killed


def give_to(uid: int, *paths: Path) -> None:
    """Hand directories (and what they hold) to the slot's uid so the kernel may write there."""
    for top in paths:
        os.chown(top, uid, uid)
        for folder, dirs, files in os.walk(top):
            for name in dirs + files:
                os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)


def check_available() -> None:
    """Refuse, with the reason and the fix, where the sandbox cannot run."""
    if os.geteuid() != 0:
        raise SandboxError("sandboxed grading runs each kernel as its own unprivileged uid "
                           f"({SLOT_UID_BASE}–{SLOT_UID_BASE + SLOT_COUNT - 1}), which needs root: run "
                           "the grader as root (e.g. the instructor's grading service), or pass "
                           "--no-sandbox for trusted debugging only.")
    missing = [tool for tool in ("bwrap", "setpriv", "prlimit") if shutil.which(tool) is None]
    if missing:
        raise SandboxError(f"missing {', '.join(missing)}: install them with "
                           "`apt-get install bubblewrap util-linux` (or run scripts/install-sandbox.sh).")
    with tempfile.TemporaryDirectory(prefix="tadrib-probe-") as empty:
        probe = bwrap_command([sys.executable, "-c", "pass"], cwd=Path(empty), writable=[],
                              uid=SLOT_UID_BASE + SLOT_COUNT, limits=Limits(),
                              environment={"PATH": "/usr/bin:/bin"})
        done = subprocess.run(probe, capture_output=True, text=True, check=False, timeout=60)
    if done.returncode != 0:
        raise SandboxError("bubblewrap cannot create the namespaces here "
                           f"({done.stderr.strip() or done.returncode}); on a container, allow user/"
                           "mount/PID/network namespaces (e.g. run it privileged), or pass "
                           "--no-sandbox for trusted debugging only.")


def sandbox_unavailable() -> str | None:
    """Why the sandbox cannot run here, or None when it can."""
    try:
        check_available()
    except SandboxError as error:
        return str(error)
    return None
