"""``tadrib feedback --draft``: a short French hint per failed autograded test, drafted by the
configured Mistral model, stored for the instructor to approve, edit or drop (:mod:`.draft_review`).

What a prompt may hold is only what the trainee received or wrote: the question (the markdown
before the answer cell, in the *released* notebook), the trainee's answer cell (from submitted/),
the test cell *as released* (hidden tests removed by nbgrader), and the error the test raised,
reduced to its type and message — or to « un test caché a échoué » when the failing line is in a
hidden part (IPython's traceback shows the lines around the failing one, hidden ones included, so
it is never sent). No trainee id, name or path goes into a prompt.

A guard checks every prompt against the module's secrets (solution lines, hidden-test lines,
nbgrader's region markers: :func:`autograder.leaks.secrets_of`) and refuses to send one that holds
any; the model's reply is checked the same way before it is stored (a model may echo).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbformat import NotebookNode

from autograder import notebooks as nbs
from autograder.draft_review import DraftError, DraftStore, store_for
from autograder.leaks import Secret, secrets_of
from autograder.nbgrader_course import Course, FailedTest
from autograder.workspace import Workspace, require_released

if TYPE_CHECKING:
    from mistralai.client import Mistral

HIDDEN_FAILED = "un test caché a échoué"
MAX_TOKENS = 300
REDRAFTABLE = ("draft", "dropped")
"""Statuses ``--redraft`` replaces; approved and edited texts are the instructor's and are kept."""
SYSTEM_PROMPT = (
    "Tu aides un formateur à rédiger le retour écrit d'un stagiaire dont un test automatique a "
    "échoué. Réponds en français, en deux ou trois phrases : un indice qui aide le stagiaire à "
    "trouver lui-même son erreur. Ne donne jamais la solution ni de code corrigé. Le formateur "
    "relira ton texte avant de l'envoyer.")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FAILING_LINE = re.compile(r"^-+>\s*(\d+)", re.MULTILINE)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class FailedCell:
    """One failed test of one trainee, as the prompt sees it: only what the trainee received or
    wrote, and the error reduced to what the trainee may know."""

    student_id: str
    notebook: str
    test_id: str
    answer_id: str
    question: str
    answer: str
    test: str
    error: str


@dataclass(frozen=True)
class DraftOutcome:
    """What drafting did for one failed test: ``drafted``, ``kept`` (a draft exists), ``stale``
    (a draft exists but the prompt changed since, e.g. after a resubmission), ``refused`` (the
    prompt or the reply held a secret) or ``skipped`` (nothing to build a prompt from)."""

    student_id: str
    notebook: str
    test_id: str
    outcome: str
    message: str
    draft_id: int | None = None


# -- the prompt (pure) ---------------------------------------------------------------------------


def prompt(cell: FailedCell) -> list[dict[str, str]]:
    """The chat messages sent for ``cell``: the instructions, then the question, the trainee's
    answer, the test as released and the error."""
    user = (f"Question posée au stagiaire :\n{cell.question or '(pas d’énoncé)'}\n\n"
            f"Réponse du stagiaire :\n```python\n{cell.answer}\n```\n\n"
            f"Test, tel que le stagiaire le voit :\n```python\n{cell.test}\n```\n\n"
            f"Erreur obtenue : {cell.error}\n\n"
            "Rédige l'indice.")
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def prompt_sha256(messages: list[dict[str, str]]) -> str:
    return hashlib.sha256(json.dumps(messages, ensure_ascii=False, sort_keys=True)
                          .encode("utf-8")).hexdigest()


def secret_in(text: str, secrets: Iterable[Secret]) -> Secret | None:
    """The first secret ``text`` holds (whitespace collapsed, as :mod:`.leaks` compares), or None."""
    flat = _SPACE.sub(" ", text)
    return next((s for s in secrets if s.text in flat), None)


def error_of(graded: NotebookNode, released: NotebookNode) -> str:
    """What the test raised, as the trainee may know it: ``Type: message`` and the failing line of
    the released test; only :data:`HIDDEN_FAILED` when that line is hidden or cannot be told."""
    errors = [o for o in graded.get("outputs", []) if o.get("output_type") == "error"]
    if not errors:
        return "le test n'a pas donné tous ses points (aucune erreur affichée)"
    error = errors[-1]
    frames = [_ANSI.sub("", str(frame)) for frame in error.get("traceback", [])]
    where = next((m for frame in frames if (m := _FAILING_LINE.search(frame))), None)
    lines = graded.source.splitlines()
    if where is None or not 1 <= int(where.group(1)) <= len(lines):
        return HIDDEN_FAILED
    number = int(where.group(1))
    if _in_hidden_region(lines, number) or lines[number - 1] not in released.source.splitlines():
        return HIDDEN_FAILED
    message = f"{error.get('ename', 'Erreur')}: {error.get('evalue', '')}".rstrip(": ")
    return f"{message} (à la ligne « {lines[number - 1].strip()} » du test)"


def _in_hidden_region(lines: list[str], number: int) -> bool:
    inside = False
    for index, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith(nbs.BEGIN_HIDDEN):
            inside = True
        if index == number:
            return inside or stripped.startswith(nbs.END_HIDDEN)
        if stripped.startswith(nbs.END_HIDDEN):
            inside = False
    return True


def question_before(cells: list[NotebookNode], index: int) -> str:
    """The markdown cells right above cell ``index`` (the statement of its question)."""
    found: list[str] = []
    for cell in reversed(cells[:index]):
        if cell.cell_type != "markdown" or nbs.is_solution(cell) or nbs.is_grade(cell):
            break
        found.insert(0, cell.source)
    return "\n\n".join(found).strip()


def answer_index(cells: list[NotebookNode], test_index: int) -> int | None:
    """The answer cell a test checks: the nearest code answer cell above it."""
    return next((i for i in range(test_index - 1, -1, -1) if nbs.is_autograded_answer(cells[i])),
                None)


# -- from the course to failed cells -------------------------------------------------------------


def failed_cells(course: Course, module_id: str,
                 failed: list[FailedTest]) -> Iterator[FailedCell | DraftOutcome]:
    """A :class:`FailedCell` per failed test, or a ``skipped`` outcome saying what is missing."""
    released: dict[str, NotebookNode] = {}
    for test in failed:
        try:
            if test.notebook not in released:
                released[test.notebook] = nbs.read(course.release_dir(module_id)
                                                   / f"{test.notebook}.ipynb")
            yield _failed_cell(course, module_id, test, released[test.notebook])
        except (nbs.NotebookError, LookupError) as error:
            yield DraftOutcome(test.student_id, test.notebook, test.grade_id, "skipped",
                               str(error).strip("'\""))


def _failed_cell(course: Course, module_id: str, test: FailedTest,
                 release: NotebookNode) -> FailedCell:
    name = f"{test.notebook}.ipynb"
    cells = release.cells
    test_index = _index_of(cells, test.grade_id, f"release/{module_id}/{name}")
    found = answer_index(cells, test_index)
    if found is None:
        raise LookupError(f"release/{module_id}/{name}: no answer cell above test {test.grade_id}")
    answer_id = nbs.grade_id(cells[found]) or ""
    submitted = nbs.read(course.submitted_dir(test.student_id, module_id) / name).cells
    graded = nbs.read(course.autograded_dir(test.student_id, module_id) / name).cells
    where = f"{test.student_id}/{module_id}/{name}"
    answer = next((c.source for c in submitted if nbs.grade_id(c) == answer_id),
                  "(la cellule de réponse a été supprimée)")
    graded_test = graded[_index_of(graded, test.grade_id, f"autograded/{where}")]
    return FailedCell(test.student_id, test.notebook, test.grade_id, answer_id,
                      question_before(cells, found), answer, cells[test_index].source,
                      error_of(graded_test, cells[test_index]))


def _index_of(cells: list[NotebookNode], grade_id: str, where: str) -> int:
    found = next((i for i, c in enumerate(cells) if nbs.grade_id(c) == grade_id), None)
    if found is None:
        raise LookupError(f"{where}: no cell {grade_id}; release and grade the module again")
    return found


# -- drafting --------------------------------------------------------------------------------------


@dataclass
class _Model:
    """The Mistral client and model, made on first use (nothing to draft: no endpoint needed)."""

    workspace: Path
    llm: Mistral | None
    name: str | None = None

    def ask(self, messages: list[dict[str, str]]) -> str:
        import httpx
        from mistralai.client.errors import MistralError, NoResponseError

        from autograder.llm import MistralConfigError, client, load_settings

        try:
            if self.name is None or self.llm is None:
                settings = load_settings(workspace=self.workspace)
                self.name = self.name or settings.model
                self.llm = self.llm or client(settings)
            response = self.llm.chat.complete(model=self.name, messages=messages,  # type: ignore[arg-type]
                                              temperature=0.2, max_tokens=MAX_TOKENS)
        except MistralConfigError as error:
            raise DraftError(f"no Mistral endpoint to draft with: {error}") from None
        except (MistralError, NoResponseError, httpx.HTTPError) as error:
            raise DraftError(f"the Mistral endpoint did not answer ({type(error).__name__}: "
                             f"{error}); drafts made so far are stored, run the command again "
                             "once it answers (tadrib mistral serve offline).") from None
        message = response.choices[0].message if response.choices else None
        return _text(message.content if message is not None else None)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, list):  # content chunks: keep the text ones
        return "".join(str(getattr(chunk, "text", "") or "") for chunk in content).strip()
    return ""


def draft(module: str, *, root: Path | None = None, workspace: Path | None = None,
          db_url: str | None = None, redraft: bool = False, by: str | None = None,
          model: str | None = None, llm: Mistral | None = None,
          on_progress: Callable[[DraftOutcome], None] | None = None) -> list[DraftOutcome]:
    """Draft a hint for each failed autograded test of every graded submission of ``module``.

    An existing draft is kept (``redraft`` replaces those still waiting or dropped, never an
    approved or edited one). ``model`` and ``llm`` default to the configured endpoint
    (:func:`autograder.llm.load_settings` with this workspace). ``by`` (default: the user) is
    recorded as who asked for the drafts.
    """
    ws = Workspace.open(root=root, workspace=workspace, db_url=db_url)
    programme, mod = ws.catalogue.find_module(module)
    require_released(ws, [(programme, mod)])
    course = ws.course(programme)
    secrets = secrets_of([mod])
    store = store_for(course)
    asker = _Model(ws.path, llm, model)
    outcomes = []
    for item in failed_cells(course, mod.id, course.failed_tests(mod.id)):
        outcome = item if isinstance(item, DraftOutcome) else _draft_one(
            item, mod.id, store, secrets, asker, redraft=redraft, by=by or getpass.getuser())
        outcomes.append(outcome)
        if on_progress:
            on_progress(outcome)
    return outcomes


def _draft_one(cell: FailedCell, module_id: str, store: DraftStore, secrets: list[Secret],
               asker: _Model, *, redraft: bool, by: str) -> DraftOutcome:
    def outcome(kind: str, message: str, draft_id: int | None = None) -> DraftOutcome:
        return DraftOutcome(cell.student_id, cell.notebook, cell.test_id, kind, message, draft_id)

    messages = prompt(cell)
    digest = prompt_sha256(messages)
    existing = store.find(module_id, cell.student_id, cell.notebook, cell.test_id)
    if existing is not None and not (redraft and existing.status in REDRAFTABLE):
        if existing.prompt_sha256 != digest:
            return outcome("stale", f"draft {existing.id} ({existing.status}) was written for an "
                           "earlier submission or error; review it, or drop it and run with "
                           "--redraft", existing.id)
        return outcome("kept", f"draft {existing.id} exists ({existing.status})", existing.id)
    leak = secret_in("\n".join(m["content"] for m in messages), secrets)
    if leak is not None:
        return outcome("refused", f"not sent: the prompt would hold {leak.origin}; write this "
                       "feedback by hand in formgrader")
    reply = asker.ask(messages)
    leak = secret_in(reply, secrets)
    if leak is not None:
        return outcome("refused", f"not stored: the model's reply holds {leak.origin}; write "
                       "this feedback by hand in formgrader")
    if not reply:
        return outcome("skipped", "the model's reply was empty")
    draft_id = store.put_draft(module_id, cell.student_id, cell.notebook, cell.test_id,
                               cell.answer_id, text=reply, model=asker.name or "",
                               prompt_sha256=digest, by=by)
    return outcome("drafted", f"draft {draft_id}", draft_id)
