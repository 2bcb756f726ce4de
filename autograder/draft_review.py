"""The instructor in the loop: AI-drafted hints (:mod:`.drafts`) are stored, approved, edited or
dropped, and only approved text reaches a trainee.

Drafts live in ``drafts.db`` (SQLite) in the course directory, beside the gradebook: per failed
test of a trainee, the current text, the model's original reply, the status (``draft``,
``approved``, ``edited`` — changed, waiting for approval — or ``dropped``), the model, the prompt's
SHA-256, who drafted and who decided when; every step is also appended to ``draft_event``, so no
text is ever lost.

An approved text goes out as the instructor comment (nbgrader's ``manual_comment``) on the answer
cell of its failed test, the comment nbgrader's feedback shows and formgrader edits. Comments are
brought in line with the drafts on every decision and before ``tadrib feedback``: the text tadrib
released last is replaced (or removed, for a draft no longer approved, or whose test now passes),
and whatever else the instructor wrote in formgrader is kept.
"""

from __future__ import annotations

import getpass
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.nbgrader_course import CommentChange, Course
from autograder.workspace import Workspace

if TYPE_CHECKING:
    from autograder.grading import Progress, SubmissionStatus

STORE_FILE = "drafts.db"
STATUSES = ("draft", "approved", "edited", "dropped")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS draft (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    module_id TEXT NOT NULL, student_id TEXT NOT NULL, notebook TEXT NOT NULL,
    test_id TEXT NOT NULL, answer_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'approved', 'edited', 'dropped')),
    text TEXT NOT NULL, model_text TEXT NOT NULL, model TEXT NOT NULL,
    prompt_sha256 TEXT NOT NULL, drafted_at TEXT NOT NULL, drafted_by TEXT NOT NULL,
    decided_at TEXT, decided_by TEXT,
    released_text TEXT,
    UNIQUE (module_id, student_id, notebook, test_id));
CREATE TABLE IF NOT EXISTS draft_event (
    id INTEGER PRIMARY KEY AUTOINCREMENT, draft_id INTEGER NOT NULL REFERENCES draft (id),
    at TEXT NOT NULL, by TEXT NOT NULL, action TEXT NOT NULL, text TEXT);
"""


class DraftError(Exception):
    """Drafting or reviewing cannot go on; the message names the module, draft or endpoint and
    the fix."""


@dataclass(frozen=True)
class Draft:
    """One stored hint for one failed test of one trainee."""

    id: int
    module_id: str
    student_id: str
    notebook: str
    test_id: str
    answer_id: str
    status: str
    text: str
    model_text: str
    model: str
    prompt_sha256: str
    drafted_at: str
    drafted_by: str
    decided_at: str | None
    decided_by: str | None
    released_text: str | None
    """What tadrib last wrote into the trainee's gradebook comment (None: nothing)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class DraftStore:
    """``drafts.db`` of one course."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=60)
        try:
            with db:  # one transaction, committed or rolled back
                yield db
        finally:
            db.close()

    def rows(self, module_id: str, *, status: str | None = None,
             student: str | None = None) -> list[Draft]:
        names = ", ".join(f.name for f in fields(Draft))
        query = f"SELECT {names} FROM draft WHERE module_id = ?"
        args: list[Any] = [module_id]
        for column, value in (("status", status), ("student_id", student)):
            if value is not None:
                query += f" AND {column} = ?"
                args.append(value)
        with self._db() as db:
            return [Draft(*row) for row in db.execute(query + " ORDER BY id", args)]

    def find(self, module_id: str, student: str, notebook: str, test_id: str) -> Draft | None:
        return next((d for d in self.rows(module_id, student=student)
                     if (d.notebook, d.test_id) == (notebook, test_id)), None)

    def get(self, module_id: str, draft_id: int) -> Draft:
        found = next((d for d in self.rows(module_id) if d.id == draft_id), None)
        if found is None:
            raise DraftError(f"{self.path}: no draft {draft_id} for {module_id}; see "
                             f"`tadrib drafts list {module_id}`.")
        return found

    def put_draft(self, module_id: str, student: str, notebook: str, test_id: str, answer_id: str,
                  *, text: str, model: str, prompt_sha256: str, by: str) -> int:
        """Store a new draft, or replace the text of the one for the same test (its history kept
        in ``draft_event``); returns its id."""
        now = _now()
        with self._db() as db:
            db.execute(
                "INSERT INTO draft (module_id, student_id, notebook, test_id, answer_id, status, "
                "text, model_text, model, prompt_sha256, drafted_at, drafted_by) "
                "VALUES (?, ?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (module_id, student_id, notebook, test_id) DO UPDATE SET "
                "answer_id = excluded.answer_id, status = 'draft', text = excluded.text, "
                "model_text = excluded.model_text, model = excluded.model, "
                "prompt_sha256 = excluded.prompt_sha256, drafted_at = excluded.drafted_at, "
                "drafted_by = excluded.drafted_by, decided_at = NULL, decided_by = NULL",
                (module_id, student, notebook, test_id, answer_id, text, text, model,
                 prompt_sha256, now, by))
            (draft_id,) = db.execute(
                "SELECT id FROM draft WHERE module_id = ? AND student_id = ? AND notebook = ? "
                "AND test_id = ?", (module_id, student, notebook, test_id)).fetchone()
            db.execute("INSERT INTO draft_event (draft_id, at, by, action, text) "
                       "VALUES (?, ?, ?, 'drafted', ?)", (draft_id, now, by, text))
        return int(draft_id)

    def decide(self, draft_id: int, status: str, by: str, text: str | None = None) -> None:
        now = _now()
        with self._db() as db:
            db.execute("UPDATE draft SET status = ?, text = COALESCE(?, text), decided_at = ?, "
                       "decided_by = ? WHERE id = ?", (status, text, now, by, draft_id))
            db.execute("INSERT INTO draft_event (draft_id, at, by, action, text) "
                       "VALUES (?, ?, ?, ?, ?)", (draft_id, now, by, status, text))

    def mark_released(self, released: Iterable[tuple[int, str | None]]) -> None:
        with self._db() as db:
            db.executemany("UPDATE draft SET released_text = ? WHERE id = ?",
                           [(text, draft_id) for draft_id, text in released])


def store_for(course: Course) -> DraftStore:
    return DraftStore(course.root / STORE_FILE)


# -- comments in the gradebook -------------------------------------------------------------------


def merged_comment(current: str | None, *, previous: str | None, wanted: str | None) -> str | None:
    """The comment once the text tadrib released before (``previous``) is replaced by ``wanted``
    (None: removed); what else the instructor wrote is kept. None: no comment left."""
    base = (current or "").strip()
    if previous and previous in base:
        base = base.replace(previous, "", 1).strip()
    parts = [base] if wanted and wanted in base else [p for p in (base, wanted) if p]
    return "\n\n".join(parts) or None


def sync_comments(course: Course, module_id: str, store: DraftStore) -> int:
    """Bring the gradebook comments in line with the drafts: the approved text of each test that
    still fails, nothing else. Returns how many approved hints are out."""
    failing = {(f.student_id, f.notebook, f.grade_id) for f in course.failed_tests(module_id)}
    changes, released = [], []
    for row in store.rows(module_id):
        wanted = (row.text if row.status == "approved"
                  and (row.student_id, row.notebook, row.test_id) in failing else None)
        if wanted is None and row.released_text is None:
            continue
        changes.append(CommentChange(row.student_id, row.notebook, row.answer_id,
                                     partial(merged_comment, previous=row.released_text,
                                             wanted=wanted)))
        released.append((row.id, wanted))
    course.update_comments(module_id, changes)
    store.mark_released(released)
    return sum(text is not None for _, text in released)


# -- the review commands ---------------------------------------------------------------------------


def _open(module: str, root: Path | None, workspace: Path | None,
          db_url: str | None) -> tuple[Course, str, DraftStore]:
    ws = Workspace.open(root=root, workspace=workspace, db_url=db_url)
    programme, mod = ws.catalogue.find_module(module)
    course = ws.course(programme)
    return course, mod.id, store_for(course)


def list_drafts(module: str, *, status: str | None = None, student: str | None = None,
                root: Path | None = None, workspace: Path | None = None,
                db_url: str | None = None) -> list[Draft]:
    """The drafts of ``module``, maybe only those with ``status`` or of one ``student``."""
    if status is not None and status not in STATUSES:
        raise DraftError(f"unknown status {status!r}; choose one of {', '.join(STATUSES)}.")
    _, module_id, store = _open(module, root, workspace, db_url)
    return store.rows(module_id, status=status, student=student)


def _decide(module: str, ids: Iterable[int], status: str, *, text: str | None, by: str | None,
            root: Path | None, workspace: Path | None, db_url: str | None) -> list[Draft]:
    course, module_id, store = _open(module, root, workspace, db_url)
    chosen = [store.get(module_id, draft_id) for draft_id in ids]  # all known, or none changed
    for row in chosen:
        store.decide(row.id, status, by or getpass.getuser(), text)
    sync_comments(course, module_id, store)
    return [store.get(module_id, row.id) for row in chosen]


def approve(module: str, *, ids: Iterable[int], by: str | None = None, root: Path | None = None,
            workspace: Path | None = None, db_url: str | None = None) -> list[Draft]:
    """Approve drafts as they read now: their text goes into the trainee's feedback."""
    return _decide(module, ids, "approved", text=None, by=by, root=root, workspace=workspace,
                   db_url=db_url)


def edit(module: str, *, draft_id: int, text: str, approve: bool = False, by: str | None = None,
         root: Path | None = None, workspace: Path | None = None,
         db_url: str | None = None) -> Draft:
    """Replace a draft's text (status ``edited``, waiting for approval, or ``approved`` at once
    with ``approve``); the model's text stays in the store."""
    if not text.strip():
        raise DraftError(f"draft {draft_id}: the new text is empty; to send nothing, use "
                         f"`tadrib drafts drop {module} {draft_id}`.")
    status = "approved" if approve else "edited"
    return _decide(module, [draft_id], status, text=text.strip(), by=by, root=root,
                   workspace=workspace, db_url=db_url)[0]


def drop(module: str, *, ids: Iterable[int], by: str | None = None, root: Path | None = None,
         workspace: Path | None = None, db_url: str | None = None) -> list[Draft]:
    """Drop drafts: nothing of them reaches the trainee (a text already out is taken back)."""
    return _decide(module, ids, "dropped", text=None, by=by, root=root, workspace=workspace,
                   db_url=db_url)


def feedback(module: str, *, root: Path | None = None, workspace: Path | None = None,
             db_url: str | None = None,
             on_progress: Progress | None = None) -> list[SubmissionStatus]:
    """nbgrader generate_feedback (HTML) for every graded submission of ``module``, with the
    approved hints, and only those, as comments on the answers of the failed tests."""
    from autograder.grading import feedback as generate

    ws = Workspace.open(root=root, workspace=workspace, db_url=db_url)
    programme, mod = ws.catalogue.find_module(module)
    course = ws.course(programme)
    if (course.root / STORE_FILE).exists():  # no drafts ever made: nothing to bring in line
        sync_comments(course, mod.id, store_for(course))
    return generate(module, root=root, workspace=workspace, db_url=db_url,
                    on_progress=on_progress)
