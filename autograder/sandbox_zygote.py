"""Inside the sandbox: one slot's grading kernels, forked from a process that imported them once.

Started by :mod:`autograder.sandbox_host` under bubblewrap as the slot's unprivileged uid, with the
slot's resource limits. It imports ipykernel and the libraries the curriculum's notebooks start
with (numpy, pandas), then waits for requests, one JSON line each on its stdin, and answers one
JSON line on its stdout:

* ``spawn`` (``cwd``, ``env``, ``argv``): fork; the child becomes a fresh ipykernel in ``cwd`` with
  exactly ``env`` and ``argv`` (``-f CONNECTION_FILE`` and options), as ``python -m
  ipykernel_launcher`` would; the answer is its pid (inside the sandbox's PID namespace);
* ``poll`` (``pid``): its exit status, or null while it runs;
* ``signal`` (``pid``, ``signum``): to the kernel's process group;
* ``usage``: the peak resident memory of the launcher and of the largest kernel it has run;
* ``sweep``: SIGKILL to every other process of the sandbox until none is left, then ``/tmp``,
  ``/dev/shm`` and System V IPC emptied, so nothing of one submission reaches the next; the answer
  says how many processes are left (0, or the host kills the whole slot).

Why this is safe across trainees (docs/grading.md, "Pre-forked kernels"): this process never reads
a submission; it makes itself non-dumpable first, so a kernel of the same uid, which holds no
capability, can neither ptrace it nor read its memory or file descriptors through /proc; and
between two notebooks ``sweep`` leaves nothing of the previous kernel running or written (its
folder is the grader's, removed by the grader).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PR_SET_DUMPABLE = 4
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "numpy", "pandas")
"""Imported once per slot. Only libraries that start no thread and read nothing from the working
directory when imported: a forked child must not inherit a half-held lock of another thread."""
WIPED = ("/tmp", "/dev/shm")


def main() -> None:
    control_in, control_out = sys.stdin.buffer, sys.stdout.buffer
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        _answer(control_out, {"error": f"prctl(PR_SET_DUMPABLE) failed: errno {ctypes.get_errno()}"})
        return
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:
        _answer(control_out, {"error": f"the kernel launcher runs {threads} threads after its imports; "
                                       "forking it is unsafe"})
        return
    home = Path.cwd()
    _answer(control_out, {"ready": os.getpid()})
    for line in iter(control_in.readline, b""):
        request = json.loads(line)
        op = request.pop("op")
        if op == "spawn":
            pid = os.fork()
            if pid == 0:
                _become_kernel(**request)
            with contextlib.suppress(OSError):  # also done by the child: whichever runs first
                os.setpgid(pid, pid)
            _answer(control_out, {"pid": pid})
        elif op == "poll":
            _answer(control_out, {"status": _poll(request["pid"])})
        elif op == "signal":
            _answer(control_out, {"sent": _signal(request["pid"], request["signum"])})
        elif op == "sweep":
            _answer(control_out, {"left": _sweep(keep=home)})
        elif op == "usage":  # the largest resident size of this launcher and of its kernels
            _answer(control_out, {"self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                                  "kernels": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                                  * 1024})
        else:
            _answer(control_out, {"error": f"unknown request {op!r}"})
    _sweep(keep=home)


def _answer(out: Any, message: dict[str, Any]) -> None:
    out.write(json.dumps(message).encode() + b"\n")
    out.flush()


def _become_kernel(cwd: str, env: dict[str, str], argv: list[str]) -> None:
    """In the forked child: what ``python -m ipykernel_launcher ARGV`` started in ``cwd`` gets."""
    code = 1
    try:
        os.setpgid(0, 0)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)  # the launcher's answers; the kernel's outputs travel over ZeroMQ
        os.close(devnull)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        sys.path[0] = cwd
        if "numpy" in sys.modules:  # numpy's global generator would be the same in every kernel
            sys.modules["numpy"].random.seed()
        sys.argv = ["ipykernel_launcher", *argv]
        from ipykernel.kernelapp import launch_new_instance

        launch_new_instance()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 0
    except BaseException:  # the child reports and exits: it never returns to the launcher
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stderr.flush()
        os._exit(code)


def _poll(pid: int) -> int | None:
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return -signal.SIGKILL  # already reaped: gone
    if done == 0:
        return None
    return os.waitstatus_to_exitcode(status)


def _signal(pid: int, signum: int) -> bool:
    for send in (os.killpg, os.kill):
        try:
            send(pid, signum)
            return True
        except ProcessLookupError:
            continue
    return False


def _others() -> list[int]:
    own = os.getpid()
    return [int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) not in (1, own)]


def _sweep(keep: Path) -> int:
    """Kill everything but this process (and the sandbox's init), then empty what a kernel may
    have written outside its folder."""
    deadline = time.monotonic() + 10
    while _others() and time.monotonic() < deadline:
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        time.sleep(0.002)
    kept = {keep, *keep.parents}
    for top in WIPED:
        with contextlib.suppress(OSError), os.scandir(top) as entries:
            for entry in entries:
                path = Path(entry.path)
                if path in kept:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        path.unlink()
    _remove_ipc()
    return len(_others())


def _remove_ipc() -> None:
    """System V shared memory, queues and semaphores outlive processes: remove them."""
    for kind in ("shm", "msg", "sem"):
        with contextlib.suppress(OSError):
            rows = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
            if rows and shutil.which("ipcrm"):
                subprocess.run(["ipcrm", "--all"], check=False, capture_output=True, timeout=10)
                return


if __name__ == "__main__":
    main()
