"""A jupyter_client kernel manager that starts each kernel inside the sandbox.

nbgrader's ``Execute`` preprocessor (nbclient) creates its kernel manager from the configured
class, so grading keeps nbgrader's execution semantics while the kernel process itself runs under
bubblewrap as the slot's unprivileged uid. The connection uses ZeroMQ over Unix sockets (IPC) in a
private directory shared with the sandbox: there is no network inside.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer, Unicode

from autograder.sandbox import Limits, bwrap_command, give_to, kernel_environment
from autograder.sandbox_egress import ModelBridge, model_bridge

KERNEL_OPTIONS = ("--HistoryManager.enabled=False",)
"""A grading kernel is thrown away: no input history database (an SQLite file and a thread)."""


class SandboxedKernelManager(AsyncKernelManager):
    slot_uid = Integer(0, config=True, help="Unprivileged uid the kernel runs as.")
    limits_json = Unicode("{}", config=True, help="Resource limits (autograder.sandbox.Limits).")

    _kernel_dir: Path | None = None
    _bridge: ModelBridge | None = None

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        self._kernel_dir = Path(tempfile.mkdtemp(prefix="tadrib-kernel-"))
        self.transport = "ipc"
        self.ip = str(self._kernel_dir / "ipc")
        self.connection_file = str(self._kernel_dir / "kernel.json")
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        assert self._kernel_dir is not None
        cwd = Path(kw.get("cwd") or tempfile.gettempdir()).resolve()
        limits = Limits(**json.loads(self.limits_json))
        environment = kernel_environment(cwd)
        self._bridge = model_bridge(self._kernel_dir)
        if self._bridge is not None:
            environment.update(self._bridge.environment)
        give_to(self.slot_uid, cwd, self._kernel_dir)
        wrapped = bwrap_command([*kernel_cmd, *KERNEL_OPTIONS], cwd=cwd, writable=[self._kernel_dir],
                                uid=self.slot_uid, limits=limits, environment=environment)
        kw["env"] = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
        kw["stdout"] = subprocess.DEVNULL  # the kernel's own banner; outputs travel over ZeroMQ
        await super()._async_launch_kernel(wrapped, **kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self._bridge is not None and not restart:
            self._bridge.close()
            self._bridge = None
        if self._kernel_dir is not None and not restart:
            shutil.rmtree(self._kernel_dir, ignore_errors=True)
            self._kernel_dir = None
