"""``tadrib roster import``: the trainees, their personal data kept in the workspace only.

The roster is a CSV file (UTF-8, ``,`` or ``;``), one trainee a row, with the columns of
:data:`COLUMNS`. Every row is validated; errors name the row and the column, and nothing is imported
while one remains (unless ``skip_invalid``, which imports the valid rows and lists the others).

Each trainee gets a **pseudonym**, ``t`` + 16 hex digits of HMAC-SHA256(key, national id or email),
used as their nbgrader student id. The key (``private/pseudonym.key``) and the roster database
(``private/roster.db``) stay in the workspace, in a folder whose ``.gitignore`` ignores everything.
Re-importing updates a trainee found by national id or email, and never duplicates one.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import os
import secrets
import sqlite3
import unicodedata
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from autograder.indicators import Person

PRIVATE_DIR = "private"
KEY_FILE = "pseudonym.key"
ROSTER_DB = "roster.db"
REGIONS = (
    "Tanger-Tétouan-Al Hoceïma", "L'Oriental", "Fès-Meknès", "Rabat-Salé-Kénitra",
    "Béni Mellal-Khénifra", "Casablanca-Settat", "Marrakech-Safi", "Drâa-Tafilalet",
    "Souss-Massa", "Guelmim-Oued Noun", "Laâyoune-Sakia El Hamra", "Dakhla-Oued Ed-Dahab",
)
GENDERS = ("F", "M")
EMPLOYER_TYPES = ("ministry", "agency", "local_authority", "startup")
COLUMNS = {
    "national_id": "CIN (carte nationale), e.g. AB123456; national_id or email is required",
    "email": "email address; national_id or email is required",
    "first_name": "first name",
    "last_name": "last name",
    "cohort": "cohort code, e.g. 2026-T3-RABAT (letters, digits, - _ .)",
    "track": "id of the track or bootcamp followed (tadrib check lists them)",
    "region": "one of the 12 regions of Morocco, e.g. Casablanca-Settat",
    "gender": "F or M",
    "institution": "employing institution",
    "employer_type": "ministry, agency, local_authority or startup",
}
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
CIN_PATTERN = r"^[A-Z]{1,2}[0-9]{1,7}$"


class RosterError(Exception):
    """A roster that cannot be imported; the message names the rows, columns and fixes."""


def _fold(text: str) -> str:
    """Case, accents, spaces and punctuation ignored: 'fes meknes' matches 'Fès-Meknès'."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in plain if ch.isalnum())


_REGION_BY_KEY = {_fold(r): r for r in REGIONS}


class TraineeRow(BaseModel):
    """One validated roster row."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    national_id: str | None = Field(default=None, pattern=CIN_PATTERN)
    email: str | None = Field(default=None, pattern=EMAIL_PATTERN, max_length=254)
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    cohort: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    track: str = Field(min_length=1)
    region: str
    gender: str
    institution: str = Field(min_length=1, max_length=200)
    employer_type: str

    @field_validator("national_id", "email", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip() or None
        return value

    @field_validator("national_id")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.replace(" ", "").upper() if value else value

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value else value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if _fold(value) not in _REGION_BY_KEY:
            raise ValueError(f"'{value}' is not a region of Morocco; use one of: {', '.join(REGIONS)}")
        return _REGION_BY_KEY[_fold(value)]

    @field_validator("gender")
    @classmethod
    def _gender(cls, value: str) -> str:
        if value.upper() not in GENDERS:
            raise ValueError(f"'{value}' is not a gender code; use F or M")
        return value.upper()

    @field_validator("employer_type")
    @classmethod
    def _employer(cls, value: str) -> str:
        key = value.strip().lower().replace(" ", "_").replace("-", "_")
        if key not in EMPLOYER_TYPES:
            raise ValueError(f"'{value}' is not an employer type; use one of: "
                             f"{', '.join(EMPLOYER_TYPES)}")
        return key

    @property
    def identity(self) -> str:
        """What the pseudonym is derived from: the national id if given, else the email."""
        return f"cin:{self.national_id}" if self.national_id else f"email:{self.email}"


@dataclass(frozen=True)
class RosterImport:
    added: int
    updated: int
    unchanged: int
    skipped: tuple[str, ...]
    skipped_rows: int
    registered: int


@dataclass(frozen=True)
class Roster:
    """The workspace's private folder: the pseudonym key and the roster database."""

    folder: Path

    @classmethod
    def of(cls, workspace: Path) -> Roster:
        return cls(workspace / PRIVATE_DIR)

    @property
    def db(self) -> Path:
        return self.folder / ROSTER_DB

    def key(self, *, create: bool) -> bytes:
        path = self.folder / KEY_FILE
        if path.exists():
            return bytes.fromhex(path.read_text(encoding="ascii").strip())
        if self.db.exists() or not create:
            raise RosterError(f"{path}: the pseudonym key is missing. Restore it from the workspace "
                              "backup: a new key would give every trainee a new pseudonym.")
        self._private_folder()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        return self.key(create=False)

    def _private_folder(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        ignore = self.folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# personal data and the pseudonym key: never in git\n*\n",
                              encoding="utf-8")

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        self._private_folder()
        with closing(sqlite3.connect(self.db)) as connection:
            connection.execute(_SCHEMA)
            yield connection

    def people(self) -> dict[str, Person]:
        """Every trainee's indicator attributes, by pseudonym (no names, emails nor ids)."""
        if not self.db.exists():
            return {}
        with self.connect() as db:
            rows = db.execute("SELECT pseudonym, cohort, region, gender, employer_type FROM trainee")
            return {r[0]: Person(*r) for r in rows}

    def pseudonyms(self, national_ids: list[str]) -> list[str]:
        """The pseudonym of each national id, in order (a KeyError names one not in the roster)."""
        with self.connect() as db:
            found = dict(db.execute("SELECT national_id, pseudonym FROM trainee "
                                    "WHERE national_id IS NOT NULL"))
        return [found[n] for n in national_ids]

    def tracks(self) -> dict[str, str]:
        """The programme each trainee is enrolled in, by pseudonym."""
        if not self.db.exists():
            return {}
        with self.connect() as db:
            return dict(db.execute("SELECT pseudonym, track FROM trainee"))


_SCHEMA = """CREATE TABLE IF NOT EXISTS trainee (
    pseudonym TEXT PRIMARY KEY, national_id TEXT UNIQUE, email TEXT UNIQUE,
    first_name TEXT NOT NULL, last_name TEXT NOT NULL, cohort TEXT NOT NULL, track TEXT NOT NULL,
    region TEXT NOT NULL, gender TEXT NOT NULL, institution TEXT NOT NULL,
    employer_type TEXT NOT NULL, updated_at TEXT NOT NULL)"""
_FIELDS = ("national_id", "email", "first_name", "last_name", "cohort", "track", "region", "gender",
           "institution", "employer_type")


def pseudonym(key: bytes, identity: str) -> str:
    return "t" + hmac.new(key, identity.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def read_rows(path: Path, tracks: set[str]) -> tuple[list[tuple[int, TraineeRow]], list[str], int]:
    """Validate every row: (line number, row) pairs, the errors (each naming its line) and how many
    rows they reject."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise RosterError(f"{path}: cannot be read as UTF-8 text ({error}); save it as CSV UTF-8."
                          ) from None
    lines = text.splitlines()
    if not lines:
        raise RosterError(f"{path}: empty file; the first line must name the columns: "
                          f"{', '.join(COLUMNS)}.")
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.DictReader(lines, delimiter=delimiter)
    _check_header(path, list(reader.fieldnames or []))
    good: list[tuple[int, TraineeRow]] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    rejected = 0
    for record in reader:
        line = reader.line_num
        row, problems = _validate(record, tracks)
        for identity in [] if row is None else _identities(row):
            if identity in seen:
                problems.append(f"same {identity.split(':')[0]} as line {seen[identity]}; "
                                "merge the two lines")
            seen.setdefault(identity, line)
        if problems or row is None:
            errors += [f"{path.name} line {line}: {p}" for p in problems]
            rejected += 1
        else:
            good.append((line, row))
    return good, errors, rejected


def _check_header(path: Path, names: list[str]) -> None:
    unknown = [n for n in names if n not in COLUMNS]
    missing = [n for n in COLUMNS if n not in names]
    if unknown or missing:
        detail = (f" unknown column(s) {', '.join(unknown)};" if unknown else "") + \
                 (f" missing column(s) {', '.join(missing)};" if missing else "")
        raise RosterError(f"{path} line 1:{detail} the columns are: {', '.join(COLUMNS)}.")


def _validate(record: dict[str, str | None], tracks: set[str]) -> tuple[TraineeRow | None, list[str]]:
    if None in record:
        extra = record[None]  # type: ignore[index]
        return None, [f"{len(extra or [])} value(s) more than the header has columns "
                      "(a separator inside a value? quote it)"]
    values = {k: (v or "").strip() for k, v in record.items()}
    problems = []
    if not values.get("national_id") and not values.get("email"):
        problems.append("columns national_id and email: both empty; give at least one")
    if values.get("track") and values["track"] not in tracks:
        problems.append(f"column track: '{values['track']}' is not in the catalogue; use one of: "
                        f"{', '.join(sorted(tracks))}")
    try:
        row = TraineeRow.model_validate(values)
    except ValidationError as error:
        return None, [f"column {'.'.join(str(x) for x in e['loc']) or '?'}: "
                      f"{e['msg'].removeprefix('Value error, ')}" for e in error.errors()] + problems
    return row, problems


def _identities(row: TraineeRow) -> list[str]:
    return [i for i in (f"national_id:{row.national_id}" if row.national_id else "",
                        f"email:{row.email}" if row.email else "") if i]


def store(roster: Roster, rows: list[tuple[int, TraineeRow]],
          skip_invalid: bool = False) -> tuple[int, int, int, list[str], list[str]]:
    """Upsert the rows in one transaction: (added, updated, unchanged, pseudonyms, skipped rows).
    A row whose national id and email belong to two trainees already stored is an error."""
    key = roster.key(create=True)
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    ids: list[str] = []
    conflicts: list[str] = []
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with roster.connect() as db, db:
        for line, row in rows:
            found = _existing(db, row)
            if isinstance(found, str):
                conflicts.append(f"line {line}: {found}")
                continue
            pseudo = pseudonym(key, row.identity) if found is None else found[0]
            counts[_upsert(db, pseudo, row, found, now)] += 1
            ids.append(pseudo)
        if conflicts and not skip_invalid:
            db.rollback()
            raise RosterError("nothing imported:\n" + "\n".join(conflicts))
    return counts["added"], counts["updated"], counts["unchanged"], ids, conflicts


def _upsert(db: sqlite3.Connection, pseudo: str, row: TraineeRow, found: tuple[str, ...] | None,
            now: str) -> str:
    values = tuple(getattr(row, f) for f in _FIELDS)
    if found is None:
        db.execute(f"INSERT INTO trainee VALUES (?, {', '.join('?' * len(_FIELDS))}, ?)",
                   (pseudo, *values, now))
        return "added"
    if tuple(found[1:]) == values:
        return "unchanged"
    assignments = ", ".join(f"{f} = ?" for f in _FIELDS)
    db.execute(f"UPDATE trainee SET {assignments}, updated_at = ? WHERE pseudonym = ?",
               (*values, now, pseudo))
    return "updated"


def _existing(db: sqlite3.Connection, row: TraineeRow) -> tuple[str, ...] | str | None:
    """The stored trainee with this national id or email, or a message when they are two."""
    columns = ", ".join(("pseudonym", *_FIELDS))
    matches = {}
    for field in ("national_id", "email"):
        value = getattr(row, field)
        if value:
            hit = db.execute(f"SELECT {columns} FROM trainee WHERE {field} = ?", (value,)).fetchone()
            if hit:
                matches[hit[0]] = tuple(hit)
    if len(matches) > 1:
        return ("its national_id and its email belong to two different trainees already in the "
                "roster; correct the row")
    return next(iter(matches.values()), None)


def import_roster(*, file: Path, skip_invalid: bool = False, root: Path | None = None,
                  workspace: Path | None = None, db_url: str | None = None) -> RosterImport:
    """Validate and import a roster CSV; register the pseudonyms in each programme's gradebook."""
    from autograder.nbgrader_course import register_students
    from autograder.workspace import Workspace

    ws = Workspace.open(root=root, workspace=workspace, db_url=db_url, checked=False)
    good, errors, rejected = read_rows(file, {p.id for p in ws.catalogue.programmes})
    if errors and not skip_invalid:
        raise RosterError(f"{file}: nothing imported, {len(errors)} problem(s) "
                          "(fix them, or pass --skip-invalid to import the valid rows):\n"
                          + "\n".join(errors))
    roster = Roster.of(ws.path)
    added, updated, unchanged, ids, conflicts = store(roster, good, skip_invalid)
    tracks = roster.tracks()
    registered = 0
    for programme in ws.catalogue.programmes:
        mine = [i for i in ids if tracks.get(i) == programme.id]
        if mine:
            course = ws.course(programme)
            course.root.mkdir(parents=True, exist_ok=True)
            registered += register_students(course.gradebook_url, programme.id, mine)
    return RosterImport(added, updated, unchanged, (*errors, *conflicts),
                        rejected + len(conflicts), registered)
