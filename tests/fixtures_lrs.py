"""A real Ralph LRS on a free loopback port, started from its own environment (scripts/lrs.py)."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "lrs.py"
USER, PASSWORD = "tadrib", "tests-only-password"
START_TIMEOUT_S = 90


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tadrib_lrs_script", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class LRS:
    url: str  # the xAPI root, e.g. http://127.0.0.1:PORT/xAPI
    user: str
    password: str
    data: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Ralph exited with {process.returncode}: "
                               f"{process.stderr.read().decode() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(url + "/__heartbeat__", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.3)
    raise RuntimeError(f"Ralph did not answer on {url} within {START_TIMEOUT_S} s")


@pytest.fixture(scope="module")
def lrs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LRS]:
    script = _script()
    try:
        script.install()
    except (subprocess.CalledProcessError, OSError) as error:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"cannot install Ralph (ralph-malph) into .venv-ralph: {error}")
    data = tmp_path_factory.mktemp("lrs")
    auth_file = script.write_credentials(data, USER, PASSWORD)
    port = _free_port()
    process = subprocess.Popen(script.serve_command("127.0.0.1", port),
                               env=script.environment(data, auth_file),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base, process)
        yield LRS(base + "/xAPI", USER, PASSWORD, data)
    finally:
        process.terminate()
        process.wait(timeout=30)
