"""A jupyter_client kernel manager that starts each kernel inside the sandbox.

nbgrader's ``Execute`` preprocessor (nbclient) creates its kernel manager from the configured
class, so grading keeps nbgrader's execution semantics while the kernel process itself runs in the
sandbox as the slot's unprivileged uid: a fork of the slot's kernel launcher
(:mod:`autograder.sandbox_host`), which runs under bubblewrap. The connection uses ZeroMQ over Unix
sockets (IPC) in a private folder of the slot: there is no network inside.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer, Type

from autograder.sandbox import SandboxError, give_to, kernel_environment
from autograder.sandbox_egress import ModelBridge, model_bridge
from autograder.sandbox_host import host_of

KERNEL_OPTIONS = ("--HistoryManager.enabled=False",)
"""A grading kernel is thrown away: no input history database (an SQLite file and a thread)."""
LAUNCHER = ("-m", "ipykernel_launcher")


class SandboxedKernelClient(AsyncKernelClient):
    """jupyter_client's client, ready as soon as the kernel is: stock ``wait_for_ready`` waits
    for 0.2 s of silence on IOPub after the kernel's first answer (a third of a forked kernel's
    start). This one waits for what proves IOPub connected, the kernel's ``idle`` status for the
    very ``kernel_info`` request it answered, and drains IOPub up to it, as stock does."""

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            request = self.kernel_info()
            reply = await self._reply_to(request, "shell", 1.0)
            if reply is not None and await self._reply_to(request, "iopub", 0.1) is not None:
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    async def _reply_to(self, request: str, channel: str, seconds: float) -> dict[str, Any] | None:
        """The shell reply to ``request``, or its ``idle`` status on IOPub; None after ``seconds``."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                if channel == "shell":
                    msg = await self.shell_channel.get_msg(timeout=left)
                else:
                    msg = await self.iopub_channel.get_msg(timeout=left)
            except Empty:
                return None
            if msg["parent_header"].get("msg_id") != request:
                continue
            if channel == "shell" or (msg["msg_type"] == "status"
                                      and msg["content"].get("execution_state") == "idle"):
                return dict(msg)
        return None

    wait_for_ready = _async_wait_for_ready


class SandboxedKernelManager(AsyncKernelManager):
    client_factory = Type(klass="autograder.sandbox_kernel.SandboxedKernelClient")
    slot_uid = Integer(0, config=True, help="The held slot (its uid) whose launcher forks the "
                                            "kernel, with the slot's limits.")

    _kernel_dir: Path | None = None
    _bridge: ModelBridge | None = None

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        self._kernel_dir = host_of(self.slot_uid).kernel_folder()
        self.transport = "ipc"
        self.ip = str(self._kernel_dir / "ipc")
        self.connection_file = str(self._kernel_dir / "kernel.json")
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        assert self._kernel_dir is not None and self.provisioner is not None
        host = host_of(self.slot_uid)
        if tuple(kernel_cmd[1:3]) != LAUNCHER:
            raise SandboxError(f"grading runs Python kernels only (ipykernel), not {kernel_cmd!r}")
        cwd = Path(kw.get("cwd") or host.folder).resolve()
        environment = kernel_environment(cwd)
        self._bridge = model_bridge(self._kernel_dir)
        if self._bridge is not None:
            environment.update(self._bridge.environment)
        give_to(self.slot_uid, cwd, self._kernel_dir)
        process = host.spawn(cwd, environment, [*kernel_cmd[3:], *KERNEL_OPTIONS])
        provisioner: Any = self.provisioner  # jupyter_client's LocalProvisioner
        provisioner.process, provisioner.pid, provisioner.pgid = process, process.pid, None
        provisioner.cwd = str(cwd)
        self._reconcile_connection_info(provisioner.connection_info)

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        """A killed kernel is gone within milliseconds: check every 5 ms, not every 100 ms."""
        await super()._async_wait(pollinterval=min(pollinterval, 0.005))

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if restart:
            return
        host_of(self.slot_uid).sweep()
        if self._bridge is not None:
            self._bridge.close()
            self._bridge = None
        if self._kernel_dir is not None:
            shutil.rmtree(self._kernel_dir, ignore_errors=True)
            self._kernel_dir = None


class NoSandboxHere(AsyncKernelManager):
    """The kernel manager of formgrader's own buttons on the hub: it starts no kernel.

    formgrader's "autograde" runs nbgrader in the formgrader's process, as the course's account,
    which reads the solutions and writes the gradebook: student code would run with those rights.
    Grading happens with ``tadrib grade``, in the sandbox; formgrader then shows its grades."""

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        raise SandboxError(FORMGRADER_REFUSAL)


FORMGRADER_REFUSAL = (
    "formgrader's autograde is switched off on this hub: it would run the trainees' code without "
    "the sandbox, as the course's account, which can read the solutions and write the gradebook. "
    "Grade with `sudo tadrib grade MODULE` on the hub's machine; the grades then appear here.")
