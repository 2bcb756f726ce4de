"""Docs are tested: every command has help text and appears in the README."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from autograder.cli import main
from tests.conftest import run_tadrib

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    for name, command in sorted(group.commands.items()):
        names.append(f"{prefix}{name}")
        if isinstance(command, click.Group):
            names += _commands(command, f"{prefix}{name} ")
    return names


@pytest.mark.parametrize("command", _commands(main))
def test_command_has_help_and_is_documented(command: str) -> None:
    """Does `tadrib COMMAND --help` explain it, and does the README mention `tadrib COMMAND`?"""
    result = run_tadrib(*command.split(), "--help")
    assert result.exit_code == 0
    assert len(result.output.splitlines()) > 3
    assert f"tadrib {command}" in README, f"`tadrib {command}` is not documented in README.md"


def test_quickstart_has_exactly_two_commands() -> None:
    """Does the Quickstart hold exactly the two commands, the test one being what CI runs?"""
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", quickstart, re.S)
    assert block is not None
    commands = [line for line in block.group(1).splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert [c.split("#")[0].strip() for c in commands] == ["python3.11 dev.py demo",
                                                          "python3.11 dev.py test"]
    ci = (Path(__file__).resolve().parents[1] / ".ci/run").read_text(encoding="utf-8")
    assert "exec python3.11 dev.py test" in ci
