"""The safe exchange: nbgrader's exchange with one private inbound folder per trainee.

Stock nbgrader 0.9 makes the exchange root world-writable and ``inbound/`` writable by everyone;
a trainee who learns the name of another's submission can read and change it. Here (``tadrib hub``
lays the folders out, as root, before any server starts)::

    <workspace>/exchange/                      root 0755
      <course>/                                root 0755
        outbound/<module>/                     root:tdb-staff-<course> 2775, files 0644
        inbound/                               root:tdb-staff-<course> 0750 + ACL other x only
          <pseudonym>/                         tdb-<pseudonym>:tdb-staff-<course> 2770
        feedback/                              root:tdb-staff-<course> 2771 (not listable)

A trainee submits into their own ``inbound/<pseudonym>/`` (:class:`PersonalSubmit`), which only they
and the course's staff group can enter; :class:`PersonalCollect` collects from there. Feedback stays
nbgrader's: one HTML file per notebook named by a hash of the submission's 128-hex-digit secret, in a
folder nobody but staff can list. Releases never widen a permission (:class:`SafeReleaseAssignment`,
:class:`SafeReleaseFeedback`). The exchange lives in the workspace, so it survives a hub restart.

This module is the hub's sibling of :mod:`autograder.nbgrader_course` (it subclasses nbgrader's
exchange); nothing else imports nbgrader for the hub.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default.collect import ExchangeCollect, groupby
from nbgrader.exchange.default.fetch_assignment import ExchangeFetchAssignment
from nbgrader.exchange.default.fetch_feedback import ExchangeFetchFeedback
from nbgrader.exchange.default.list import ExchangeList
from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import check_mode, get_username
from traitlets.config import Config

from autograder.nbgrader_course import Course, StepResult, _venv_on_path


def exchange_config(exchange_root: Path) -> Config:
    """The nbgrader settings every side of the safe exchange shares."""
    c = Config()
    c.Exchange.root = str(exchange_root)
    c.Exchange.path_includes_course = True
    c.ExchangeFactory.submit = f"{__name__}.PersonalSubmit"
    c.ExchangeFactory.collect = f"{__name__}.PersonalCollect"
    c.ExchangeFactory.release_assignment = f"{__name__}.SafeReleaseAssignment"
    c.ExchangeFactory.release_feedback = f"{__name__}.SafeReleaseFeedback"
    c.ExchangeFactory.list = f"{__name__}.SafeList"
    c.ExchangeFactory.fetch_assignment = f"{__name__}.SafeFetchAssignment"
    c.ExchangeFactory.fetch_feedback = f"{__name__}.SafeFetchFeedback"
    # folders are per trainee (owned by tdb-<pseudonym>), so nbgrader's owner == student id check
    # would only warn about the tdb- prefix
    c.ExchangeCollect.check_owner = False
    return c


class _LaidOut:
    """Folders are laid out by ``tadrib hub``; nbgrader must not create or chmod them."""

    root: str

    def fail(self, msg: str) -> None: ...  # provided by nbgrader's Exchange

    def ensure_root(self) -> None:
        if not os.path.isdir(self.root):
            self.fail(f"Exchange not found: {self.root}; start `tadrib hub` once to lay it out.")

    def ensure_directory(self, path: str, mode: int) -> None:
        if not os.path.isdir(path):
            self.fail(f"Exchange folder not found: {path}; start `tadrib hub` once to lay it out.")


class SafeReleaseAssignment(_LaidOut, ExchangeReleaseAssignment):  # type: ignore[misc]
    """Release into ``outbound/`` without making the exchange or ``inbound/`` world-writable."""


class SafeReleaseFeedback(_LaidOut, ExchangeReleaseFeedback):  # type: ignore[misc]
    """Release feedback into the laid-out ``feedback/`` folder, keeping its permissions."""


class SafeList(_LaidOut, ExchangeList):  # type: ignore[misc]
    """List releases (and the trainee's cached submissions) from an exchange nobody may write to."""


class SafeFetchAssignment(_LaidOut, ExchangeFetchAssignment):  # type: ignore[misc]
    """Fetch a release from the read-only ``outbound/``."""


class SafeFetchFeedback(_LaidOut, ExchangeFetchFeedback):  # type: ignore[misc]
    """Fetch one's own feedback from the unlistable ``feedback/``."""


class PersonalSubmit(_LaidOut, ExchangeSubmit):  # type: ignore[misc]
    """Submit into ``inbound/<student id>/``, the trainee's own folder."""

    def init_dest(self) -> None:
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        if not self.authenticator.has_access(self.coursedir.student_id, self.coursedir.course_id):
            self.fail("You do not have access to this course.")
        student_id = self.coursedir.student_id
        if student_id == "*":
            student_id = get_username()
        if "*" in student_id or "+" in student_id or "/" in student_id:
            self.fail(f"The student ID should contain no '*', '+' nor '/'; got {student_id}")
        self.inbound_path = os.path.join(self.root, self.coursedir.course_id, "inbound", student_id)
        if not os.path.isdir(self.inbound_path) or not check_mode(self.inbound_path, write=True,
                                                                   execute=True):
            self.fail(f"Your submission folder {self.inbound_path} is missing or not yours; ask the "
                      "coordinator to restart `tadrib hub`, which creates it.")
        self.cache_path = os.path.join(self.cache, self.coursedir.course_id)
        self.assignment_filename = "+".join(
            (student_id, self.coursedir.assignment_id, self.timestamp,
             *([_random_string()] if self.add_random_string else [])))


def _random_string() -> str:
    import base64

    return base64.urlsafe_b64encode(os.urandom(9)).decode("ascii")


class PersonalCollect(ExchangeCollect):  # type: ignore[misc]
    """Collect the latest submission of each trainee from their own ``inbound/<student id>/``."""

    def _path_to_record(self, path: str) -> dict[str, Any]:
        record: dict[str, Any] = super()._path_to_record(path)
        folder = os.path.basename(os.path.dirname(path))
        if folder != record["username"]:
            self.fail(f"{path}: a submission for {record['username']} in {folder}'s folder; "
                      "remove it (only the course's staff can) and collect again.")
        record["filename"] = os.path.join(folder, record["filename"])
        return record

    def init_src(self) -> None:
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        student_id = self.coursedir.student_id or "*"
        pattern = os.path.join(self.inbound_path, student_id,
                               f"{student_id}+{self.coursedir.assignment_id}+*")
        records = [self._path_to_record(f) for f in glob.glob(pattern)]
        self.duedate = None  # latest submission; late penalties are nbgrader's, at grading time
        self.src_records = [self._sort_by_timestamp(v)[0]
                            for v in groupby(records, lambda item: item["username"]).values()]


# -- the instructor's side, called by autograder.hub -------------------------------------------


def _exchange_step(course: Course, exchange_root: Path, step: str, *args: Any,
                   **kwargs: Any) -> StepResult:
    _venv_on_path()
    config = course.config()
    config.merge(exchange_config(exchange_root))
    config.ExchangeReleaseAssignment.force = True  # a new release replaces the earlier one
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    result = getattr(api, step)(*args, **kwargs)
    return StepResult(bool(result["success"]), result.get("log", ""), result.get("error", ""))


def release_to_exchange(course: Course, exchange_root: Path, module_id: str) -> StepResult:
    """nbgrader release_assignment into the safe exchange (overwrites an earlier release)."""
    return _exchange_step(course, exchange_root, "release_assignment", module_id)


def collect_from_exchange(course: Course, exchange_root: Path, module_id: str) -> StepResult:
    """nbgrader collect: each trainee's latest submission into the course's ``submitted/``."""
    return _exchange_step(course, exchange_root, "collect", module_id, update=True)


def release_feedback_to_exchange(course: Course, exchange_root: Path, module_id: str) -> StepResult:
    """nbgrader release_feedback of every trainee's feedback for ``module_id``."""
    return _exchange_step(course, exchange_root, "release_feedback", module_id)
