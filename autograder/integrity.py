"""Tamper detection: a submission that subverts its kernel is flagged for review, not given points.

Two nbgrader-shaped preprocessors wrap the execution of every graded notebook:

* :class:`AddIntegrityCells` (sanitize stage) puts a guard cell first — it records, before any
  trainee code runs, the builtins, IPython's input and AST transformers, its exception hooks and
  event callbacks — and a probe cell last;
* :class:`ReadIntegrityProbe` (after ``Execute``) reads what the probe found, removes both cells
  and writes the findings in the notebook metadata (``metadata.tadrib.integrity``).

The probe finds: input or AST transformers added (code rewritten before it runs), a custom
exception handler or a replaced ``showtraceback`` (failures hidden), event callbacks added by
notebook code (libraries such as matplotlib register their own),
builtins replaced or shadowed by globals, assertion helpers of numpy, pandas, math or unittest
replaced by code defined in the notebook, and values or notebook classes whose ``==`` says True to
an object they have never seen (always-equal objects).

What it cannot catch: code that finds and rewrites the guard's own records before the probe runs,
an always-equal object created only inside a function call and never kept, a helper rewritten
in C, or tests that the trainee answers by reading the hidden tests (they are not in the sandbox).
The sandbox, not this probe, is what keeps solutions and grades out of reach.
"""

from __future__ import annotations

import json

from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell
from nbgrader.preprocessors import NbGraderPreprocessor

MARK = "# tadrib-integrity"
PROBE_PREFIX = "TADRIB-INTEGRITY:"

GUARD = r'''
import builtins as _b, sys as _s, types as _t
_g = _t.ModuleType("_tadrib_guard")
_ip = get_ipython()
_g.builtins = dict(vars(_b))
_g.cleanup = list(_ip.input_transformers_cleanup)
_g.post = list(_ip.input_transformers_post)
_g.ast = list(_ip.ast_transformers)
_g.events = {k: list(v) for k, v in _ip.events.callbacks.items()}
_g.methods = {n: vars(_ip).get(n) for n in (
    "showtraceback", "_showtraceback", "showsyntaxerror", "run_cell", "run_cell_async", "run_ast_nodes")}
_g.user = {k: v for k, v in _ip.user_ns.items() if k in _g.builtins}
_s.modules["_tadrib_guard"] = _g
del _b, _s, _t, _g, _ip
'''

PROBE = r'''
def _tadrib_probe():
    import builtins, inspect, json, sys
    g, ip, found = sys.modules.get("_tadrib_guard"), get_ipython(), []
    if g is None:
        return ["the integrity guard was removed"]
    if list(ip.input_transformers_cleanup) != g.cleanup or list(ip.input_transformers_post) != g.post:
        found.append("IPython input transformers were added")
    if list(ip.ast_transformers) != g.ast:
        found.append("IPython AST transformers were added")
    if ip.custom_exceptions:
        found.append("a custom exception handler hides errors")
    if any(vars(ip).get(n) is not v for n, v in g.methods.items()):
        found.append("IPython's error display or cell runner was replaced")
    added = [cb for k, v in ip.events.callbacks.items() for cb in v if cb not in g.events.get(k, [])]
    if any(getattr(cb, "__module__", None) == "__main__" for cb in added):
        found.append("IPython event callbacks were added by notebook code")
    per_cell = {"input", "raw_input", "getpass"}  # ipykernel re-binds these for every cell
    changed = sorted(k for k, v in g.builtins.items()
                     if k not in per_cell and vars(builtins).get(k) is not v)
    if changed:
        found.append("builtins replaced: " + ", ".join(changed[:5]))
    user = ip.user_ns
    shadow = sorted(k for k in g.builtins if not k.startswith("_") and k in user
                    and user[k] is not g.builtins[k] and user[k] is not g.user.get(k))
    if shadow:
        found.append("builtins shadowed by notebook globals: " + ", ".join(shadow[:5]))
    helpers = {"numpy": ["isclose", "allclose", "array_equal"],
               "numpy.testing": ["assert_allclose", "assert_array_equal", "assert_almost_equal"],
               "pandas.testing": ["assert_frame_equal", "assert_series_equal"],
               "math": ["isclose"], "unittest": ["TestCase"]}
    for module, names in helpers.items():
        mod = sys.modules.get(module)
        for name in names if mod is not None else []:
            obj = getattr(mod, name, None)
            code = getattr(obj, "__code__", None)
            if code is not None and not code.co_filename.startswith(sys.prefix) \
                    and "site-packages" not in code.co_filename:
                found.append(f"{module}.{name} was replaced by notebook code")
    class Unseen:
        pass
    unseen = Unseen()
    for name, value in list(user.items()):
        if name.startswith("_") or inspect.ismodule(value) or inspect.isroutine(value):
            continue
        try:
            if inspect.isclass(value) and value.__module__ == "__main__" and "__eq__" in vars(value):
                equal = value.__eq__(object.__new__(value), unseen) is True
            else:
                equal = not inspect.isclass(value) and (value == unseen) is True
        except Exception:
            equal = False
        if equal:
            found.append(f"'{name}' claims to equal anything (always-equal object)")
    return found
print("TADRIB-INTEGRITY:" + __import__("json").dumps(_tadrib_probe()))
'''


def _cell(source: str) -> NotebookNode:
    cell: NotebookNode = new_code_cell(f"{MARK}\n{source.strip()}")
    return cell


def _added(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and str(cell.source).startswith(MARK)


class AddIntegrityCells(NbGraderPreprocessor):  # type: ignore[misc]
    """Put the guard cell first and the probe cell last (removed again after execution)."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        nb.cells = [_cell(GUARD), *nb.cells, _cell(PROBE)]
        return nb, resources


class ReadIntegrityProbe(NbGraderPreprocessor):  # type: ignore[misc]
    """Read the probe's findings into ``metadata.tadrib.integrity``; remove the added cells."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        probe = [c for c in nb.cells if _added(c)]
        findings = _findings(probe[-1]) if len(probe) == 2 else ["the integrity probe did not run"]
        nb.cells = [c for c in nb.cells if not _added(c)]
        nb.metadata.setdefault("tadrib", {})["integrity"] = findings
        return nb, resources


def _findings(cell: NotebookNode) -> list[str]:
    for output in cell.get("outputs", []):
        text = output.get("text", "") if output.get("output_type") == "stream" else ""
        for line in str(text).splitlines():
            if line.startswith(PROBE_PREFIX):
                loaded = json.loads(line.removeprefix(PROBE_PREFIX))
                return [str(item) for item in loaded]
    errors = [o.get("ename", "") for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    return [f"the integrity probe failed ({', '.join(errors) or 'no output'})"]


def findings_of(nb: NotebookNode) -> list[str]:
    return [str(item) for item in nb.metadata.get("tadrib", {}).get("integrity", [])]
