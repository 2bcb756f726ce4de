"""`tadrib indicators`: quarterly counts from real nbgrader gradebooks and the imported roster,
the rules at the edges, the CSV/JSON/HTML outputs, and no personal data in any of them."""

from __future__ import annotations

import csv
import dataclasses
import json
from datetime import datetime
from pathlib import Path

import pytest

from autograder.indicator_files import SCHEMA_FILE, schema_problems
from autograder.indicators import IndicatorError, Quarter, QuarterCounts
from autograder.roster import import_roster
from autograder.steering import counts, indicators
from autograder.workspace import Workspace
from tests.conftest import run_tadrib
from tests.fixtures_indicators import (
    IndicatorWorld,
    completes,
    make_world,
    write_catalogue,
    write_roster,
)

D = datetime.fromisoformat


def _counts(world: IndicatorWorld, *quarters: str) -> dict[str, QuarterCounts]:
    """Raw counts, before suppression (the rules, not the privacy, are under test here)."""
    ws = Workspace.open(root=world.root, workspace=world.workspace, db_url="", checked=False)
    raw, _ = counts(ws, [Quarter.parse(q) for q in quarters])
    return {str(c.quarter): c for c in raw}


@pytest.fixture
def small(tmp_path: Path) -> IndicatorWorld:
    return make_world(tmp_path, 8)


def test_quarter_parsing() -> None:
    """Are 2026Q3, 2026-T3 and 2026q3 the same quarter, and a date refused with the fix?"""
    assert Quarter.parse("2026Q3") == Quarter.parse("2026-T3") == Quarter.parse("2026q3")
    assert (Quarter(2026, 4).next(), Quarter(2026, 1).previous()) == (Quarter(2027, 1),
                                                                      Quarter(2025, 4))
    with pytest.raises(IndicatorError, match="write it like 2026Q3"):
        Quarter.parse("2026-07-01")


def test_persons_not_enrolments(small: IndicatorWorld) -> None:
    """Does a person completing two tracks in a quarter count once in the total, once per track?"""
    both = small.trainees[0]
    other = dataclasses.replace(both, track="track-b")
    rows = completes(both, D("2026-07-02")) + completes(other, D("2026-07-20"))
    rows += completes(small.trainees[1], D("2026-08-01"))
    small.record(rows)
    q3 = _counts(small, "2026Q3")["2026Q3"]
    assert q3.totals["talents_trained"] == 2
    extra = small.trainees[1].track
    assert q3.cells["talents_trained"]["track"] == {"track-a": 1 + (extra == "track-a"),
                                                    "track-b": 1 + (extra == "track-b")}


def test_late_submission_counts_in_its_own_quarter(small: IndicatorWorld) -> None:
    """Does a last module handed in after the quarter's end complete the track next quarter, and
    leave the trainee in progress in the first?"""
    trainee = small.trainees[0]
    rows = completes(trainee, D("2026-09-20"), days=6)  # 09-20, 09-26, 10-02 for track-a
    small.record(rows)
    raw = _counts(small, "2026Q3", "2026Q4")
    q3, q4 = raw["2026Q3"].totals, raw["2026Q4"].totals
    assert (q3["talents_trained"], q3["in_progress"], q3["starts"]) == (0, 1, 1)
    assert (q4["talents_trained"], q4["in_progress"], q4["starts"]) == (1, 0, 0)


def test_exactly_at_pass_mark_and_pending_manual_grade(small: IndicatorWorld) -> None:
    """Does 7/10 pass a 0.7 pass mark, and does a part waiting for manual grading hold it back?"""
    first, second = small.trainees[0], small.trainees[2]
    small.record([(t.national_id, m, 7.0, D("2026-07-05"))
                  for t in (first,) for m in ("a-01-python", "a-02-stats", "a-03-ml")])
    small.record([(second.national_id, m, 10.0, D("2026-07-05"))
                  for m in ("a-01-python", "a-02-stats", "a-03-ml")], manual=True)
    q3 = _counts(small, "2026Q3")["2026Q3"].totals
    assert (q3["talents_trained"], q3["in_progress"]) == (1, 1)


def test_module_removed_from_catalogue(small: IndicatorWorld) -> None:
    """When a required module leaves the catalogue, are its grades ignored and the track completed
    by the remaining modules, on the date of the last of them?"""
    trainee = small.trainees[0]
    small.record(completes(trainee, D("2026-06-10"), days=10)[:2])  # a-01 06-10, a-02 06-20
    small.record([(trainee.national_id, "a-03-ml", 2.0, D("2026-07-15"))])
    before = _counts(small, "2026Q2", "2026Q3")
    assert before["2026Q2"].totals["talents_trained"] == 0
    assert before["2026Q3"].totals["in_progress"] == 1
    write_catalogue(small.root, {"track-a": ("courses", "track.yml", ["a-01-python", "a-02-stats"]),
                                 "track-b": ("courses", "track.yml", ["b-01-sql", "b-02-api"])})
    after = _counts(small, "2026Q2", "2026Q3")
    assert after["2026Q2"].totals["talents_trained"] == 1
    assert after["2026Q3"].totals["in_progress"] == 0  # the removed module's work is not activity


def test_trainee_changing_cohort_and_track(small: IndicatorWorld, tmp_path: Path) -> None:
    """After a re-import moves a trainee to another cohort and track, are they one person: counted
    under the new cohort, with a start in each track and one start in the total?"""
    trainee = small.trainees[0]
    small.record(completes(trainee, D("2026-07-01"))[:1])
    moved = dataclasses.replace(trainee, cohort="2027-Z", track="track-b")
    import_roster(file=write_roster(tmp_path / "moved.csv", [moved, *small.trainees[1:]]),
                  root=small.root, workspace=small.workspace, db_url="")
    small.record(completes(moved, D("2026-08-01")))
    q3 = _counts(small, "2026Q3")["2026Q3"]
    assert (q3.totals["starts"], q3.totals["talents_trained"]) == (1, 1)
    assert q3.cells["starts"]["cohort"]["2027-Z"] == 1
    assert q3.cells["starts"]["cohort"].get(trainee.cohort, 0) == 0
    assert q3.cells["starts"]["track"] == {"track-a": 1, "track-b": 1}
    assert q3.cells["in_progress"]["track"] == {"track-a": 1, "track-b": 0}
    assert q3.cells["talents_trained"]["track"] == {"track-a": 0, "track-b": 1}


def _busy_world(tmp_path: Path) -> IndicatorWorld:
    world = make_world(tmp_path, 60)
    rows = []
    for i, trainee in enumerate(world.trainees):
        if i % 3 == 0:
            rows += completes(trainee, D("2026-07-05"))
        elif i % 3 == 1:
            rows += completes(trainee, D("2026-04-05"))[:1]
        else:
            rows += completes(trainee, D("2026-08-05"))[:2]
    world.record(rows)
    return world


@pytest.fixture
def busy(tmp_path: Path) -> IndicatorWorld:
    return _busy_world(tmp_path)


def test_outputs_follow_the_schema_and_hide_small_cells(busy: IndicatorWorld) -> None:
    """Do the CSV, JSON and HTML agree, the JSON follow the versioned schema, and hidden cells
    show as s (CSV), null (JSON) and s (HTML)?"""
    done = indicators(quarter="2026Q3", root=busy.root, workspace=busy.workspace, db_url="")
    csv_file, json_file, html_file = done.files
    doc = json.loads(json_file.read_text(encoding="utf-8"))
    assert schema_problems(doc) == []
    assert f'"{doc["schema_version"]}"' in SCHEMA_FILE.read_text(encoding="utf-8")
    assert doc["quarters"][0]["total"]["talents_trained"] == 30
    rows = list(csv.DictReader(csv_file.open(encoding="utf-8")))
    hidden_csv = sum(r[m] == "s" for r in rows for m in ("talents_trained", "starts", "in_progress"))
    hidden_json = sum(e[m] is None for entries in doc["quarters"][0]["breakdowns"].values()
                      for e in entries for m in ("talents_trained", "starts", "in_progress"))
    assert hidden_csv == hidden_json == done.quarters[0].hidden > 0
    html = html_file.read_text(encoding="utf-8")
    assert "Talents formés" in html and "Secret statistique" in html and "<svg" in html
    assert "<script" not in html and "<link" not in html and 'src="http' not in html
    broken = {**doc, "k": 1, "quarters": [{**doc["quarters"][0], "extra": "x"}]}
    problems = schema_problems(broken)
    assert any(p.startswith("$.k") for p in problems)
    assert any(p.startswith("$.quarters[0]") for p in problems)


def test_a_range_is_its_quarters(busy: IndicatorWorld) -> None:
    """Is each quarter of a --from/--to export identical to that quarter exported alone?"""
    ranged = indicators(from_="2026Q2", to="2026Q3", root=busy.root, workspace=busy.workspace,
                        db_url="").document
    alone = [indicators(quarter=q, root=busy.root, workspace=busy.workspace,
                        db_url="").document["quarters"][0] for q in ("2026Q2", "2026Q3")]
    assert ranged["quarters"] == alone


def test_no_personal_data_in_any_output(busy: IndicatorWorld) -> None:
    """Does no file outside the private roster folder hold any trainee's name, email or national
    id (reports, audit log, gradebooks, nbgrader course files)?"""
    indicators(from_="2026Q2", to="2026Q3", root=busy.root, workspace=busy.workspace, db_url="")
    run_tadrib("indicators", "--quarter", "2026Q3", "--root", str(busy.root),
               "--workspace", str(busy.workspace))
    secrets = {s.lower() for t in busy.trainees
               for s in (t.national_id, t.email, t.last_name, f"{t.first_name} {t.last_name}")}
    files = [p for p in busy.workspace.rglob("*")
             if p.is_file() and "private" not in p.relative_to(busy.workspace).parts]
    assert any(p.suffix == ".html" for p in files) and any(p.name == "gradebook.db" for p in files)
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace").lower()
        found = [s for s in secrets if s in text]
        assert not found, f"{path} holds personal data: {found[:3]}"


def test_cli_prints_the_quarter_table(busy: IndicatorWorld) -> None:
    """Does `tadrib indicators --quarter` print the table and where the files are, and refuse
    --quarter with --from?"""
    result = run_tadrib("indicators", "--quarter", "2026Q3", "--by", "region", "--root",
                        str(busy.root), "--workspace", str(busy.workspace))
    assert result.exit_code == 0, result.output
    assert "Talents formés — 2026Q3" in result.output and "indicators-2026Q3.html" in result.output
    bad = run_tadrib("indicators", "--quarter", "2026Q3", "--from", "2026Q1", "--root",
                     str(busy.root), "--workspace", str(busy.workspace))
    assert bad.exit_code == 1 and "either --quarter or --from/--to" in bad.output
