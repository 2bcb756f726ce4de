"""``tadrib roster``, ``tadrib indicators`` and ``tadrib audit``: each command parses its options and
calls one keyword-only function (``roster.import_roster``, ``steering.indicators``,
``steering.push``, ``steering.xapi``, ``audit.verify``). Imports stay lazy."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from autograder.cli_errors import with_errors

if TYPE_CHECKING:
    from rich.console import Console

    from autograder.suppression import PublishedQuarter

DIMENSIONS = ("track", "cohort", "region", "gender", "employer_type")
ROOT = click.option("--root", type=click.Path(path_type=Path, file_okay=False), envvar="TADRIB_ROOT",
                    help="Folder holding courses/ and bootcamps/ [default: current directory].")
WORKSPACE = click.option("--workspace", type=click.Path(path_type=Path, file_okay=False),
                         envvar="TADRIB_WORKSPACE",
                         help="Where runtime state lives (never in git) [default: ./var].")
DB_URL = click.option("--db-url", envvar="TADRIB_DB_URL",
                      help="Gradebook URL for every course [default: one SQLite file per course].")


def _quarters(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option("--to", "to", metavar="QUARTER",
                            help="Last quarter of a range [default: the current quarter].")(function)
    function = click.option("--from", "from_", metavar="QUARTER",
                            help="First quarter of a range, reported quarter by quarter.")(function)
    return click.option("--quarter", metavar="QUARTER",
                        help="One quarter, e.g. 2026Q3 [default: the current quarter].")(function)


@click.group()
def roster() -> None:
    """The trainees' roster (personal data stays in the workspace)."""


@roster.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--skip-invalid", is_flag=True,
              help="Import the valid rows and list the others (default: import nothing on error).")
@ROOT
@WORKSPACE
@DB_URL
@with_errors
def roster_import(file: Path, skip_invalid: bool, root: Path | None, workspace: Path | None,
                  db_url: str | None) -> None:
    """Validate FILE (CSV) and import it: each trainee gets a pseudonym, their nbgrader id."""
    from autograder.roster import import_roster

    done = import_roster(file=file, skip_invalid=skip_invalid, root=root, workspace=workspace,
                         db_url=db_url)
    for problem in done.skipped:
        click.secho(f"skipped: {problem}", fg="yellow")
    click.secho(f"roster: {done.added} added, {done.updated} updated, {done.unchanged} unchanged, "
                f"{done.skipped_rows} row(s) skipped; {done.registered} new student id(s) in the "
                "gradebooks.", fg="green")


@click.group(invoke_without_command=True)
@_quarters
@click.option("--by", multiple=True, type=click.Choice(DIMENSIONS),
              help="Dimension to break down by (repeat) [default: all five].")
@click.option("--k", type=click.IntRange(min=2), default=10, show_default=True,
              help="Suppression threshold: counts from 1 to k-1 are hidden.")
@ROOT
@WORKSPACE
@DB_URL
@click.pass_context
@with_errors
def indicators(ctx: click.Context, quarter: str | None, from_: str | None, to: str | None,
               by: tuple[str, ...], k: int, root: Path | None, workspace: Path | None,
               db_url: str | None) -> None:
    """Talents trained, starts, in progress and completion rate per quarter (CSV, JSON, HTML).

    Small cells are hidden (complementary suppression). Subcommands send an export out.
    """
    if ctx.invoked_subcommand is not None:
        return
    from autograder.steering import indicators as export

    done = export(quarter=quarter, from_=from_, to=to, by=by or DIMENSIONS, k=k, root=root,
                  workspace=workspace, db_url=db_url)
    console = _console()
    for published in done.quarters:
        print_quarter(published, console)
    if done.unknown_trainees:
        console.print(f"[yellow]{done.unknown_trainees} graded trainee(s) are not in the roster: "
                      "counted as 'non renseigné'; import the roster (tadrib roster import).")
    for path in done.files:
        console.print(f"indicators: {path}")


@indicators.command()
@click.argument("url")
@_quarters
@click.option("--token", envvar="TADRIB_PUSH_TOKEN", help="Bearer token of the indicator system.")
@click.option("--retries", type=click.IntRange(0, 10), default=5, show_default=True,
              help="Retries on lost connections, 408, 429 and 5xx (exponential backoff).")
@WORKSPACE
@with_errors
def push(url: str, quarter: str | None, from_: str | None, to: str | None, token: str | None,
         retries: int, workspace: Path | None) -> None:
    """POST an export to the indicator system URL, one quarter a request, idempotently."""
    from autograder.steering import push as send

    for sent in send(url=url, quarter=quarter, from_=from_, to=to, token=token, retries=retries,
                     workspace=workspace):
        click.secho(f"{sent.key}: {sent.status} after {sent.attempts} attempt(s)", fg="green")


@indicators.command()
@click.argument("lrs_url")
@_quarters
@click.option("--user", envvar="TADRIB_LRS_USER", help="LRS user (HTTP basic auth).")
@click.option("--password", envvar="TADRIB_LRS_PASSWORD", help="LRS password.")
@click.option("--platform-iri", envvar="TADRIB_PLATFORM_IRI", default="https://tadrib.invalid",
              show_default=True, help="IRI of the platform: the trainees' account home page.")
@ROOT
@WORKSPACE
@DB_URL
@with_errors
def xapi(lrs_url: str, quarter: str | None, from_: str | None, to: str | None, user: str | None,
         password: str | None, platform_iri: str, root: Path | None, workspace: Path | None,
         db_url: str | None) -> None:
    """Send passed/completed xAPI statements to the LRS at LRS_URL (e.g. http://host/xAPI)."""
    from autograder.steering import xapi as send

    count = send(lrs_url=lrs_url, quarter=quarter, from_=from_, to=to, user=user,
                 password=password, platform=platform_iri, root=root, workspace=workspace,
                 db_url=db_url)
    click.secho(f"{count} statement(s) sent to {lrs_url}", fg="green")


@click.group()
def audit() -> None:
    """The audit trail of exports and pushes."""


@audit.command()
@WORKSPACE
def verify(workspace: Path | None) -> None:
    """Check the hash chain of the audit log: any edited, removed or reordered entry is reported."""
    from autograder.audit import verify as check

    count, problems = check(workspace=workspace)
    for problem in problems:
        click.secho(problem, fg="red")
    if problems:
        click.secho(f"audit log NOT intact: {len(problems)} problem(s) in {count} entries.",
                    fg="red", bold=True)
        sys.exit(1)
    click.secho(f"audit log intact: {count} entries, hash chain verified.", fg="green")


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def print_quarter(published: PublishedQuarter, console: Console) -> None:
    """The quarter's table: the total, then each dimension's cells (``s`` = hidden)."""
    from rich.table import Table

    table = Table(title=f"Talents formés — {published.quarter} (k = {published.k}, s = masqué)",
                  caption="lignes à zéro omises")
    for column in ("ventilation", "valeur", "talents formés", "démarrages", "en cours", "taux"):
        table.add_column(column, justify="left" if column in ("ventilation", "valeur") else "right")

    def show(value: object) -> str:
        return "s" if value is None else str(value)

    rate = published.rate()
    table.add_row("total", "", *(show(published.totals[m]) for m in
                                 ("talents_trained", "starts", "in_progress")),
                  "" if rate is None else f"{rate} %")
    for dimension in published.cells["talents_trained"]:
        for value in published.cells["talents_trained"][dimension]:
            if all(published.cells[m][dimension][value] == 0 for m in published.cells):
                continue
            rate = published.rate(dimension, value)
            table.add_row(dimension, value, *(show(published.cells[m][dimension][value]) for m in
                                              ("talents_trained", "starts", "in_progress")),
                          "" if rate is None else f"{rate} %")
    console.print(table)
