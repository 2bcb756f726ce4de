"""The one error handler of every ``tadrib`` command: a known error ends the command with its
message (naming the file, row or cell and the fix), never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

import click


def _known_errors() -> tuple[type[Exception], ...]:
    from autograder.book import BookError
    from autograder.catalogue import CatalogueError
    from autograder.draft_review import DraftError
    from autograder.hub import HubError
    from autograder.hub_accounts import AccountError
    from autograder.indicators import IndicatorError
    from autograder.nbgrader_course import GradingError
    from autograder.notebooks import NotebookError
    from autograder.push import PushError
    from autograder.roster import RosterError
    from autograder.sandbox import SandboxError

    return (AccountError, BookError, CatalogueError, DraftError, GradingError, HubError, IndicatorError,
            NotebookError, PushError, RosterError, SandboxError)


@contextmanager
def clean_errors() -> Iterator[None]:
    """Known errors end the command with their message, never a traceback."""
    known = _known_errors()
    try:
        yield
    except known as error:
        click.secho(f"error: {error}", fg="red", err=True)
        sys.exit(1)


def with_errors(function: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with clean_errors():
            return function(*args, **kwargs)

    return wrapper
