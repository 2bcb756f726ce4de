"""``tadrib book``: the curriculum as a Jupyter Book 1.x site, built from the student versions.

The repository's ``book/`` folder holds what is written by hand (home page, configuration, style);
the table of contents, one syllabus page per programme, one page per module and the module notebooks
(the nbgrader release, exactly what trainees receive) are generated from the catalogue into the
workspace (``book/src``), then built there (``book/_build/html``). Only files whose content changed
are rewritten, so Sphinx rebuilds only the pages that changed. Every build ends with three checks
over the site: no leak (:mod:`autograder.leaks`), nothing loaded from another host, accessibility
(:mod:`autograder.site_checks`); any problem fails the build.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from autograder.book_pages import Hub, StudentNotebook, module_page, nav_title, programme_list, syllabus, toc
from autograder.catalogue import Module, Programme
from autograder.leaks import find_leaks, public_text, secrets_of, workspace_secrets
from autograder.nbgrader_course import CODE_STUB, TEXT_STUB, GradingError
from autograder.notebooks import read
from autograder.roster import Roster
from autograder.site_checks import accessibility_problems, offline_problems, parse_site
from autograder.workspace import (
    Workspace,
    default_hub_url,
    default_student_branch,
    default_student_repo,
    released_notebooks,
    require_released,
)

HOME = "intro.md"
PLACEHOLDERS = ("{{ programmes }}", "{{ hub_url }}")
EXTENSION = "autograder.sphinx_tadrib"
SHOWN_PROBLEMS = 10
# What the book must always be, whatever book/_config.yml says: the student version only, not
# executed, no page sources, no thebe or launch buttons (they fetch from CDNs), math as MathML.
ENFORCED_CONFIG: dict[str, Any] = {
    "only_build_toc_files": True,
    "execute": {"execute_notebooks": "off"},
    "launch_buttons": {"thebe": False, "binderhub_url": "", "jupyterhub_url": "", "colab_url": "",
                       "deepnote_url": ""},
    "sphinx": {"extra_extensions": [EXTENSION], "recursive_update": True,
               "config": {"html_copy_source": False, "html_show_sourcelink": False,
                          "html_math_renderer": "mathml", "nb_ipywidgets_js": {},
                          # its links point to _sources/, which is not published
                          "html_theme_options": {"use_download_button": False}}},
}


class BookError(Exception):
    """The book could not be built, or it would leak; the message says what and how to fix it."""


@dataclass(frozen=True)
class Book:
    html: Path
    pages: int
    hub_url: str = ""
    written: int = 0
    notes: tuple[str, ...] = ()


@dataclass
class Sources:
    """The book's source tree as files (path relative to ``src/`` → bytes), before it is written."""

    files: dict[str, bytes] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)  # page → what it is generated from
    notes: list[str] = field(default_factory=list)

    def add_text(self, name: str, text: str, origin: str | None = None) -> None:
        self.files[name] = text.encode("utf-8")
        if origin:
            self.origins[name] = origin


def book(*, root: Path | None = None, workspace: Path | None = None, db_url: str | None = None,
         hub_url: str | None = None, student_repo: str | None = None,
         student_branch: str | None = None) -> Book:
    """Generate the book sources from the catalogue and the releases, build, and check the site."""
    ws = Workspace.open(root=root, workspace=workspace, db_url=db_url)
    try:
        require_released(ws, [(p, m) for p in ws.catalogue.programmes for m in p.modules])
    except GradingError as error:
        raise BookError(str(error)) from None
    hub = Hub(url=hub_url or default_hub_url(), student_repo=student_repo or default_student_repo(),
              branch=student_branch or default_student_branch())
    sources = book_sources(ws, hub)
    written = write_tree(ws.book_dir / "src", sources.files)
    html = _build(ws.book_dir / "src")
    check_site(ws, html, sources)
    return Book(html=html, pages=len(list(html.rglob("*.html"))), hub_url=hub.url,
                written=written, notes=tuple(sources.notes))


def book_sources(ws: Workspace, hub: Hub) -> Sources:
    """Every file of the book's source tree: authored part, generated pages, student notebooks."""
    authored = ws.catalogue.root / "book"
    if not (authored / "_config.yml").is_file():
        raise BookError(f"{authored}/_config.yml not found: the book's authored part (home page, "
                        "configuration) lives in book/ beside courses/; restore it.")
    sources = Sources()
    for path in sorted(authored.rglob("*")):
        relative = path.relative_to(authored)
        if path.is_file() and not any(p.startswith((".", "_build")) for p in relative.parts):
            sources.files[relative.as_posix()] = path.read_bytes()
    _home(sources, ws.catalogue.programmes, hub, authored / HOME)
    config = yaml.safe_load(sources.files["_config.yml"]) or {}
    sources.files["_config.yml"] = _yaml(merge(config, ENFORCED_CONFIG))
    pages: dict[str, list[tuple[str, str]]] = {}
    for programme in ws.catalogue.programmes:
        sources.add_text(f"{programme.id}/index.md", syllabus(programme),
                         f"generated from {programme.folder.name}/ of the catalogue")
        for module in programme.modules:
            pages[module.id] = _module_files(ws, programme, module, hub, sources)
    sources.files["_toc.yml"] = _yaml(toc(ws.catalogue.programmes, pages))
    return sources


def _home(sources: Sources, programmes: tuple[Programme, ...], hub: Hub, path: Path) -> None:
    if HOME not in sources.files:
        raise BookError(f"{path} not found: the home page is written by hand; restore it.")
    text = sources.files[HOME].decode("utf-8")
    for placeholder, value in zip(PLACEHOLDERS, (programme_list(programmes), hub.url), strict=True):
        text = text.replace(placeholder, value)
    sources.add_text(HOME, text, f"{path} (written by hand)")


def _module_files(ws: Workspace, programme: Programme, module: Module, hub: Hub,
                  sources: Sources) -> list[tuple[str, str]]:
    """The module's page, notebooks and data in ``sources``; its notebooks' stems and titles in
    the sidebar."""
    folder = f"{programme.id}/{module.id}"
    released = released_notebooks(ws.course(programme), module)
    notebooks = []
    for path in released:
        sources.files[f"{folder}/{path.name}"] = path.read_bytes()
        sources.origins[f"{folder}/{path.name}"] = str(module.folder / path.name)
        cells = [c for c in read(path).cells if c.cell_type == "markdown"]
        notebooks.append(StudentNotebook(path.name, cells[0].source if cells else ""))
    release_dir = released[0].parent
    for path in sorted(release_dir.rglob("*")):
        relative = path.relative_to(release_dir).as_posix()
        if path.is_file() and path.suffix != ".ipynb" and not relative.startswith("."):
            sources.files[f"{folder}/{relative}"] = path.read_bytes()  # data, images
    data = [name for name in module.data if (release_dir / name).is_file()]
    page, missing = module_page(programme, module, notebooks, data, hub)
    sources.add_text(f"{folder}/index.md", page, f"generated from {module.folder}")
    sources.notes += [f"{module.folder / name}: its first cell states no « Objectifs » (a line "
                      "starting with **Objectifs** and a list); the module page shows none."
                      for name in missing]
    return [(nb.stem, nav_title(nb, len(notebooks))) for nb in notebooks]


def merge(base: Mapping[str, Any], enforced: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``enforced`` laid over it, key by key; lists are joined (extensions)."""
    merged = copy.deepcopy(dict(base))
    for key, value in enforced.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        elif isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = merged[key] + [v for v in value if v not in merged[key]]
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _yaml(data: object) -> bytes:
    text: str = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return text.encode("utf-8")


def write_tree(dest: Path, files: Mapping[str, bytes]) -> int:
    """Make ``dest`` hold exactly ``files``, writing only those whose content changed (Sphinx
    rebuilds the pages whose source is newer than its last build). Returns how many were written."""
    written = 0
    for name, content in files.items():
        path = dest / name
        if path.is_file() and path.read_bytes() == content:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written += 1
    for path in sorted(dest.rglob("*"), reverse=True) if dest.is_dir() else []:
        relative = path.relative_to(dest).as_posix()
        if path.is_file() and relative not in files:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return written


def _build(src: Path) -> Path:
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    if not jupyter_book.is_file():
        found = shutil.which("jupyter-book")
        jupyter_book = Path(found) if found else jupyter_book
    command = [str(jupyter_book), "build", str(src), "--path-output", str(src.parent)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
        raise BookError(f"jupyter-book build of {src} failed:\n{tail}")
    return src.parent / "_build" / "html"


def check_site(ws: Workspace, html: Path, sources: Sources) -> None:
    """Leaks, remote resources and accessibility problems of the built site; any one fails."""
    modules = ws.catalogue.modules()
    public = "\n".join([public_text(modules), CODE_STUB, TEXT_STUB, *(
        content.decode("utf-8", errors="replace") for name, content in sources.files.items()
        if name.endswith(".md"))])
    trainees = {t for p in ws.catalogue.programmes for t in ws.course(p).trainee_ids()}
    secrets = secrets_of(modules) + workspace_secrets(ws.path, ws.catalogue.root, trainees,
                                                      roster_identities(ws.path), public)
    pages = parse_site(html)
    groups: list[tuple[str, list[Any]]] = [
        ("it contains instructor-only or workspace material (solutions, hidden tests, model "
         "answers, rubrics, paths, trainee ids, roster, gradebook)", find_leaks(html, secrets, public)),
        ("it would load files from another host (the book must work offline)",
         offline_problems(html, pages)),
        ("it is not accessible",
         [_with_origin(p, sources) for p in accessibility_problems(html, pages)]),
    ]
    failed = [(why, problems) for why, problems in groups if problems]
    if failed:
        raise BookError(f"the book at {html} was not published:\n" + "\n".join(
            _problem_list(why, problems) for why, problems in failed))


def roster_identities(workspace: Path) -> list[str]:
    """What identifies a person in the workspace's roster (``tadrib roster import``): pseudonyms,
    national ids, emails and full names. An absent roster is not created."""
    roster = Roster.of(workspace)
    if not roster.db.is_file():
        return []
    with roster.connect() as db:
        rows = db.execute("SELECT pseudonym, national_id, email, first_name || ' ' || last_name "
                          "FROM trainee").fetchall()
    return [str(value) for row in rows for value in row if value]


def _with_origin(problem: object, sources: Sources) -> str:
    page = str(problem).split(":", 1)[0]
    stem = page.removesuffix(".html")
    origin = next((o for name, o in sources.origins.items() if name.rsplit(".", 1)[0] == stem), None)
    return f"{problem} (source: {origin})" if origin else str(problem)


def _problem_list(why: str, problems: list[Any]) -> str:
    shown = "\n".join(f"  {p}" for p in problems[:SHOWN_PROBLEMS])
    more = (f"\n  … and {len(problems) - SHOWN_PROBLEMS} more" if len(problems) > SHOWN_PROBLEMS
            else "")
    return f"- {why}:\n{shown}{more}"
