"""Bootstrap: create ./.venv with everything Tadrib needs, then run the demo or the tests.

    python3.11 dev.py demo [tadrib demo options]   # the whole platform on embedded defaults
    python3.11 dev.py test [pytest options]        # the whole test suite

Needs only Python 3.11. torch is installed first, pinned to its CPU build (torch==2.13.0), so that
nothing else pulls a CUDA build. The install is skipped when pyproject.toml has not changed since
the last one (a stamp in .venv records its hash).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".tadrib-installed"
TORCH = "torch==2.13.0"


def _run(*command: str | Path) -> None:
    print("+", " ".join(str(c) for c in command), flush=True)
    subprocess.run([str(c) for c in command], check=True, cwd=ROOT)


def _pip(*args: str) -> None:
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args)


def ensure_environment() -> None:
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"Tadrib needs Python 3.11; this is {sys.version.split()[0]}. "
                 "Run: python3.11 dev.py …")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    if not (BIN / "python").exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    _pip(TORCH)
    _pip("-e", ".[dev,scale]")
    STAMP.write_text(wanted)


def ensure_system_tools() -> None:
    """The grading sandbox's tools (bubblewrap, socat), from the system's packages, when root."""
    if os.name == "posix" and hasattr(os, "geteuid") and os.geteuid() == 0:
        subprocess.run(["bash", str(ROOT / "scripts" / "install-sandbox.sh")], check=False)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    ensure_environment()
    ensure_system_tools()
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               VIRTUAL_ENV=str(VENV))
    if argv[0] == "demo":
        command = [str(BIN / "tadrib"), "demo", *argv[1:]]
    else:
        command = [str(BIN / "python"), "-m", "pytest", *argv[1:]]
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
