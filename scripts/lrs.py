"""A real Learning Record Store for the tests: Ralph (``ralph-malph`` on PyPI), in its own virtual
environment, because Ralph pins FastAPI/Starlette/uvicorn versions older than those Tadrib runs on.

    python3.11 scripts/lrs.py install                    # create .venv-ralph (once; pinned)
    python3.11 scripts/lrs.py serve --port 8100 --data DIR --user U --password P

Standard library only: the test fixture (tests/fixtures_lrs.py) imports it, and so can dev.py.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-ralph"
# ralph's LRS imports requests (OIDC auth) without declaring it: installed beside it.
PACKAGES = ("ralph-malph[cli,lrs]==5.1.0", "requests>=2.31,<3")
STAMP = ".tadrib-ralph"


def python(venv_dir: Path = VENV) -> Path:
    return venv_dir / "bin" / "python"


def install(venv_dir: Path = VENV) -> Path:
    """Create the environment, or reuse it when it already holds exactly these packages."""
    wanted = hashlib.sha256("\n".join(PACKAGES).encode()).hexdigest()
    stamp = venv_dir / STAMP
    if stamp.exists() and stamp.read_text().strip() == wanted and python(venv_dir).exists():
        return python(venv_dir)
    venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    subprocess.run([str(python(venv_dir)), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", *PACKAGES], check=True)
    stamp.write_text(wanted)
    return python(venv_dir)


def environment(data: Path, auth_file: Path) -> dict[str, str]:
    return dict(os.environ, RALPH_RUNSERVER_BACKEND="fs", RALPH_AUTH_FILE=str(auth_file),
                RALPH_APP_DIR=str(data / "app"),
                RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH=str(data / "statements"))


def write_credentials(data: Path, user: str, password: str, venv_dir: Path = VENV) -> Path:
    """``ralph auth``: one user with every scope, in ``data/auth.json``."""
    auth_file = data / "auth.json"
    (data / "statements").mkdir(parents=True, exist_ok=True)
    ralph = venv_dir / "bin" / "ralph"
    subprocess.run([str(ralph), "auth", "-u", user, "-p", password, "-s", "all",
                    "-A", "tadrib-tests", "https://tadrib.invalid", "-w"],
                   env=environment(data, auth_file), check=True, capture_output=True)
    return auth_file


def serve_command(host: str, port: int, venv_dir: Path = VENV) -> list[str]:
    """uvicorn on Ralph's app, without the auto-reloader of ``ralph runserver``."""
    return [str(python(venv_dir)), "-m", "uvicorn", "ralph.api:app", "--host", host, "--port",
            str(port), "--log-level", "warning"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="create .venv-ralph")
    serve = sub.add_parser("serve", help="run the LRS (fs backend) in the foreground")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8100)
    serve.add_argument("--data", type=Path, required=True)
    serve.add_argument("--user", required=True)
    serve.add_argument("--password", required=True)
    args = parser.parse_args(argv)
    install()
    if args.command == "serve":
        auth_file = write_credentials(args.data, args.user, args.password)
        return subprocess.run(serve_command(args.host, args.port),
                              env=environment(args.data, auth_file), check=False).returncode
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
