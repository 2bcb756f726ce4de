"""The audit trail: every export and push, in an append-only, hash-chained log.

``<workspace>/audit/audit.jsonl`` holds one JSON object a line: ``seq``, ``at`` (UTC), ``by`` (the
operating-system user), ``action``, ``parameters``, ``outputs`` (file name -> SHA-256 of what was
written or sent), ``prev`` (the previous entry's hash) and ``hash``, the SHA-256 of the entry's
canonical JSON without ``hash``. Editing, removing or reordering a line breaks the chain; cutting
lines off the end no longer matches ``audit/HEAD`` (the last seq and hash, also sent with every
push so that the receiving system can keep its own copy). ``tadrib audit verify`` checks it all.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

AUDIT_DIR = "audit"
LOG_FILE = "audit.jsonl"
HEAD_FILE = "HEAD"
GENESIS = "0" * 64


def _canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class AuditLog:
    folder: Path

    @classmethod
    def of(cls, workspace: Path) -> AuditLog:
        return cls(workspace / AUDIT_DIR)

    @property
    def path(self) -> Path:
        return self.folder / LOG_FILE

    @property
    def head_path(self) -> Path:
        return self.folder / HEAD_FILE

    def head(self) -> str:
        """``seq:hash`` of the last entry (``0:`` + genesis when the log is empty)."""
        if not self.head_path.exists():
            return f"0:{GENESIS}"
        return self.head_path.read_text(encoding="ascii").strip()

    def record(self, action: str, parameters: dict[str, Any], outputs: dict[str, str]) -> dict[str, Any]:
        """Append one entry (under a lock, so that two commands never fork the chain)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            lines = handle.read().splitlines()
            last = json.loads(lines[-1]) if lines else None
            entry: dict[str, Any] = {
                "seq": (last["seq"] + 1) if last else 1,
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "by": getpass.getuser(),
                "action": action,
                "parameters": parameters,
                "outputs": outputs,
                "prev": last["hash"] if last else GENESIS,
            }
            entry["hash"] = entry_hash(entry)
            handle.write(_canonical(entry).decode() + "\n")
            handle.flush()
            self.head_path.write_text(f"{entry['seq']}:{entry['hash']}\n", encoding="ascii")
        return entry

    def verify(self) -> tuple[int, list[str]]:
        """(entries checked, problems); each problem names the line and what is wrong."""
        if not self.path.exists():
            return 0, [] if not self.head_path.exists() else [f"{self.path}: missing, but "
                                                               f"{self.head_path} records entries"]
        problems: list[str] = []
        prev, seq = GENESIS, 0
        lines = self.path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            problem, entry = _check_line(line, prev, seq + 1)
            if problem:
                problems.append(f"{self.path} line {number}: {problem}")
            if entry is not None:
                prev, seq = entry.get("hash", ""), int(entry.get("seq", seq + 1))
        if self.head_path.exists() and self.head() != f"{seq}:{prev}":
            problems.append(f"{self.head_path}: records {self.head()}, but the log ends at "
                            f"{seq}:{prev}; entries were removed from the end (or HEAD edited)")
        return len(lines), problems


def _check_line(line: str, prev: str, seq: int) -> tuple[str, dict[str, Any] | None]:
    try:
        entry = json.loads(line)
    except json.JSONDecodeError:
        return "not a JSON entry (edited by hand?)", None
    if not isinstance(entry, dict):
        return "not a JSON object (edited by hand?)", None
    if entry.get("hash") != entry_hash(entry):
        return f"entry {entry.get('seq')} does not match its hash: it was changed after writing", entry
    if entry.get("prev") != prev:
        return (f"entry {entry.get('seq')} does not follow the previous entry (an entry before it "
                "was removed, inserted or reordered)"), entry
    if entry.get("seq") != seq:
        return f"entry numbered {entry.get('seq')} where {seq} was expected", entry
    return "", entry


def verify(*, workspace: Path | None = None) -> tuple[int, list[str]]:
    """``tadrib audit verify``: check the whole chain of the workspace's audit log."""
    from autograder.workspace import default_workspace

    return AuditLog.of((workspace or default_workspace()).resolve()).verify()
