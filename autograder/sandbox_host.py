"""A grading worker's sandbox slot, kept for all the submissions the worker grades.

A :class:`KernelHost` holds one slot (an unprivileged uid of its own, see :mod:`autograder.sandbox`)
and a folder of its own, and runs :mod:`autograder.sandbox_zygote` in it under bubblewrap, with the
slot's limits. Each grading kernel is a fork of that process instead of a new interpreter: the
kernel starts with ipykernel, numpy and pandas already imported, which saves most of the time
stock nbgrader spends per notebook, and it runs in the same sandbox as before — same uid, mounts,
namespaces and limits.

Per submission the host lends a *stage*, a folder inside its own where nbgrader writes the
autograded copy: it is the only part of the worker's private course the kernels can see. Between
notebooks the launcher kills every process of the sandbox and empties its temporary folders; a
host whose launcher died, or left something running, is closed and its uid swept.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from autograder.sandbox import (
    SLOT_COUNT,
    SLOT_LOCK_DIR,
    SLOT_UID_BASE,
    Limits,
    SandboxError,
    bwrap_command,
    kernel_environment,
    kill_uid,
)

KERNELS_PER_LAUNCHER = 1000
"""A launcher is replaced after this many kernels: it spends a few milliseconds of its own CPU on
each, and the slot's CPU limit (RLIMIT_CPU) counts them, as it counts a long-lived Dask worker's."""


class HostGone(SandboxError):
    """The slot's kernel launcher is no longer running (killed by the watchdog or by a kernel)."""


class KernelHost:
    """One slot: its uid, its folder and its kernel launcher, for one worker at a time."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.uid, self._slot_lock = _take_slot()
        self.folder = Path(tempfile.mkdtemp(prefix=f"tadrib-slot-{self.uid}-"))
        self.folder.chmod(0o711)  # kernels pass through it to their stage; they cannot list it
        self._lock = threading.Lock()
        command = bwrap_command([sys.executable, "-m", "autograder.sandbox_zygote"], cwd=self.folder,
                                writable=[], uid=self.uid, limits=limits,
                                environment=kernel_environment(self.folder))
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         env={"PATH": "/usr/local/bin:/usr/bin:/bin"})
        try:
            answer = self._read()
        except HostGone:
            answer = {"error": f"it exited with status {self._process.wait()}"}
        if "ready" not in answer:
            self.close()
            raise SandboxError(f"the sandbox's kernel launcher (slot uid {self.uid}) did not start: "
                               f"{answer.get('error')} (its own messages are printed above).")
        self.dead = False
        self.kernels = 0

    # -- requests to the launcher ---------------------------------------------------------------

    def request(self, op: str, **arguments: Any) -> dict[str, Any]:
        with self._lock:
            if self.dead or self._process.stdin is None:
                raise HostGone(f"the kernel launcher of slot {self.uid} is gone")
            try:
                self._process.stdin.write(json.dumps({"op": op, **arguments}).encode() + b"\n")
                self._process.stdin.flush()
            except OSError as error:
                self.dead = True
                raise HostGone(f"the kernel launcher of slot {self.uid} is gone") from error
            return self._read()

    def _read(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self.dead = True
            raise HostGone(f"the kernel launcher of slot {self.uid} is gone")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def spawn(self, cwd: Path, env: dict[str, str], argv: list[str]) -> ForkedKernel:
        answer = self.request("spawn", cwd=str(cwd), env=env, argv=argv)
        self.kernels += 1
        return ForkedKernel(self, int(answer["pid"]))

    def sweep(self) -> None:
        """Nothing of the last kernel left running or written in the slot's temporary folders;
        where the launcher cannot promise it, the whole slot is killed and closed."""
        try:
            left = int(self.request("sweep")["left"])
        except HostGone:
            left = -1
        if left != 0:
            self.dead = True
            kill_uid(self.uid)

    def peak_rss(self) -> int:
        """The peak resident memory of the launcher and of its largest kernel so far, in bytes."""
        try:
            usage = self.request("usage")
        except HostGone:
            return 0
        return max(int(usage["self"]), int(usage["kernels"]))

    def alive(self) -> bool:
        return not self.dead and self._process.poll() is None

    @contextlib.contextmanager
    def stage(self) -> Iterator[Path]:
        """A folder for one submission's autograded copy, inside the slot's folder."""
        folder = Path(tempfile.mkdtemp(prefix="stage-", dir=self.folder))
        folder.chmod(0o755)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def kernel_folder(self) -> Path:
        """A private folder for one kernel's connection file and sockets."""
        return Path(tempfile.mkdtemp(prefix="kernel-", dir=self.folder))

    def close(self) -> None:
        self.dead = True
        with contextlib.suppress(OSError):
            if self._process.stdin is not None:
                self._process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=5)
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        kill_uid(self.uid)
        shutil.rmtree(self.folder, ignore_errors=True)
        _HOSTS.pop(self.uid, None)
        self._slot_lock.close()


class ForkedKernel:
    """What jupyter_client's local provisioner expects of its ``Popen``, for a forked kernel."""

    stdin = stdout = stderr = None

    def __init__(self, host: KernelHost, pid: int) -> None:
        self.host, self.pid = host, pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self.returncode = self.host.request("poll", pid=self.pid)["status"]
            except HostGone:
                self.returncode = -signal.SIGKILL
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout or 0)
            time.sleep(0.01)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(HostGone):
                self.host.request("signal", pid=self.pid, signum=int(signum))

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


# -- the worker's hosts ----------------------------------------------------------------------------

_HOSTS: dict[int, KernelHost] = {}
_IDLE: list[KernelHost] = []
_POOL_LOCK = threading.Lock()


@contextlib.contextmanager
def kernel_host(limits: Limits) -> Iterator[KernelHost]:
    """A host for one submission: an idle one of this process with the same limits, or a new one.
    Each thread of a worker (Dask runs several) gets its own."""
    with _POOL_LOCK:
        host = next((h for h in _IDLE if h.limits == limits), None)
        if host is not None:
            _IDLE.remove(host)
    if host is not None and not host.alive():
        host.close()
        host = None
    if host is None:
        host = KernelHost(limits)
        _HOSTS[host.uid] = host
    try:
        yield host
    finally:
        if host.alive() and host.kernels < KERNELS_PER_LAUNCHER:
            with _POOL_LOCK:
                _IDLE.append(host)
        else:
            host.close()


def host_of(uid: int) -> KernelHost:
    """The host of this process that holds slot ``uid`` (for the kernel manager)."""
    host = _HOSTS.get(uid)
    if host is None:
        raise SandboxError(f"no sandbox slot {uid} is held by this process")
    return host


@atexit.register
def close_all() -> None:
    """Every host of this process closed: launchers stopped, uids swept, folders removed."""
    with _POOL_LOCK:
        hosts = list(_HOSTS.values())
        _IDLE.clear()
    for host in hosts:
        host.close()


def _take_slot() -> tuple[int, IO[str]]:
    """An unprivileged uid of this machine's own, held (by a file lock) until released."""
    SLOT_LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
    for slot in range(SLOT_COUNT):
        uid = SLOT_UID_BASE + slot
        handle: IO[str] = (SLOT_LOCK_DIR / f"{uid}.lock").open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        kill_uid(uid)  # leftovers of a worker that was killed
        for stale in Path(tempfile.gettempdir()).glob(f"tadrib-slot-{uid}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        return uid, handle
    raise SandboxError(f"all {SLOT_COUNT} grading slots of this machine are busy; use fewer workers.")

