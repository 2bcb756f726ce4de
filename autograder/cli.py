"""The ``tadrib`` command: each command parses options and calls the function of the same name.

Imports are lazy so that ``tadrib --help`` answers at once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from autograder.cli_errors import with_errors

if TYPE_CHECKING:
    from rich.console import Console

    from autograder.catalogue import Module
    from autograder.grading import SubmissionStatus
    from autograder.report import Report

ROOT = click.option("--root", type=click.Path(path_type=Path, file_okay=False), envvar="TADRIB_ROOT",
                    help="Folder holding courses/ and bootcamps/ [default: current directory].")
WORKSPACE = click.option("--workspace", type=click.Path(path_type=Path, file_okay=False),
                         envvar="TADRIB_WORKSPACE",
                         help="Where runtime state lives (never in git) [default: ./var].")
DB_URL = click.option("--db-url", envvar="TADRIB_DB_URL",
                      help="Gradebook URL for every course, e.g. postgresql://host/tadrib "
                           "[default: one SQLite gradebook.db per course].")


def _console() -> Console:
    from rich.console import Console

    return Console(stderr=False, highlight=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tadrib")
def main() -> None:
    """Tadrib: release, grade, report and publish the AI-training curriculum (nbgrader)."""


@main.command()
@ROOT
@with_errors
def check(root: Path | None) -> None:
    """Validate the catalogue: YAML, modules, notebooks, grade ids, tests, outputs, data files."""
    from autograder.check import check_catalogue

    catalogue, problems = check_catalogue(root or Path("."))
    for problem in problems:
        click.secho(str(problem), fg="red")
    if problems:
        click.secho(f"{len(problems)} problem(s) found.", fg="red", bold=True)
        sys.exit(1)
    assert catalogue is not None
    click.secho(f"catalogue OK: {len(catalogue.programmes)} programmes, "
                f"{len(catalogue.modules())} modules.", fg="green")


@main.command()
@click.argument("module", required=False)
@ROOT
@with_errors
def prove(module: str | None, root: Path | None) -> None:
    """Prove each module (or MODULE): source full marks, release 0, first answer in between."""
    from autograder.catalogue import load_catalogue
    from autograder.mistral.server import classroom_unless_configured

    catalogue = load_catalogue(root or Path("."))
    targets = [catalogue.find_module(module)[1]] if module else catalogue.modules()
    with classroom_unless_configured():
        failed = sum(not _prove_one(mod, catalogue.root) for mod in targets)
    if failed:
        sys.exit(1)


def _prove_one(mod: Module, root: Path) -> bool:
    from autograder.check import check_module
    from autograder.selfproof import prove as prove_module

    problems = [str(p) for p in check_module(mod, root)]
    if problems:
        click.secho(f"{mod.id}: not proved, `tadrib check` finds problems:", fg="red")
    else:
        proof = prove_module(mod)
        scores = ", ".join(f"{v} {s:g}" for v, s in sorted(proof.scores.items()))
        click.secho(f"{mod.id}: {scores} / {proof.max_points:g}", fg="green" if proof.ok else "red")
        problems = proof.problems
    for problem in problems:
        click.secho(f"  {problem}", fg="red")
    return not problems


@main.command()
@click.argument("module", required=False)
@ROOT
@WORKSPACE
@DB_URL
@with_errors
def release(module: str | None, root: Path | None, workspace: Path | None,
            db_url: str | None) -> None:
    """Generate the student version of every module, or MODULE (nbgrader generate_assignment)."""
    from autograder.workspace import release as release_modules

    for programme, mod in release_modules(module=module, root=root, workspace=workspace,
                                          db_url=db_url):
        click.echo(f"released {programme.id}/{mod.id}")


@main.command()
@click.argument("module")
@click.option("--force", is_flag=True, help="Regrade submissions that were already graded.")
@click.option("--workers", "-j", type=click.IntRange(1, 256), default=None,
              help="Grading processes [default: the number of cores].")
@click.option("--scheduler", metavar="tcp://HOST:PORT",
              help="Grade on a Dask distributed cluster sharing the course directory.")
@click.option("--no-sandbox", is_flag=True,
              help="Run student code WITHOUT the sandbox (trusted debugging only).")
@click.option("--memory", "memory_gib", type=click.FloatRange(0.1, 64), default=2.0,
              show_default=True, help="Memory limit of a grading kernel, in GiB.")
@click.option("--cpu-seconds", type=click.IntRange(1), default=300, show_default=True,
              help="CPU-time limit of each process of a grading kernel.")
@click.option("--wall-seconds", type=click.IntRange(1), default=120, show_default=True,
              help="Wall-time limit per notebook; the kernel and its processes are killed past it.")
@ROOT
@WORKSPACE
@DB_URL
@with_errors
def grade(module: str, force: bool, workers: int | None, scheduler: str | None, no_sandbox: bool,
          memory_gib: float, cpu_seconds: int, wall_seconds: int, root: Path | None,
          workspace: Path | None, db_url: str | None) -> None:
    """Autograde every submission of MODULE in submitted/, in parallel and sandboxed."""
    from autograder.grading import grade as grade_module
    from autograder.sandbox import GIB, Limits

    limits = Limits(memory_bytes=int(memory_gib * GIB), cpu_seconds=cpu_seconds,
                    wall_seconds=wall_seconds, cell_seconds=min(60, wall_seconds))
    if no_sandbox:
        click.secho("warning: grading WITHOUT the sandbox: student code runs with your rights.",
                    fg="yellow", err=True)
    statuses = _grade_with_bar(grade_module, module, force=force, workers=workers,
                               scheduler=scheduler, sandbox=not no_sandbox, limits=limits, root=root,
                               workspace=workspace, db_url=db_url)
    _summary(statuses, "graded")


def _grade_with_bar(grade_module: Callable[..., list[SubmissionStatus]], module: str,
                    **options: Any) -> list[SubmissionStatus]:
    import warnings

    from autograder.grading import UnsandboxedWarning
    from autograder.progress import bars

    failures: list[str] = []
    with bars(_console()) as reporter, warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsandboxedWarning)
        advance: list[Callable[[str], None]] = []

        def started(total: int) -> None:
            advance.append(reporter.task(f"grading {module}", total))

        def done(status: SubmissionStatus) -> None:
            if not status.ok:
                failures.append(f"{status.student_id}: {status.message}")
            advance[0](f"{len(failures)} failed")

        return grade_module(module, on_start=started, on_progress=done, **options)


@main.command()
@click.argument("module")
@click.option("--draft", is_flag=True,
              help="Instead, ask the configured Mistral model for a short French hint per failed "
                   "test, stored for review (`tadrib drafts`); existing drafts are kept.")
@click.option("--redraft", is_flag=True,
              help="With --draft: redraft the drafts still waiting or dropped too.")
@ROOT
@WORKSPACE
@DB_URL
@with_errors
def feedback(module: str, draft: bool, redraft: bool, root: Path | None, workspace: Path | None,
             db_url: str | None) -> None:
    """Write HTML feedback for every graded submission of MODULE (nbgrader generate_feedback),
    with the approved AI-drafted hints as comments on the answers."""
    if draft or redraft:
        from autograder.cli_drafts import echo_outcome
        from autograder.drafts import draft as draft_module

        outcomes = draft_module(module, redraft=redraft, root=root, workspace=workspace,
                                db_url=db_url, on_progress=echo_outcome)
        click.echo(f"{sum(o.outcome == 'drafted' for o in outcomes)} drafted, "
                   f"{len(outcomes)} failed test(s); review with `tadrib drafts list {module}`.")
        return
    from autograder.draft_review import feedback as feedback_module

    statuses = feedback_module(module, root=root, workspace=workspace, db_url=db_url,
                               on_progress=_echo_status)
    _summary(statuses, "feedback written")


def _echo_status(status: SubmissionStatus) -> None:
    colour = "green" if status.ok else "red"
    click.secho(f"{status.student_id} {status.module_id}: {status.message}", fg=colour)


def _summary(statuses: list[SubmissionStatus], verb: str) -> None:
    failed = [s for s in statuses if not s.ok]
    kept = sum(s.message == "unchanged, kept" for s in statuses)
    for status in failed:
        click.secho(f"  {status.student_id} {status.module_id}: {status.message}", fg="red")
    click.echo(f"{len(statuses) - len(failed) - kept} {verb}, {kept} unchanged, {len(failed)} failed.")
    if failed:
        sys.exit(1)


@main.command()
@ROOT
@WORKSPACE
@DB_URL
@with_errors
def report(root: Path | None, workspace: Path | None, db_url: str | None) -> None:
    """Per trainee and module: score and passed; per programme: who completed (CSV)."""
    from autograder.report import report as build_report

    done = build_report(root=root, workspace=workspace, db_url=db_url)
    _print_completion(done, _console())


def _print_completion(done: Report, console: Console) -> None:
    from rich.table import Table

    table = Table(title="Complétion par parcours / bootcamp")
    for column in ("programme", "stagiaires", "modules réussis", "parcours validés", "taux"):
        table.add_column(column, justify="left" if column == "programme" else "right")
    per: dict[str, list[Any]] = {}
    for row in done.completion:
        per.setdefault(row.programme_id, []).append(row)
    for programme, rows in per.items():
        completed = sum(r.completed for r in rows)
        passed = sum(r.modules_passed for r in rows)
        table.add_row(programme, str(len(rows)), str(passed), str(completed),
                      f"{100 * completed / len(rows):.0f} %")
    console.print(table)
    if done.gateway is not None:
        usage = Table(title="Crédits d'inférence (passerelle Mistral) par cohorte, "
                            "petites cohortes masquées")
        for column in ("cohorte", "requêtes", "jetons", "stagiaires actifs"):
            usage.add_column(column, justify="left" if column == "cohorte" else "right")
        for line in done.gateway:
            usage.add_row(line.cohort, *line.cells("<k"))
        console.print(usage)
    for path in done.files:
        console.print(f"report: {path}")


@main.command()
@ROOT
@WORKSPACE
@click.option("--hub-url", envvar="TADRIB_HUB_URL",
              help="The programme's JupyterHub, target of 'Ouvrir dans JupyterHub' "
                   "[default: http://localhost:8000].")
@click.option("--student-repo", envvar="TADRIB_STUDENT_REPO",
              help="Git URL of the student versions: the buttons become nbgitpuller links "
                   "[default: none, the buttons open JupyterLab's Assignment List].")
@click.option("--student-branch", envvar="TADRIB_STUDENT_BRANCH",
              help="Branch of --student-repo [default: main].")
@with_errors
def book(root: Path | None, workspace: Path | None, hub_url: str | None,
         student_repo: str | None, student_branch: str | None) -> None:
    """Build the Jupyter Book (HTML) from the student versions; check leaks, offline, accessibility.

    Only the pages whose sources changed are rebuilt. The build fails if the site holds anything
    instructor-only or from the workspace, loads a file from another host, or has an image without
    alt text or headings out of order.
    """
    from autograder.book import book as build_book

    built = build_book(root=root, workspace=workspace, hub_url=hub_url, student_repo=student_repo,
                       student_branch=student_branch)
    for note in built.notes:
        click.secho(f"note: {note}", fg="yellow")
    click.secho(f"book: {built.html / 'index.html'} ({built.pages} pages, {built.written} source "
                f"files rewritten; no leak, offline, accessible; JupyterHub: {built.hub_url})",
                fg="green")


@main.command()
@click.option("--trainees", "-n", type=click.IntRange(1, 10_000), default=30, show_default=True,
              help="Size of the simulated cohort.")
@click.option("--workspace", type=click.Path(path_type=Path, file_okay=False),
              default=Path("var/demo"), show_default=True, help="Workspace of the demo.")
@click.option("--fresh", is_flag=True, help="Delete the demo workspace and start over.")
@click.option("--seed", type=int, default=2026, show_default=True, help="Seed of the simulation.")
@ROOT
@with_errors
def demo(trainees: int, workspace: Path, fresh: bool, seed: int, root: Path | None) -> None:
    """Run everything on embedded defaults: release, a simulated cohort, grading, report, book."""
    from autograder.demo import demo as run_demo
    from autograder.progress import bars

    console = _console()
    with bars(console) as reporter:
        result = run_demo(trainees=trainees, workspace=workspace, fresh=fresh, seed=seed,
                          root=root, reporter=reporter)
    _print_completion(result.report, console)
    from autograder.cli_indicators import print_quarter

    print_quarter(result.indicators.quarters[-1], console)
    failed = [s for s in result.statuses if not s.ok]
    console.print(f"workspace: {result.workspace}")
    console.print(f"roster (private): {result.workspace / 'private'}/roster.db")
    console.print(f"indicators: {result.indicators.files[-1]}")
    console.print(f"gradebooks: {result.workspace / 'courses'}/<programme>/gradebook.db")
    console.print(f"feedback: {result.workspace / 'courses'}/<programme>/feedback/")
    console.print(f"book: {result.book.html / 'index.html'}")
    if failed:
        console.print(f"[red]{len(failed)} submission(s) could not be graded[/red]")
        sys.exit(1)


def _register_groups() -> None:
    from autograder.cli_drafts import drafts
    from autograder.cli_hub import hub
    from autograder.cli_indicators import audit, indicators, roster
    from autograder.mistral.cli import mistral

    main.add_command(mistral)
    main.add_command(drafts)
    main.add_command(hub)
    for group in (roster, indicators, audit):
        main.add_command(group)


_register_groups()

if __name__ == "__main__":
    main()
