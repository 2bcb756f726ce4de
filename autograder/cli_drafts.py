"""``tadrib drafts``: the instructor reviews AI-drafted feedback (``tadrib feedback --draft``).

Each command parses its options and calls one keyword-only function of
:mod:`autograder.draft_review` (``list_drafts``, ``approve``, ``edit``, ``drop``). Imports stay lazy.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from autograder.cli_errors import with_errors

if TYPE_CHECKING:
    from autograder.draft_review import Draft
    from autograder.drafts import DraftOutcome

ROOT = click.option("--root", type=click.Path(path_type=Path, file_okay=False), envvar="TADRIB_ROOT",
                    help="Folder holding courses/ and bootcamps/ [default: current directory].")
WORKSPACE = click.option("--workspace", type=click.Path(path_type=Path, file_okay=False),
                         envvar="TADRIB_WORKSPACE",
                         help="Where runtime state lives (never in git) [default: ./var].")
DB_URL = click.option("--db-url", envvar="TADRIB_DB_URL",
                      help="Gradebook URL for every course [default: one SQLite file per course].")
BY = click.option("--by", help="Who decides, as recorded with the draft [default: your user name].")
STATUS_COLOURS = {"draft": "yellow", "approved": "green", "edited": "cyan", "dropped": "red"}
OUTCOME_COLOURS = {"drafted": "green", "kept": None, "stale": "yellow", "refused": "red",
                   "skipped": "red"}


@click.group()
def drafts() -> None:
    """Review AI-drafted feedback: only approved text reaches the trainees.

    Drafts come from `tadrib feedback --draft MODULE`; `tadrib feedback MODULE` then writes the
    approved ones into nbgrader's feedback, as comments on the answers.
    """


def echo_outcome(outcome: DraftOutcome) -> None:
    """One line per failed test drafted by `tadrib feedback --draft`."""
    click.secho(f"{outcome.student_id} {outcome.notebook}/{outcome.test_id}: {outcome.outcome}, "
                f"{outcome.message}", fg=OUTCOME_COLOURS.get(outcome.outcome))


def _echo(draft: Draft, *, full: bool = True) -> None:
    click.secho(f"[{draft.id}] {draft.student_id} {draft.notebook}/{draft.test_id} "
                f"(answer {draft.answer_id}): {draft.status}", fg=STATUS_COLOURS[draft.status],
                bold=True)
    if full:
        click.echo(f"    drafted by {draft.drafted_by} at {draft.drafted_at} with {draft.model}"
                   + (f"; {draft.status} by {draft.decided_by} at {draft.decided_at}"
                      if draft.decided_by else ""))
        click.echo("    " + draft.text.replace("\n", "\n    "))


@drafts.command("list")
@click.argument("module")
@click.option("--status", type=click.Choice(["draft", "approved", "edited", "dropped"]),
              help="Only the drafts with this status.")
@click.option("--student", help="Only the drafts of this trainee (nbgrader id).")
@ROOT
@WORKSPACE
@DB_URL
@with_errors
def list_command(module: str, status: str | None, student: str | None, root: Path | None,
                 workspace: Path | None, db_url: str | None) -> None:
    """Show the drafts of MODULE: id, trainee, test, status, who, when, text."""
    from autograder.draft_review import list_drafts

    found = list_drafts(module, status=status, student=student, root=root, workspace=workspace,
                        db_url=db_url)
    for draft in found:
        _echo(draft)
    click.echo(f"{len(found)} draft(s).")


@drafts.command()
@click.argument("module")
@click.argument("ids", nargs=-1, type=int, required=True)
@BY
@ROOT
@WORKSPACE
@DB_URL
@with_errors
def approve(module: str, ids: tuple[int, ...], by: str | None, root: Path | None,
            workspace: Path | None, db_url: str | None) -> None:
    """Approve the drafts IDS of MODULE as they read: they go into the trainees' feedback."""
    from autograder.draft_review import approve as approve_drafts

    for draft in approve_drafts(module, ids=ids, by=by, root=root, workspace=workspace,
                                db_url=db_url):
        _echo(draft, full=False)


@drafts.command()
@click.argument("module")
@click.argument("draft_id", metavar="ID", type=int)
@click.option("--text", help="The new text [default: open the draft in $EDITOR].")
@click.option("--approve", "approved", is_flag=True,
              help="Approve the edited text at once (else it waits for `tadrib drafts approve`).")
@BY
@ROOT
@WORKSPACE
@DB_URL
@with_errors
def edit(module: str, draft_id: int, text: str | None, approved: bool, by: str | None,
         root: Path | None, workspace: Path | None, db_url: str | None) -> None:
    """Rewrite draft ID of MODULE (--text, or in $EDITOR); the model's text is kept on record."""
    from autograder.draft_review import DraftError, list_drafts
    from autograder.draft_review import edit as edit_draft

    if text is None:
        current = next((d for d in list_drafts(module, root=root, workspace=workspace,
                                               db_url=db_url) if d.id == draft_id), None)
        if current is None:
            raise DraftError(f"no draft {draft_id} for {module}; see "
                             f"`tadrib drafts list {module}`.")
        text = click.edit(current.text)
        if text is None:
            click.echo("unchanged (editor closed without saving).")
            return
    _echo(edit_draft(module, draft_id=draft_id, text=text, approve=approved, by=by, root=root,
                     workspace=workspace, db_url=db_url))


@drafts.command()
@click.argument("module")
@click.argument("ids", nargs=-1, type=int, required=True)
@BY
@ROOT
@WORKSPACE
@DB_URL
@with_errors
def drop(module: str, ids: tuple[int, ...], by: str | None, root: Path | None,
         workspace: Path | None, db_url: str | None) -> None:
    """Drop the drafts IDS of MODULE: nothing of them reaches the trainees (kept on record)."""
    from autograder.draft_review import drop as drop_drafts

    for draft in drop_drafts(module, ids=ids, by=by, root=root, workspace=workspace,
                             db_url=db_url):
        _echo(draft, full=False)
