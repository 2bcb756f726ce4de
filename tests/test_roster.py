"""`tadrib roster import`: validation with line numbers, keyed pseudonyms, updates without
duplicates, personal data kept in the workspace's private folder."""

from __future__ import annotations

import dataclasses
import sqlite3
import stat
from pathlib import Path

import pytest

from autograder.nbgrader_course import Course
from autograder.roster import Roster, RosterError, import_roster, pseudonym
from tests.conftest import run_tadrib
from tests.fixtures_indicators import (
    pseudonyms,
    synthetic_trainees,
    write_catalogue,
    write_roster,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_catalogue(tmp_path / "catalogue")


def test_import_gives_keyed_stable_pseudonyms(tmp_path: Path, root: Path) -> None:
    """Does each trainee get t + 16 hex digits of a keyed hash, kept on re-import, and is the key
    private to the workspace (mode 600, in a folder git ignores)?"""
    trainees = synthetic_trainees(12)
    csv_file = write_roster(tmp_path / "roster.csv", trainees)
    ws = tmp_path / "ws"
    done = import_roster(file=csv_file, root=root, workspace=ws, db_url="")
    assert (done.added, done.updated, done.unchanged, done.skipped_rows) == (12, 0, 0, 0)
    ids = pseudonyms(ws)
    key = Roster.of(ws).key(create=False)
    assert all(ids[t.national_id] == pseudonym(key, f"cin:{t.national_id}") for t in trainees)
    assert all(len(p) == 17 and p.startswith("t") for p in ids.values())
    assert pseudonym(b"another key" * 3, f"cin:{trainees[0].national_id}") != ids[trainees[0].national_id]
    key_file = ws / "private" / "pseudonym.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (ws / "private" / ".gitignore").read_text().splitlines()[-1] == "*"
    again = import_roster(file=csv_file, root=root, workspace=ws, db_url="")
    assert (again.added, again.unchanged) == (0, 12)
    assert pseudonyms(ws) == ids


def test_gradebook_holds_pseudonyms_without_names(tmp_path: Path, root: Path) -> None:
    """Are the trainees registered in their track's nbgrader gradebook under their pseudonym only?"""
    trainees = synthetic_trainees(6)
    ws = tmp_path / "ws"
    import_roster(file=write_roster(tmp_path / "r.csv", trainees), root=root, workspace=ws,
                  db_url="")
    with sqlite3.connect(ws / "courses" / "track-a" / "gradebook.db") as db:
        students = db.execute("SELECT id, first_name, last_name, email FROM student").fetchall()
    ids = pseudonyms(ws)
    expected = {ids[t.national_id] for t in trainees if t.track == "track-a"}
    assert {s[0] for s in students} == expected
    assert all(s[1:] == (None, None, None) for s in students)
    assert Course(ws / "courses" / "track-a", "track-a").scores() == []


def test_reimport_updates_and_never_duplicates(tmp_path: Path, root: Path) -> None:
    """Does a changed cohort update the trainee, and does a row found by email keep its pseudonym
    when the national id is added later?"""
    trainees = synthetic_trainees(4)
    ws = tmp_path / "ws"
    first = [dataclasses.replace(trainees[0], national_id=""), *trainees[1:]]
    import_roster(file=write_roster(tmp_path / "a.csv", first), root=root, workspace=ws, db_url="")
    with sqlite3.connect(ws / "private" / "roster.db") as db:
        before = dict(db.execute("SELECT email, pseudonym FROM trainee"))
    moved = [trainees[0], dataclasses.replace(trainees[1], cohort="2027-A"), *trainees[2:]]
    done = import_roster(file=write_roster(tmp_path / "b.csv", moved), root=root, workspace=ws,
                         db_url="")
    assert (done.added, done.updated, done.unchanged) == (0, 2, 2)
    with sqlite3.connect(ws / "private" / "roster.db") as db:
        after = dict(db.execute("SELECT email, pseudonym FROM trainee"))
        cohort = db.execute("SELECT cohort FROM trainee WHERE email = ?",
                            (trainees[1].email,)).fetchone()[0]
    assert after == before
    assert cohort == "2027-A"


def test_errors_name_lines_and_nothing_is_imported(tmp_path: Path, root: Path) -> None:
    """Is every bad row reported with its line and column, and is nothing imported?"""
    good = synthetic_trainees(3)
    bad = [
        dataclasses.replace(good[0], national_id="AB999001", email="x1@mail.example",
                            region="Atlantis"),
        dataclasses.replace(good[0], national_id="", email=""),
        dataclasses.replace(good[0], national_id="AB999003", email="not-an-email"),
        dataclasses.replace(good[1], national_id="AB999004", email="x4@mail.example",
                            track="no-such-track", gender="X"),
        good[2],
    ]
    csv_file = write_roster(tmp_path / "roster.csv", [*good, *bad])
    ws = tmp_path / "ws"
    with pytest.raises(RosterError) as error:
        import_roster(file=csv_file, root=root, workspace=ws, db_url="")
    message = str(error.value)
    for expected in ("line 5: column region: 'Atlantis' is not a region of Morocco",
                     "line 6: columns national_id and email: both empty",
                     "line 7: column email",
                     "line 8: column gender: 'X' is not a gender code",
                     "line 8: column track: 'no-such-track' is not in the catalogue",
                     "line 9: same national_id as line 4"):
        assert expected in message
    assert not (ws / "private" / "roster.db").exists()
    done = import_roster(file=csv_file, root=root, workspace=ws, db_url="", skip_invalid=True)
    assert done.added == 3 and done.skipped_rows == 5


def test_header_and_semicolons(tmp_path: Path, root: Path) -> None:
    """Is a French-Excel file (semicolons, BOM, accents, lower-case region) read, and a bad header
    refused with the list of columns?"""
    trainee = dataclasses.replace(synthetic_trainees(1)[0], region="fes meknes",
                                  employer_type="Local Authority")
    text = write_roster(tmp_path / "r.csv", [trainee]).read_text(encoding="utf-8")
    semicolons = tmp_path / "excel.csv"
    semicolons.write_text("\ufeff" + text.replace(",", ";"), encoding="utf-8")
    ws = tmp_path / "ws"
    assert import_roster(file=semicolons, root=root, workspace=ws, db_url="").added == 1
    people = list(Roster.of(ws).people().values())
    assert (people[0].region, people[0].employer_type) == ("Fès-Meknès", "local_authority")
    broken = tmp_path / "broken.csv"
    broken.write_text(text.replace("employer_type", "employer"), encoding="utf-8")
    with pytest.raises(RosterError, match=r"line 1: unknown column\(s\) employer; missing column"):
        import_roster(file=broken, root=root, workspace=ws, db_url="")


def test_lost_key_is_refused(tmp_path: Path, root: Path) -> None:
    """With a roster but no key, is the import refused rather than re-keying everyone?"""
    csv_file = write_roster(tmp_path / "r.csv", synthetic_trainees(2))
    ws = tmp_path / "ws"
    import_roster(file=csv_file, root=root, workspace=ws, db_url="")
    (ws / "private" / "pseudonym.key").unlink()
    with pytest.raises(RosterError, match="pseudonym key is missing"):
        import_roster(file=csv_file, root=root, workspace=ws, db_url="")


def test_cli_reports_errors_without_traceback(tmp_path: Path, root: Path) -> None:
    """Does `tadrib roster import` print the problems and exit 1, and summarise a good import?"""
    trainees = synthetic_trainees(2)
    ws = tmp_path / "ws"
    good = write_roster(tmp_path / "good.csv", trainees)
    result = run_tadrib("roster", "import", str(good), "--root", str(root), "--workspace", str(ws))
    assert result.exit_code == 0 and "2 added" in result.output
    bad = write_roster(tmp_path / "bad.csv", [dataclasses.replace(trainees[0], gender="?")])
    result = run_tadrib("roster", "import", str(bad), "--root", str(root), "--workspace", str(ws))
    assert result.exit_code == 1
    assert "line 2: column gender" in result.output and "Traceback" not in result.output
