"""``tadrib hub``: JupyterHub on one machine for the workspace, and a module through its exchange.

Each command parses its options and calls one keyword-only function of :mod:`autograder.hub`
(``hub``, ``publish``, ``collect``, ``return_feedback``). Imports stay lazy: the hub's packages are
the ``hub`` extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from autograder.cli_drafts import DB_URL, ROOT, WORKSPACE
from autograder.cli_errors import with_errors

if TYPE_CHECKING:
    from autograder.hub import Hub


@click.group()
def hub() -> None:
    """JupyterHub for the programme: trainees, instructors, coordinators (root only).

    `tadrib hub start` creates a Unix account per user of the roster and of the staff file, lays out
    the safe exchange and runs JupyterHub with nbgrader until Ctrl-C. `publish`, `collect` and
    `return-feedback` move a module through the exchange. See docs/hub.md.
    """


@hub.command()
@click.option("--ip", default="127.0.0.1", show_default=True,
              help="Address the hub listens on (0.0.0.0: every interface, behind TLS).")
@click.option("--port", default=8000, show_default=True, type=int, help="The hub's public port.")
@click.option("--admin", default="admin", show_default=True,
              help="The first-run admin: signs up first at /hub/signup and approves the others.")
@click.option("--staff", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Instructors and coordinators [default: WORKSPACE/staff.yml].")
@ROOT
@WORKSPACE
@DB_URL
@with_errors
def start(ip: str, port: int, admin: str, staff: Path | None, root: Path | None,
          workspace: Path | None, db_url: str | None) -> None:
    """Start JupyterHub for the workspace and run it until interrupted."""
    from autograder.hub import hub as run_hub

    def ready(running: Hub) -> None:
        click.secho(f"JupyterHub: {running.url} (Ctrl-C stops it and every server)", fg="green")
        click.echo(f"first run: sign up as '{admin}' at {running.url}/hub/signup, then approve the "
                   f"others at {running.url}/hub/authorize")
        for course in running.plan.courses:
            click.echo(f"formgrader of {course.id}: {running.url}/services/{course.id}/")

    run_hub(root=root, workspace=workspace, db_url=db_url, ip=ip, port=port, admin=admin,
            staff=staff, on_ready=ready)


@hub.command()
@click.argument("module")
@ROOT
@WORKSPACE
@DB_URL
@with_errors
def publish(module: str, root: Path | None, workspace: Path | None, db_url: str | None) -> None:
    """Release MODULE and put it in the exchange: its trainees fetch it from JupyterLab."""
    from autograder.hub import publish as publish_module

    publish_module(module=module, root=root, workspace=workspace, db_url=db_url)
    click.echo(f"{module}: released to the exchange.")


@hub.command()
@click.argument("module")
@ROOT
@WORKSPACE
@DB_URL
@with_errors
def collect(module: str, root: Path | None, workspace: Path | None, db_url: str | None) -> None:
    """Collect each trainee's latest submission of MODULE into submitted/ (then `tadrib grade`)."""
    from autograder.hub import collect as collect_module

    who = collect_module(module=module, root=root, workspace=workspace, db_url=db_url)
    click.echo(f"{module}: {len(who)} submission(s) collected; grade them with `tadrib grade {module}`.")


@hub.command("return-feedback")
@click.argument("module")
@ROOT
@WORKSPACE
@DB_URL
@with_errors
def return_feedback(module: str, root: Path | None, workspace: Path | None,
                    db_url: str | None) -> None:
    """Put the feedback of MODULE (`tadrib feedback`) in the exchange: each trainee fetches their own."""
    from autograder.hub import return_feedback as return_module

    return_module(module=module, root=root, workspace=workspace, db_url=db_url)
    click.echo(f"{module}: feedback released; trainees fetch it from their assignment list.")
