"""Benchmark of `tadrib book`: a full build, then incremental builds, as ratios of the full one.

    python benchmarks/book.py [--root CATALOGUE] [--repeat N]

In a throw-away workspace: release every module (not timed), then time
  1. a full build (no previous build),
  2. a rebuild with nothing changed,
  3. a rebuild after one page changed (a paragraph added to one released notebook, as a re-release
     of one module does).
Each time includes everything `tadrib book` does (sources, Jupyter Book, leak, offline and
accessibility checks). Notebooks are never executed (execute_notebooks: off), and only the sources
whose content changed are rewritten, so Sphinx rebuilds only the changed page.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.book import book  # noqa: E402
from autograder.workspace import Workspace, release, released_notebooks  # noqa: E402


def _timed(step: Callable[[], object]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def _change_one_page(workspace: Path, root: Path, round_: int) -> Path:
    ws = Workspace.open(root=root, workspace=workspace)
    programme = ws.catalogue.programmes[0]
    path = released_notebooks(ws.course(programme), programme.modules[0])[0]
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(f"Paragraphe ajouté pour le banc d'essai ({round_})."))
    nbformat.write(nb, path)
    return path


def run(root: Path, repeat: int) -> None:
    with tempfile.TemporaryDirectory(prefix="tadrib-bench-book-") as tmp:
        workspace = Path(tmp) / "ws"
        release(root=root, workspace=workspace, db_url="")
        fulls, noops, incrementals = [], [], []
        for round_ in range(repeat):
            shutil.rmtree(workspace / "book", ignore_errors=True)
            fulls.append(_timed(lambda: book(root=root, workspace=workspace, db_url="")))
            noops.append(_timed(lambda: book(root=root, workspace=workspace, db_url="")))
            changed = _change_one_page(workspace, root, round_)
            incrementals.append(_timed(lambda: book(root=root, workspace=workspace, db_url="")))
        pages = len(list((workspace / "book/_build/html").rglob("*.html")))
    full, noop, incremental = (statistics.median(t) for t in (fulls, noops, incrementals))
    print(f"catalogue: {root} ({pages} pages), median of {repeat} round(s)")
    print(f"changed page: {changed.name}")
    print(f"{'build':<34}{'seconds':>9}{'× full':>9}")
    print(f"{'full (baseline)':<34}{full:>9.2f}{1:>9.2f}")
    print(f"{'incremental, nothing changed':<34}{noop:>9.2f}{noop / full:>9.2f}")
    print(f"{'incremental, one page changed':<34}{incremental:>9.2f}{incremental / full:>9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="catalogue folder [repository]")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; medians are printed")
    args = parser.parse_args()
    run(args.root.resolve(), args.repeat)


if __name__ == "__main__":
    main()
