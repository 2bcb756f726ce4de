"""Shared fixtures: the repository, a small catalogue copied into tmp_path, command runners."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from autograder.cli import main

pytest_plugins = ["tests.fixtures_mistral", "tests.fixtures_book", "tests.fixtures_lrs"]

REPO = Path(__file__).resolve().parents[1]
MINI = REPO / "tests" / "fixtures" / "mini"


INSTALL_CHROMIUM = REPO / "scripts" / "install-chromium.sh"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_executable() -> str:
    """Debian's Chromium, installed by the project's script when missing (a skip outside CI, a
    failure under CI=true when it cannot be installed)."""
    found = shutil.which("chromium")
    if found is None:
        done = subprocess.run(["bash", str(INSTALL_CHROMIUM)], capture_output=True, text=True,
                              check=False)
        found = shutil.which("chromium")
        if found is None:
            why = f"Chromium is missing and {INSTALL_CHROMIUM} failed: {done.stderr.strip()[-1500:]}"
            if os.environ.get("CI") == "true":
                pytest.fail(why)
            pytest.skip(why)
    return found


def copy_catalogue(fixture: Path, dest: Path) -> Path:
    """A copy of a fixture catalogue with the repository's real book/ folder beside its courses.

    The book folder is copied rather than linked: a symbolic link does not survive every way a
    checkout travels (archives, patches), and the tests must not depend on it.
    """
    shutil.copytree(fixture, dest)
    shutil.copytree(REPO / "book", dest / "book", ignore=shutil.ignore_patterns("_build"))
    return dest


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """A one-module catalogue (with the real book/ beside it), copied so a test may break it."""
    return copy_catalogue(MINI, tmp_path / "catalogue")


def run_tadrib(*args: str) -> Result:
    """``tadrib ARGS`` in-process, as a user would type it."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False)
