"""Run the classroom server: in the foreground (:func:`serve`) or in a background thread
(:func:`running_server`, for tests and ``tadrib demo``).

It binds to loopback only unless told ``allow_remote=True``, and then only with a key other than the
default one: the stand-in answers anyone who can reach it, so a classroom network must at least
share a key chosen for it.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from autograder.mistral import DEFAULT_API_KEY, DEFAULT_PORT
from autograder.mistral.app import ServerSettings, create_app
from autograder.mistral.embeddings import embed_texts

START_TIMEOUT_S = 15.0


class RemoteBindRefused(ValueError):
    """Raised for a non-loopback host without ``allow_remote``, or with the default key."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (127.0.0.0/8, ::1) or ``localhost``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, *, allow_remote: bool, api_keys: tuple[str, ...]) -> None:
    """Refuse to listen beyond this machine unless asked to, and never with the default key."""
    if is_loopback(host):
        return
    if not allow_remote:
        raise RemoteBindRefused(
            f"Refusing to listen on {host!r}: the classroom server binds to loopback (127.0.0.1) "
            "by default. Pass --allow-remote (allow_remote=True) to serve a classroom network."
        )
    if DEFAULT_API_KEY in api_keys:
        raise RemoteBindRefused(
            f"Refusing to listen on {host!r} with the default key {DEFAULT_API_KEY!r}: "
            "choose a key for the classroom with --api-key."
        )


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    api_keys: tuple[str, ...] = (DEFAULT_API_KEY,),
    request_budget: int | None = None,
    allow_remote: bool = False,
    preload: bool = True,
    log_level: str = "info",
) -> None:
    """Serve until interrupted. ``preload`` loads the embedding model before the first request."""
    check_host(host, allow_remote=allow_remote, api_keys=api_keys)
    if preload:
        embed_texts(["préchargement"])
    app = create_app(ServerSettings(api_keys=api_keys, request_budget=request_budget))
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


@contextmanager
def running_server(
    *, api_keys: tuple[str, ...] = (DEFAULT_API_KEY,), request_budget: int | None = None
) -> Iterator[str]:
    """Run the server on a free 127.0.0.1 port in a daemon thread; yield its base URL; stop it."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    app = create_app(ServerSettings(api_keys=api_keys, request_budget=request_budget))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name=f"tadrib-mistral-{port}", daemon=True
    )
    thread.start()
    try:
        _wait_started(server, thread)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT_S)
        listener.close()


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the classroom server did not start (see the log above)")
        time.sleep(0.01)


@contextmanager
def classroom_unless_configured(workspace: Path | None = None) -> Iterator[str | None]:
    """The configured Mistral endpoint, or the offline classroom server started for the run.

    Notebooks graded meanwhile reach it through the environment their kernels inherit.
    """
    from autograder.llm import classroom_environment, endpoint_configured

    if endpoint_configured(workspace=workspace):
        yield None
        return
    with running_server() as url:
        saved = dict(os.environ)
        os.environ.update(classroom_environment(url))
        try:
            yield url
        finally:
            os.environ.clear()
            os.environ.update(saved)
