"""``tadrib report``: per trainee and module (score, passed), per programme (who completed), as CSV;
and, where the Mistral gateway runs, its usage per cohort (small cohorts suppressed).

Rows come from the gradebooks through :mod:`autograder.completion`; only pseudonymous student ids
appear (the ids nbgrader grades under).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.completion import (
    CompletionRow,
    ModuleOutcome,
    ModuleResult,
    completion,
    module_outcomes,
)
from autograder.workspace import Workspace

if TYPE_CHECKING:
    from autograder.mistral.gateway_ledger import CohortUsage

MODULES_CSV = "modules.csv"
COMPLETION_CSV = "completion.csv"


@dataclass(frozen=True)
class Report:
    outcomes: dict[str, list[ModuleOutcome]]
    completion: list[CompletionRow]
    files: tuple[Path, ...]
    gateway: list[CohortUsage] | None = None
    """Inference credits spent through the gateway, per cohort then the total; None without one."""


def report(*, root: Path | None = None, workspace: Path | None = None,
           db_url: str | None = None) -> Report:
    """Read every course's gradebook, apply the completion rules, write the CSVs."""
    ws = Workspace.open(root=root, workspace=workspace, db_url=db_url)
    outcomes: dict[str, list[ModuleOutcome]] = {}
    rows: list[CompletionRow] = []
    for programme in ws.catalogue.programmes:
        course = ws.course(programme)
        if course.db_url is None and not (course.root / "gradebook.db").exists():
            continue
        results = [ModuleResult(s.student_id, s.module_id, s.score, s.max_score,
                                s.needs_manual_grade, s.timestamp) for s in course.scores()]
        outcomes[programme.id] = module_outcomes(results, programme)
        rows += completion(outcomes[programme.id], programme)
    ws.reports_dir.mkdir(parents=True, exist_ok=True)
    files: tuple[Path, ...] = (_write_modules(ws.reports_dir / MODULES_CSV, outcomes),
             _write_completion(ws.reports_dir / COMPLETION_CSV, rows))
    gateway = None
    from autograder.mistral.gateway_ledger import GATEWAY_DB, gateway_usage
    from autograder.roster import PRIVATE_DIR

    if (ws.path / PRIVATE_DIR / GATEWAY_DB).is_file():  # the gateway's books, never created here
        lines, total, usage_csv = gateway_usage(workspace=ws.path)
        gateway, files = [*lines, total], (*files, usage_csv)
    return Report(outcomes, rows, files, gateway)


def _iso(value: object) -> str:
    return value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else ""


def _write_modules(path: Path, outcomes: dict[str, list[ModuleOutcome]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["programme", "student_id", "module", "score", "max_score", "percent",
                      "passed", "needs_manual_grade", "submitted_at", "passed_at"])
        for programme, rows in outcomes.items():
            for o in rows:
                percent = round(100 * o.score / o.max_score, 1) if o.max_score else 0.0
                out.writerow([programme, o.student_id, o.module_id, o.score, o.max_score, percent,
                              o.passed, o.needs_manual_grade, _iso(o.submitted_at),
                              _iso(o.passed_at)])
    return path


def _write_completion(path: Path, rows: list[CompletionRow]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["programme", "student_id", "modules_passed", "modules_required",
                      "completed", "completed_at"])
        for r in rows:
            out.writerow([r.programme_id, r.student_id, r.modules_passed, r.modules_required,
                          r.completed, _iso(r.completed_at)])
    return path
