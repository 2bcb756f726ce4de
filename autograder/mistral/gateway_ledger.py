"""The gateway's books: trainee tokens, daily quotas, the usage log, usage per cohort.

Everything lives in ``private/gateway.db`` (SQLite) beside the roster, in the workspace folder that
git ignores. Tokens are stored as SHA-256 hashes; usage rows carry the trainee's pseudonym and cohort,
never a name, and the redactions as ``(kind, keyed hash)`` pairs. One :class:`Ledger` per gateway
process writes, under a lock, in short transactions: admitting a request (quota check plus an
in-memory reservation of its estimated tokens) and recording it are each one step, so two requests
racing cannot both spend the last of a quota.

Quotas (``[gateway]`` table of ``tadrib.toml``, each overridable on ``tadrib mistral gateway serve``;
absent or 0: no limit) are per UTC day; see :class:`Quotas`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import secrets
import sqlite3
import threading
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.roster import PRIVATE_DIR, Roster
from autograder.suppression import DEFAULT_K, suppress_line

if TYPE_CHECKING:
    from autograder.redact import Names

GATEWAY_DB = "gateway.db"
EXTRA_NAMES_FILE = "names.txt"
TOKEN_PREFIX = "tgw-"


class GatewayError(Exception):
    """A gateway problem told with its fix (bad configuration, unknown pseudonym...)."""


@dataclass(frozen=True)
class Quotas:
    """Daily limits (UTC day); None: no limit."""

    trainee_requests: int | None = field(default=None, metadata={
        "doc": "Requests one trainee may make per day."})
    trainee_tokens: int | None = field(default=None, metadata={
        "doc": "Tokens (prompt + completion, as the upstream counts them) one trainee may spend per day."})
    cohort_requests: int | None = field(default=None, metadata={
        "doc": "Requests all trainees of one cohort may make together per day."})
    cohort_tokens: int | None = field(default=None, metadata={
        "doc": "Tokens all trainees of one cohort may spend together per day."})

    @classmethod
    def load(cls, workspace: Path, **overrides: int | None) -> Quotas:
        """The ``[gateway]`` table of ``WORKSPACE/tadrib.toml``, then the overrides that are not None."""
        path = workspace / "tadrib.toml"
        table: dict[str, object] = {}
        if path.is_file():
            try:
                table = tomllib.loads(path.read_text(encoding="utf-8")).get("gateway", {})
            except tomllib.TOMLDecodeError as exc:
                raise GatewayError(f"{path} is not valid TOML: {exc}") from None
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(table) - set(names))
        if unknown:
            raise GatewayError(f"{path}: unknown setting(s) in [gateway]: {', '.join(unknown)}; "
                               f"the settings are: {', '.join(names)}.")
        values: dict[str, int | None] = {}
        for name in names:
            value = overrides.get(name)
            value = table.get(name) if value is None else value  # type: ignore[assignment]
            if value is not None and (not isinstance(value, int) or value < 0):
                raise GatewayError(f"{path}: [gateway] {name} = {value!r}: give a whole number "
                                   "of 0 or more (0: no limit).")
            values[name] = value or None
        return cls(**values)


@dataclass(frozen=True)
class Trainee:
    pseudonym: str
    cohort: str


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused: which quota, with what was spent and the limit."""

    quota: str
    spent: int
    limit: int


@dataclass(frozen=True)
class Usage:
    """One request through the gateway, as logged."""

    trainee: Trainee
    model: str
    endpoint: str
    status: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    redactions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CohortUsage:
    """One line of the usage report; None where the cell is suppressed."""

    cohort: str
    requests: int | None
    tokens: int | None
    trainees: int | None

    def cells(self, hidden: str) -> tuple[str, ...]:
        """Requests, tokens and active trainees as text, ``hidden`` where suppressed."""
        return tuple(hidden if v is None else str(v) for v in (self.requests, self.tokens, self.trainees))


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS token (token_hash TEXT PRIMARY KEY, pseudonym TEXT NOT NULL, "
    "issued_at TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS usage (id INTEGER PRIMARY KEY, at TEXT NOT NULL, day TEXT NOT NULL, "
    "pseudonym TEXT NOT NULL, cohort TEXT NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL, "
    "status INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, "
    "redactions TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS usage_day ON usage (day, cohort, pseudonym)",
)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


class Ledger:
    """The gateway database of one workspace; thread-safe, one writer per process."""

    def __init__(self, workspace: Path) -> None:
        self.roster = Roster.of(workspace)
        self.path = workspace / PRIVATE_DIR / GATEWAY_DB
        if not self.roster.db.exists():
            raise GatewayError(f"{self.roster.db}: no roster in this workspace. Import one first "
                               "(tadrib roster import FILE): the gateway serves the trainees it lists.")
        self._lock = threading.Lock()
        self._reserved: dict[str, int] = {}  # estimated tokens of requests in flight, by trainee
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        for statement in _SCHEMA:
            self._db.execute(statement)

    def close(self) -> None:
        self._db.close()

    def key(self) -> bytes:
        """The workspace's pseudonym key, which also keys the redaction hashes."""
        return self.roster.key(create=False)

    def names(self) -> Names:
        """The roster's names and national ids, plus ``private/names.txt`` (one name a line, any
        script: the roster holds Latin names only, so Arabic-script names go there)."""
        with self.roster.connect() as db:
            rows = db.execute("SELECT first_name, last_name, national_id FROM trainee").fetchall()
        extra = self.roster.folder / EXTRA_NAMES_FILE
        more = extra.read_text(encoding="utf-8").splitlines() if extra.exists() else []
        from autograder.redact import Names  # phonenumbers and stdnum: only where redacting

        return Names.of([f"{first} {last}" for first, last, _ in rows] + [m for m in more if m.strip()],
                        [n for _, _, n in rows if n])

    def issue(self, pseudonym: str) -> str:
        """A new token for a trainee of the roster (shown once; only its hash is kept)."""
        if pseudonym not in self.roster.people():
            raise GatewayError(f"{pseudonym}: no trainee with this pseudonym in {self.roster.db}; "
                               "the pseudonyms are in the gradebook and in `tadrib roster import`'s output.")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute("INSERT INTO token VALUES (?, ?, ?, 0)",
                             (_hash_token(token), pseudonym, datetime.now(UTC).isoformat()))
        return token

    def revoke(self, pseudonym: str) -> int:
        """Revoke every token of a trainee; how many were revoked."""
        with self._lock:
            cursor = self._db.execute("UPDATE token SET revoked = 1 WHERE pseudonym = ? AND revoked = 0",
                                      (pseudonym,))
        return cursor.rowcount

    def trainee(self, token: str) -> Trainee | None:
        """Who holds this token, or None for an unknown or revoked one."""
        row = self._db.execute("SELECT pseudonym FROM token WHERE token_hash = ? AND revoked = 0",
                               (_hash_token(token),)).fetchone()
        person = self.roster.people().get(row[0]) if row else None
        return Trainee(person.student_id, person.cohort) if person else None

    def admit(self, trainee: Trainee, estimate: int, quotas: Quotas) -> Refusal | None:
        """Check the quotas for a request estimated at ``estimate`` tokens; reserve them if admitted."""
        with self._lock:
            mine, cohort = self._spent("pseudonym", trainee.pseudonym), self._spent("cohort", trainee.cohort)
            cohort_reserved = sum(v for k, v in self._reserved.items() if k.startswith(f"{trainee.cohort}\0"))
            checks = (
                ("trainee-requests", mine[0] + 1, quotas.trainee_requests),
                ("trainee-tokens", mine[1] + self._reserved.get(_slot(trainee), 0) + estimate,
                 quotas.trainee_tokens),
                ("cohort-requests", cohort[0] + 1, quotas.cohort_requests),
                ("cohort-tokens", cohort[1] + cohort_reserved + estimate, quotas.cohort_tokens),
            )
            for quota, needed, limit in checks:
                if limit is not None and needed > limit:
                    return Refusal(quota, needed - 1 if quota.endswith("requests") else needed - estimate,
                                   limit)
            self._reserved[_slot(trainee)] = self._reserved.get(_slot(trainee), 0) + estimate
        return None

    def record(self, usage: Usage, reserved: int = 0) -> None:
        """Log a request (and release what :meth:`admit` reserved for it)."""
        now = datetime.now(UTC)
        with self._lock:
            slot = _slot(usage.trainee)
            self._reserved[slot] = max(0, self._reserved.get(slot, 0) - reserved)
            self._db.execute(
                "INSERT INTO usage (at, day, pseudonym, cohort, model, endpoint, status, prompt_tokens, "
                "completion_tokens, redactions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (now.isoformat(), now.date().isoformat(), usage.trainee.pseudonym, usage.trainee.cohort,
                 usage.model, usage.endpoint, usage.status, usage.prompt_tokens, usage.completion_tokens,
                 json.dumps([list(r) for r in usage.redactions])))

    def _spent(self, column: str, value: str) -> tuple[int, int]:
        """Requests and tokens counted today (refused and failed requests count for nothing)."""
        row = self._db.execute(
            f"SELECT count(*), coalesce(sum(prompt_tokens + completion_tokens), 0) FROM usage "
            f"WHERE day = ? AND {column} = ? AND status < 400", (_today(), value)).fetchone()
        return int(row[0]), int(row[1])

    def rows(self) -> list[tuple[Any, ...]]:
        """The raw usage log (for tests and audits): every column but the id."""
        return [tuple(r) for r in self._db.execute(
            "SELECT at, day, pseudonym, cohort, model, endpoint, status, prompt_tokens, "
            "completion_tokens, redactions FROM usage ORDER BY id")]

    def by_cohort(self, day_from: str | None = None,
                  day_to: str | None = None) -> list[tuple[str, int, int, int]]:
        """(cohort, requests, tokens, active trainees) over the days given, refused requests left out."""
        return [(r[0], r[1], r[2], r[3]) for r in self._db.execute(
            "SELECT cohort, count(*), sum(prompt_tokens + completion_tokens), count(DISTINCT pseudonym) "
            "FROM usage WHERE status < 400 AND day >= ? AND day <= ? GROUP BY cohort ORDER BY cohort",
            (day_from or "0000", day_to or "9999"))]


def _slot(trainee: Trainee) -> str:
    return f"{trainee.cohort}\0{trainee.pseudonym}"


def suppress_cohorts(rows: Iterable[tuple[str, int, int, int]],
                     k: int = DEFAULT_K) -> tuple[list[CohortUsage], CohortUsage]:
    """Hide cohorts with fewer than ``k`` active trainees, and enough others that the total cannot
    give them away (:func:`autograder.suppression.suppress_line` on the active-trainee counts)."""
    rows = list(rows)
    active = {cohort: trainees for cohort, _, _, trainees in rows}
    cells, total = suppress_line(active, sum(active.values()), k)
    lines = [CohortUsage(c, None, None, None) if cells[c] is None else CohortUsage(c, r, t, n)
             for c, r, t, n in rows]
    hidden = total is None
    return lines, CohortUsage("total", None if hidden else sum(r[1] for r in rows),
                              None if hidden else sum(r[2] for r in rows), total)


USAGE_CSV = "gateway_usage.csv"


def gateway_usage(*, workspace: Path, day_from: str | None = None, day_to: str | None = None,
                  k: int = DEFAULT_K) -> tuple[list[CohortUsage], CohortUsage, Path]:
    """Usage per cohort over the days given (ISO dates, inclusive), small cohorts suppressed, written
    to ``WORKSPACE/reports/gateway_usage.csv``: (lines, total, the CSV)."""
    if k < 2:
        raise GatewayError(f"k = {k}: the suppression threshold must be at least 2")
    ledger = Ledger(workspace)
    try:
        lines, total = suppress_cohorts(ledger.by_cohort(day_from, day_to), k)
    finally:
        ledger.close()
    path = workspace / "reports" / USAGE_CSV
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["cohort", "requests", "tokens", "active_trainees"])
        for line in [*lines, total]:
            out.writerow([line.cohort, *line.cells("")])
    return lines, total, path
