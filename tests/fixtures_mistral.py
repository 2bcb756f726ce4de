"""Pytest plugin: a classroom Mistral server for the tests, with the configuration pointed at it.

Register it with ``pytest_plugins = ["tests.fixtures_mistral"]`` in ``tests/conftest.py`` and ask
for ``mistral_endpoint``: the server runs on a free 127.0.0.1 port for the whole session, and the
``TADRIB_MISTRAL_*`` variables point :func:`autograder.llm.client` at it until the session ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from autograder.llm import classroom_environment, load_settings
from autograder.mistral import DEFAULT_API_KEY
from autograder.mistral.server import running_server


@dataclass(frozen=True)
class MistralEndpoint:
    """Where the test classroom server listens and what it serves."""

    url: str
    api_key: str
    chat_model: str
    embed_model: str


@pytest.fixture(scope="session")
def mistral_endpoint() -> Iterator[MistralEndpoint]:
    """A classroom server on a free loopback port; the environment points at it, then is restored."""
    with running_server() as url, pytest.MonkeyPatch.context() as patch:
        for name, value in classroom_environment(url).items():
            patch.setenv(name, value)
        settings = load_settings()
        yield MistralEndpoint(
            url=url,
            api_key=DEFAULT_API_KEY,
            chat_model=settings.model,
            embed_model=settings.embed_model,
        )
