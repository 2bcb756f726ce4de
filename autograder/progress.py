"""Progress for long steps: silent in the Python API, a rich progress bar on a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

Advance = Callable[[str], None]


class Reporter(Protocol):
    def task(self, description: str, total: int) -> Advance:
        """Start a step of ``total`` items; call the result once per item done, with a note."""


class Silent:
    def task(self, description: str, total: int) -> Advance:
        return lambda note: None


class Bars:
    """Rich progress bars (done/total, elapsed, ETA) on the given console."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def task(self, description: str, total: int) -> Advance:
        task_id = self._progress.add_task(description, total=total, note="")

        def advance(note: str) -> None:
            self._progress.update(task_id, advance=1, note=note)

        return advance


@contextmanager
def bars(console: Console) -> Iterator[Reporter]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
               TextColumn("[dim]{task.fields[note]}"))
    with Progress(*columns, console=console) as progress:
        yield Bars(progress)
