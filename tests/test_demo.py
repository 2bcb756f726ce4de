"""`tadrib demo` end to end in a temporary workspace, on the real catalogue."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from autograder.catalogue import load_catalogue
from autograder.demo import DemoResult, demo
from autograder.leaks import find_leaks, public_text, secrets_of
from tests.conftest import run_tadrib

pytestmark = pytest.mark.xdist_group("demo")  # one worker runs the demo once for all its tests

REPO = Path(__file__).resolve().parents[1]
# three trainees per programme: the simulation gives each programme a solved, a partial and a blank
TRAINEES = 3 * len(load_catalogue(REPO).programmes)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    workspace = tmp_path_factory.mktemp("demo") / "ws"
    result = run_tadrib("demo", "--trainees", str(TRAINEES), "--workspace", str(workspace),
                        "--root", str(REPO))
    assert result.exit_code == 0, result.output
    return workspace, result.output


def test_demo_prints_table_and_outputs(first_run: tuple[Path, str]) -> None:
    """Does the demo print a completion table and where each output is?"""
    workspace, output = first_run
    assert "Complétion par parcours" in output
    for label in ("report:", "book:", "gradebooks:", "feedback:"):
        assert label in output
    assert (workspace / "book/_build/html/index.html").is_file()
    assert list((workspace / "courses").glob("*/feedback/*/*/*.html"))


@pytest.fixture(scope="module")
def second_run(first_run: tuple[Path, str]) -> DemoResult:
    """The demo run again on the same workspace, as a Python function (one run for two tests)."""
    workspace, _ = first_run
    return demo(trainees=TRAINEES, workspace=workspace, root=REPO)


def test_report_matches_simulated_cohort(first_run: tuple[Path, str], second_run: DemoResult) -> None:
    """Do exactly the fully-solved trainees complete, blanks score 0, partials in between?"""
    workspace, _ = first_run
    again = second_run
    profile = {t.student_id: t.profile for t in again.cohort}
    assert set(profile.values()) == {"solved", "partial", "blank"}
    completed = {r.student_id for r in again.report.completion if r.completed}
    assert completed == {s for s, p in profile.items() if p == "solved"}
    with (workspace / "reports/modules.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["student_id"] for r in rows} == set(profile)
    for row in rows:
        score, top = float(row["score"]), float(row["max_score"])
        if profile[row["student_id"]] == "blank":
            assert score == 0
        elif profile[row["student_id"]] == "partial":
            assert 0 < score < top
        else:
            assert row["passed"] == "True"


def test_second_run_grades_nothing_again(second_run: DemoResult) -> None:
    """Is a second run idempotent: unchanged submissions kept, not regraded?"""
    again = second_run
    assert again.statuses and all(s.message == "unchanged, kept" for s in again.statuses)


def test_book_holds_no_solution_nor_hidden_test(first_run: tuple[Path, str]) -> None:
    """Does no page or file of the built book contain solution code or a hidden test?

    Search-index terms that the student versions also hold (a word of a visible example that a
    hidden test reuses) are public, as in the book's own check."""
    workspace, _ = first_run
    html = workspace / "book/_build/html"
    modules = load_catalogue(REPO).modules()
    secrets = secrets_of(modules)
    assert len(secrets) > 10
    assert find_leaks(html, secrets, public_text(modules)) == []
    assert not (html / "_sources").exists()
    pages = {p.relative_to(html).as_posix() for p in html.rglob("*.html")}
    for module in load_catalogue(REPO).modules():
        assert f"{module.programme_id}/{module.id}/index.html" in pages


def test_planted_leak_is_found(tmp_path: Path) -> None:
    """Would the leak check catch a solution line planted in a built page?"""
    secrets = [s for s in secrets_of(load_catalogue(REPO).modules()) if "BEGIN" not in s.text]
    planted = tmp_path / "page.html"
    planted.write_text(f"<pre><span>{secrets[0].text}</span></pre>", encoding="utf-8")
    assert [leak.secret for leak in find_leaks(tmp_path, secrets)] == [secrets[0]]


def test_demo_grades_pseudonyms_and_prints_indicators(first_run: tuple[Path, str]) -> None:
    """Are the simulated trainees imported from a synthetic roster and graded under their
    pseudonyms, is the quarter's indicator table printed, and does no file outside the private
    roster folder name any of them?"""
    workspace, output = first_run
    assert "Talents formés" in output and "indicators:" in output
    with (workspace / "private" / "demo-roster.csv").open(encoding="utf-8") as handle:
        people = list(csv.DictReader(handle))
    assert len(people) == TRAINEES and {p["gender"] for p in people} <= {"F", "M"}
    graded = {p.name for p in (workspace / "courses").glob("*/submitted/*")}
    assert len(graded) == TRAINEES and all(g.startswith("t") and len(g) == 17 for g in graded)
    secrets = {s.lower() for p in people
               for s in (p["national_id"], p["email"], f"{p['first_name']} {p['last_name']}")}
    for path in workspace.rglob("*"):
        if path.is_file() and "private" not in path.relative_to(workspace).parts:
            text = path.read_bytes().decode("utf-8", "replace").lower()
            assert not [s for s in secrets if s in text], path
