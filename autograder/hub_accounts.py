"""Unix accounts and permissions of the hub on one machine (``tadrib hub``, run as root).

Every hub user gets a real, unprivileged Unix account named ``tdb-<hub name>`` (a trainee's hub name
is their pseudonym), with a uid and gid in :data:`UID_RANGE`, apart from the grading sandbox's
61000–61063. Each course has a staff group ``tdb-staff-<course>`` (its instructors and its formgrader
service account); coordinators share ``tdb-coordinators``. Only accounts with the ``tdb-`` prefix are
ever created or removed here.
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
from collections.abc import Iterable
from pathlib import Path

PREFIX = "tdb-"
UID_RANGE = (62000, 64999)
COORDINATORS_GROUP = "tdb-coordinators"
COMMENT = "tadrib hub"
_RANGE = ["-K", f"UID_MIN={UID_RANGE[0]}", "-K", f"UID_MAX={UID_RANGE[1]}",
          "-K", f"GID_MIN={UID_RANGE[0]}", "-K", f"GID_MAX={UID_RANGE[1]}"]


class AccountError(Exception):
    """A Unix account, group or permission that could not be set; the message says how to fix it."""


def unix_name(name: str) -> str:
    """``tdb-<name>``; a name too long for Unix (32 characters) keeps a hash suffix."""
    full = PREFIX + name
    if len(full) <= 32:
        return full
    return full[:23] + "-" + hashlib.sha256(name.encode()).hexdigest()[:8]


def staff_group(course_id: str) -> str:
    return unix_name(f"staff-{course_id}")


def grader_account(course_id: str) -> str:
    """The Unix account of a course's formgrader service."""
    return unix_name(f"grader-{course_id}")


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AccountError(f"`{' '.join(command)}` failed: {done.stderr.strip()}; tadrib hub manages "
                           "Unix accounts and must run as root on the hub machine.")


def require_root() -> None:
    """Every hub command needs root (accounts, servers run as their users, the exchange's folders
    owned by root and the courses' staff) and setfacl; checked before the workspace is touched."""
    if os.geteuid() != 0:
        raise AccountError("tadrib hub creates a Unix account per user, runs each user's server as that "
                           "account and owns the exchange's folders, which needs root: run it with "
                           "sudo on the hub machine.")
    if shutil.which("setfacl") is None:
        raise AccountError("setfacl is missing; install Debian's acl package (apt-get install acl).")


def ensure_group(name: str) -> int:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        _run(["groupadd", *_RANGE[4:], name])
        return grp.getgrnam(name).gr_gid


def ensure_user(name: str, groups: Iterable[str] = ()) -> pwd.struct_passwd:
    """The account ``name`` (``tdb-…``), created with a home when missing, in exactly the tadrib
    groups ``groups`` (other supplementary groups are left as they are)."""
    if not name.startswith(PREFIX):
        raise AccountError(f"{name}: tadrib only manages accounts named {PREFIX}…")
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        _run(["useradd", *_RANGE, "--create-home", "--user-group", "--shell", "/bin/bash",
              "--comment", COMMENT, name])
        entry = pwd.getpwnam(name)
    wanted = sorted(set(groups))
    for group in wanted:
        ensure_group(group)
    current = {g.gr_name for g in grp.getgrall() if name in g.gr_mem}
    others = sorted(g for g in current if not g.startswith(PREFIX))
    if set(wanted) != current - set(others):
        _run(["usermod", "-G", ",".join(others + wanted), name])
    os.chmod(entry.pw_dir, 0o700)  # a trainee's home (notebooks, nbgrader cache) is theirs alone
    return entry


def remove_accounts(names: Iterable[str]) -> None:
    """Remove ``tdb-…`` accounts with their homes, and their processes (tests, leaving trainees)."""
    for name in names:
        if not name.startswith(PREFIX):
            continue
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        for pid in processes_of([name]):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _run(["userdel", "--remove", name])


def remove_groups(names: Iterable[str]) -> None:
    for name in names:
        if name.startswith(PREFIX):
            try:
                grp.getgrnam(name)
            except KeyError:
                continue
            subprocess.run(["groupdel", name], capture_output=True, check=False)


def processes_of(names: Iterable[str]) -> list[int]:
    """Pids of the processes running as any of these accounts."""
    uids = set()
    for name in names:
        try:
            uids.add(pwd.getpwnam(name).pw_uid)
        except KeyError:
            continue
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid in uids:
                    found.append(int(entry.name))
            except FileNotFoundError:
                continue
    return found


def grant(path: Path, entries: list[str], *, recursive: bool = True) -> None:
    """POSIX ACL entries such as ``u:tdb-grader-x:rwX``, also as defaults inherited by new files."""
    if not entries:
        return
    spec = ",".join(entries)
    flags = ["-R"] if recursive else []
    _run(["setfacl", *flags, "-m", spec, str(path)])
    if path.is_dir():
        _run(["setfacl", *flags, "-d", "-m", spec, str(path)])


def traversable(path: Path) -> Path | None:
    """The first folder on the way to ``path`` that other users cannot enter, or None."""
    for folder in [*reversed(path.resolve().parents), path.resolve()]:
        if not os.stat(folder).st_mode & 0o001:
            return folder
    return None
