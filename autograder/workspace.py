"""The workspace: a course's runtime state, outside the repository.

Layout (default ``./var``, or ``--workspace`` / ``TADRIB_WORKSPACE``)::

    var/
      courses/<programme-id>/   one nbgrader course directory per track and bootcamp
      book/                     generated Jupyter Book sources, and book/_build/html
      reports/                  completion CSVs

Settings (each can be passed as an option or set in the environment):

``TADRIB_ROOT``
    the folder holding ``courses/`` and ``bootcamps/`` (default: the current directory).
``TADRIB_WORKSPACE``
    where runtime state lives (default ``./var``); never inside git.
``TADRIB_DB_URL``
    one SQLAlchemy URL for every course's gradebook, e.g. ``postgresql://host/tadrib`` (nbgrader's
    ``db_url``; courses share it through nbgrader's ``course_id``). Default: one SQLite
    ``gradebook.db`` per course directory.
``TADRIB_HUB_URL``
    the programme's JupyterHub, where the book's "Ouvrir dans JupyterHub" buttons lead (default
    ``http://localhost:8000``, a hub on the same machine).
``TADRIB_STUDENT_REPO``
    optional git URL of a repository holding the student versions laid out as the book's
    ``<programme>/<module>/<notebook>.ipynb`` (e.g. a copy of ``book/src``): when set, the buttons are
    nbgitpuller links that clone it into the trainee's home and open the notebook; when not, they open
    JupyterLab, where the trainee fetches the module from nbgrader's Assignment List.
``TADRIB_STUDENT_BRANCH``
    the branch of ``TADRIB_STUDENT_REPO`` (default ``main``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.catalogue import Catalogue, CatalogueError, Module, Programme, load_catalogue
from autograder.gradebook_enrolments import course_gradebook_url

if TYPE_CHECKING:  # nbgrader loads its server extensions on import: only where a course is used
    from autograder.nbgrader_course import Course

DEFAULT_WORKSPACE = Path("var")
DEFAULT_HUB_URL = "http://localhost:8000"


def default_root() -> Path:
    return Path(os.environ.get("TADRIB_ROOT", "."))


def default_workspace() -> Path:
    return Path(os.environ.get("TADRIB_WORKSPACE", str(DEFAULT_WORKSPACE)))


def default_db_url() -> str | None:
    return os.environ.get("TADRIB_DB_URL") or None


def default_hub_url() -> str:
    return os.environ.get("TADRIB_HUB_URL") or DEFAULT_HUB_URL


def default_student_repo() -> str | None:
    return os.environ.get("TADRIB_STUDENT_REPO") or None


def default_student_branch() -> str:
    return os.environ.get("TADRIB_STUDENT_BRANCH") or "main"


@dataclass(frozen=True)
class Workspace:
    path: Path
    catalogue: Catalogue
    db_url: str | None = None

    @classmethod
    def open(cls, *, root: Path | None = None, workspace: Path | None = None,
             db_url: str | None = None, checked: bool = True) -> Workspace:
        """Load the catalogue (refusing one that fails ``tadrib check``) and the workspace."""
        root = (root or default_root()).resolve()
        if checked:
            from autograder.check import check_catalogue

            catalogue, problems = check_catalogue(root)
            if problems or catalogue is None:
                raise CatalogueError("the catalogue has problems; fix them first (tadrib check):\n"
                                     + "\n".join(f"  {p}" for p in problems))
        else:
            catalogue = load_catalogue(root)
        path = (workspace or default_workspace()).resolve()
        url = default_db_url() if db_url is None else db_url  # "": embedded SQLite, ignore env
        return cls(path=path, catalogue=catalogue, db_url=url or None)

    def course(self, programme: Programme) -> Course:
        from autograder.nbgrader_course import Course

        return Course(self.course_dir(programme), programme.id, self.db_url)

    def course_dir(self, programme: Programme) -> Path:
        return self.path / "courses" / programme.id

    def gradebook_url(self, programme: Programme) -> str:
        """The programme's gradebook, as ``self.course(programme).gradebook_url`` (without nbgrader)."""
        return course_gradebook_url(self.course_dir(programme), self.db_url)

    @property
    def reports_dir(self) -> Path:
        return self.path / "reports"

    @property
    def book_dir(self) -> Path:
        return self.path / "book"

    def modules(self, module_id: str | None = None) -> list[tuple[Programme, Module]]:
        """Every (programme, module) of the catalogue, or the one named."""
        if module_id is not None:
            return [self.catalogue.find_module(module_id)]
        return [(p, m) for p in self.catalogue.programmes for m in p.modules]


def release(*, module: str | None = None, root: Path | None = None, workspace: Path | None = None,
            db_url: str | None = None,
            on_step: Callable[[str], None] | None = None) -> list[tuple[Programme, Module]]:
    """nbgrader generate_assignment for every module, or the one named; returns what was released."""
    from autograder.nbgrader_course import GradingError

    ws = Workspace.open(root=root, workspace=workspace, db_url=db_url)
    done = []
    for programme, mod in ws.modules(module):
        if on_step:
            on_step(mod.id)
        result = ws.course(programme).release(mod)
        if not result.success:
            raise GradingError(f"release of {mod.id} failed in nbgrader generate_assignment:\n"
                               f"{_tail(result.log + result.error)}")
        done.append((programme, mod))
    return done


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def released_notebooks(course: Course, module: Module) -> list[Path]:
    return sorted(course.release_dir(module.id).glob("*.ipynb"))


def require_released(ws: Workspace, pairs: Iterable[tuple[Programme, Module]]) -> None:
    from autograder.nbgrader_course import GradingError

    missing = [m.id for p, m in pairs if not released_notebooks(ws.course(p), m)]
    if missing:
        raise GradingError(f"not released yet: {', '.join(missing)}; run `tadrib release` first.")
