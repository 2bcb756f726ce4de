"""Benchmark: execute every source notebook of the catalogue, as an instructor would, and time it.

    python benchmarks/curriculum.py [--programme ID]

Each notebook runs top to bottom in its module folder (fresh kernel, no internet; the offline
Mistral classroom server is started when no endpoint is configured). Printed per programme: the
time of each module, the total, and its ratio to the programme's budget (a track: 6 minutes, a
bootcamp: 4 minutes). The last line is `worst budget use: <ratio>` (below 1.0: every programme fits).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder.catalogue import Module, load_catalogue  # noqa: E402
from autograder.mistral.server import classroom_unless_configured  # noqa: E402

BUDGET_S = {"track": 360.0, "bootcamp": 240.0}
MODULE_LIMIT_S = 45.0


def run_module(module: Module) -> float:
    started = time.perf_counter()
    for path in module.notebooks:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(module.folder)}}).execute()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programme", help="only this track or bootcamp")
    args = parser.parse_args()
    catalogue = load_catalogue(REPO)
    programmes = [p for p in catalogue.programmes if args.programme in (None, p.id)]
    worst = 0.0
    with classroom_unless_configured():
        for programme in programmes:
            total = 0.0
            for module in programme.modules:
                seconds = run_module(module)
                total += seconds
                flag = "" if seconds <= MODULE_LIMIT_S else f"  (over {MODULE_LIMIT_S:.0f} s)"
                print(f"{programme.id}/{module.id}: {seconds:.1f} s{flag}")
            budget = BUDGET_S[programme.kind]
            worst = max(worst, total / budget)
            print(f"{programme.id}: {total:.0f} s for {len(programme.modules)} modules, "
                  f"{total / budget:.2f} of its {budget / 60:.0f}-minute budget")
    print(f"worst budget use: {worst:.2f}")


if __name__ == "__main__":
    main()
