"""``tadrib check``: validate the whole catalogue before anything is released.

Each rule returns :class:`Problem` rows (file, cell, message with the fix); nothing stops at the first
problem except a programme file that cannot be parsed at all.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from autograder import notebooks as nbs
from autograder.catalogue import (
    Catalogue,
    CatalogueError,
    Module,
    Programme,
    load_programme,
    programme_files,
)

DATA_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".txt", ".parquet", ".xlsx", ".xml", ".yml",
                 ".yaml", ".npz", ".npy", ".pkl", ".db", ".sqlite", ".zip")
MAX_DATA_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Problem:
    """One defect: where it is (file, cell grade id or index) and what to do about it."""

    file: str
    message: str
    cell: str | None = None

    def __str__(self) -> str:
        where = f"{self.file} [cell {self.cell}]" if self.cell else self.file
        return f"{where}: {self.message}"


def check_catalogue(root: Path) -> tuple[Catalogue | None, list[Problem]]:
    """Load and validate everything under ``root``; return what loaded and every problem found."""
    root = root.resolve()
    files = programme_files(root)
    if not files:
        return None, [Problem(str(root), "no courses/*/track.yml nor bootcamps/*/bootcamp.yml; "
                                          "run from the repository root or pass --root.")]
    programmes: list[Programme] = []
    problems: list[Problem] = []
    for path, kind in files:
        try:
            programmes.append(load_programme(path, kind))
        except CatalogueError as error:
            problems.append(Problem(_rel(path, root), str(error).removeprefix(f"{path}: ")))
    catalogue = Catalogue(root=root, programmes=tuple(programmes))
    problems += _duplicate_module_ids(catalogue)
    for programme in programmes:
        problems += _folders(programme, root)
        for module in programme.modules:
            problems += check_module(module, root)
    return catalogue, problems


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def _duplicate_module_ids(catalogue: Catalogue) -> list[Problem]:
    counts = Counter(m.id for m in catalogue.modules())
    return [
        Problem(_rel(m.folder.parent, catalogue.root), f"module id '{m.id}' is used {counts[m.id]} "
                "times in the catalogue; module ids are nbgrader assignment names and must be "
                "unique: rename one.")
        for m in catalogue.modules() if counts[m.id] > 1
    ]


def _folders(programme: Programme, root: Path) -> Iterator[Problem]:
    listed = {m.id for m in programme.modules}
    yml = _rel(programme.folder / f"{programme.kind}.yml", root)
    for module in programme.modules:
        if not module.folder.is_dir():
            yield Problem(yml, f"module '{module.id}' is listed but its folder "
                               f"{_rel(module.folder, root)}/ does not exist; create it or remove "
                               "the entry.")
        elif not module.notebooks:
            yield Problem(yml, f"module '{module.id}' has no .ipynb in {_rel(module.folder, root)}/;"
                               " add its source notebook(s) or remove the entry.")
    for folder in sorted(p for p in programme.folder.iterdir() if p.is_dir()):
        if folder.name not in listed and not folder.name.startswith((".", "_")) \
                and any(folder.glob("*.ipynb")):
            yield Problem(_rel(folder, root), f"folder holds notebooks but is not listed in {yml}; "
                                              f"add '- id: {folder.name}' under modules or move it.")


def check_module(module: Module, root: Path) -> list[Problem]:
    problems: list[Problem] = []
    if not module.folder.is_dir():
        return problems
    referenced: set[str] = set()
    autograded_points = 0.0
    for path in module.notebooks:
        where = _rel(path, root)
        try:
            nb = nbs.read(path)
        except nbs.NotebookError as error:
            problems.append(Problem(where, str(error).removeprefix(f"{path}: ")))
            continue
        problems += check_notebook(nb, where)
        referenced |= _data_references(nb)
        autograded_points += sum(float(nbs.nbgrader_meta(c).get("points", 0) or 0)
                                 for c in nb.cells if nbs.is_autograder_test(c))
    if module.notebooks and autograded_points <= 0:
        problems.append(Problem(_rel(module.folder, root), "module has no autograded test cell "
                                "with points; add at least one so its pass mark can be computed."))
    problems += _data_files(module, referenced, root)
    return problems


def check_notebook(nb: NotebookNode, where: str) -> list[Problem]:
    """Every per-notebook rule, on an already parsed notebook."""
    problems = _outputs(nb, where) + _grade_ids(nb, where) + _markers(nb, where)
    return problems + _untested_answers(nb, where)


def _label(cell: NotebookNode, index: int) -> str:
    return nbs.grade_id(cell) or f"#{index + 1}"


def _outputs(nb: NotebookNode, where: str) -> list[Problem]:
    dirty = [_label(c, i) for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    if not dirty:
        return []
    return [Problem(where, "source notebook carries outputs or execution counts; clear them "
                           "(JupyterLab: Edit > Clear Outputs of All Cells, or `jupyter nbconvert "
                           "--clear-output --inplace`) before committing.", ", ".join(dirty[:5]))]


def _grade_ids(nb: NotebookNode, where: str) -> list[Problem]:
    problems = []
    ids = [nbs.grade_id(c) for c in nb.cells if nbs.nbgrader_meta(c)]
    for gid, count in Counter(ids).items():
        if gid is not None and count > 1:
            problems.append(Problem(where, f"grade id used by {count} cells; give each nbgrader "
                                           "cell its own ID in the Create Assignment toolbar.", gid))
    for index, cell in enumerate(nb.cells):
        meta = nbs.nbgrader_meta(cell)
        if meta and (meta.get("grade") or meta.get("solution") or meta.get("locked")) \
                and not meta.get("grade_id"):
            problems.append(Problem(where, "nbgrader cell without a grade id; set its ID in the "
                                           "Create Assignment toolbar.", f"#{index + 1}"))
        if nbs.is_grade(cell) and meta.get("points") in (None, ""):
            problems.append(Problem(where, "graded cell without points; set its points.",
                                    _label(cell, index)))
    return problems


def _markers(nb: NotebookNode, where: str) -> list[Problem]:
    problems = []
    for index, cell in enumerate(nb.cells):
        text, label = cell.source, _label(cell, index)
        if nbs.BEGIN_SOLUTION in text and not nbs.is_solution(cell):
            problems.append(Problem(where, "Solution region detected in a non-solution cell; make "
                                           "it a solution cell (Autograded answer) or remove the "
                                           "### BEGIN/END SOLUTION lines.", label))
        if nbs.BEGIN_HIDDEN in text and not nbs.is_grade(cell):
            problems.append(Problem(where, "hidden tests in a cell that is not an autograder test; "
                                           "make it an Autograder tests cell or remove the "
                                           "### BEGIN/END HIDDEN TESTS lines.", label))
        for begin, end in ((nbs.BEGIN_SOLUTION, nbs.END_SOLUTION), (nbs.BEGIN_HIDDEN, nbs.END_HIDDEN)):
            if text.count(begin) != text.count(end):
                problems.append(Problem(where, f"unbalanced region: '{begin}' and '{end}' must come "
                                               "in pairs; add the missing line.", label))
    return problems


def _untested_answers(nb: NotebookNode, where: str) -> list[Problem]:
    problems = []
    cells = nb.cells
    for index, cell in enumerate(cells):
        if not nbs.is_autograded_answer(cell):
            continue
        tested = False
        for later in cells[index + 1:]:
            if nbs.is_solution(later):
                break
            if nbs.is_autograder_test(later):
                tested = True
                break
        if not tested:
            problems.append(Problem(where, "answer cell with no test: add an Autograder tests cell "
                                           "after it (before the next answer).", _label(cell, index)))
    return problems


def _data_references(nb: NotebookNode) -> set[str]:
    """Data files that code cells read: string literals passed to ``open``, ``read_*``, ``load*``.

    Files a notebook writes (``to_csv("out.csv")``, ``open(p, "w")``) are not references.
    """
    names: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(nbs.solution_text(cell))
        except SyntaxError:
            continue  # IPython magics or a trainee stub; nothing to learn from it
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _reads_file(node) and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str) \
                        and first.value.lower().endswith(DATA_SUFFIXES) and "://" not in first.value:
                    names.add(first.value)
    return names


def _reads_file(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name == "open":
        modes = [a.value for a in call.args[1:2] if isinstance(a, ast.Constant)]
        modes += [k.value.value for k in call.keywords
                  if k.arg == "mode" and isinstance(k.value, ast.Constant)]
        return not any(isinstance(m, str) and set(m) & set("wax") for m in modes)
    return name.startswith(("read", "load"))


def _data_files(module: Module, referenced: set[str], root: Path) -> list[Problem]:
    problems = []
    where = _rel(module.folder, root)
    for name in sorted(set(module.data) | referenced):
        path = module.folder / name
        if not path.is_file():
            source = "listed under data:" if name in module.data else "read by a notebook"
            problems.append(Problem(where, f"data file '{name}' is {source} but missing; add it to "
                                           "the module folder (or generate it with the module's "
                                           "documented script)."))
        elif path.stat().st_size > MAX_DATA_BYTES:
            problems.append(Problem(where, f"data file '{name}' is over 5 MB; ship a smaller sample."))
    return problems
