"""The sandbox's one way out: the configured model endpoint, through a Unix socket.

A grading kernel has no network. Modules that call a Mistral model (``autograder.llm.client``)
reach the configured endpoint, and only it, through a Unix socket shared into the sandbox: outside,
``socat`` forwards the socket to the endpoint's host and port; inside, the client speaks HTTP (or
TLS, for https) over the socket (``TADRIB_MISTRAL_UDS``). No API key crosses into the sandbox: the
classroom server's key is not a secret, and a hosted key should sit in a gateway, not in a kernel.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

UDS_ENV = "TADRIB_MISTRAL_UDS"
PASSED_THROUGH = ("TADRIB_MISTRAL_MODE", "TADRIB_MISTRAL_URL", "TADRIB_MISTRAL_MODEL",
                  "TADRIB_MISTRAL_EMBED_MODEL", "TADRIB_MISTRAL_TIMEOUT_MS", "TADRIB_CLASSROOM_KEY")


@dataclass
class ModelBridge:
    process: subprocess.Popen[bytes]
    socket: Path
    environment: dict[str, str] = field(default_factory=dict)

    def close(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        self.socket.unlink(missing_ok=True)


def model_bridge(folder: Path) -> ModelBridge | None:
    """Forward ``folder/model.sock`` to the configured endpoint; None when none is configured."""
    from autograder.llm import ENVIRONMENT, MistralConfigError, endpoint_configured, load_settings

    if not endpoint_configured():
        return None
    try:
        settings = load_settings()
    except MistralConfigError:
        return None  # the kernel will report the configuration problem itself, in French
    url = urlsplit(settings.server_url)
    if url.hostname is None or shutil.which("socat") is None:
        return None
    port = url.port or (443 if url.scheme == "https" else 80)
    socket = folder / "model.sock"
    process = subprocess.Popen(  # killed with the grading worker that started it, kill -9 included
        ["setpriv", "--pdeathsig", "KILL", "--",
         "socat", f"UNIX-LISTEN:{socket},fork,mode=666,unlink-early", f"TCP:{url.hostname}:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    environment = {ENVIRONMENT["mode"]: settings.mode, ENVIRONMENT["server_url"]: settings.server_url,
                   UDS_ENV: str(socket)}
    import os

    environment.update({k: os.environ[k] for k in PASSED_THROUGH if k in os.environ})
    _wait_for(socket, process)
    return ModelBridge(process, socket, environment)


def _wait_for(socket: Path, process: subprocess.Popen[bytes]) -> None:
    import time

    deadline = time.monotonic() + 5
    while not socket.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
