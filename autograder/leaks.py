"""Leak check: nothing instructor-only and nothing from the workspace may reach the built site.

What must never be published (each :class:`Secret` says which kind it is):

- from the source notebooks: solution regions and solution cells, hidden-test regions, written
  answers' model answers, and nbgrader's region markers; a line a trainee legitimately sees
  elsewhere (it is part of a visible line of any notebook) is not a secret;
- from the catalogue: a module's grading ``rubric``;
- from the workspace: its absolute path and the catalogue's, trainee ids (gradebook and
  submission folders), the roster's personal data (national ids, emails, full names), and any
  database file (a gradebook, the roster).

Every file of the site is searched, whatever its name (pages, ``_downloads``, ``_sources``,
scripts), with HTML tags removed, entities decoded and notebooks read by their cells; the search
index is read as Sphinx wrote it, and its terms are compared with the words of the secrets that
appear nowhere in what the book publishes on purpose.
"""

from __future__ import annotations

import contextlib
import html
import itertools
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode
from sphinx.search import js_index
from sphinx.search.fr import SearchFrench

from autograder import notebooks as nbs
from autograder.catalogue import Module

MIN_SECRET_CHARS = 12
MIN_ID_CHARS = 4
MIN_TERM_CHARS = 5
BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".woff", ".woff2", ".ttf",
                   ".eot", ".otf", ".pdf", ".zip", ".gz"}
SQLITE_MAGIC = b"SQLite format 3\x00"
SEARCH_INDEX = "searchindex.js"
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_CLAUSE = re.compile(r"(?<=[.;:!?])\s+|\n")


@dataclass(frozen=True)
class Secret:
    text: str
    origin: str
    whole_word: bool = False


@dataclass(frozen=True)
class Leak:
    file: Path
    secret: Secret

    def __str__(self) -> str:
        return f"{self.file}: contains {self.secret.origin}: {self.secret.text[:80]!r}"


def _normal(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


# -- secrets -------------------------------------------------------------------------------------


def public_text(modules: Iterable[Module]) -> str:
    """Everything a trainee receives as it is, from every source notebook: each cell's visible
    text with whitespace collapsed across its lines and markdown code quotes (`) dropped, so that
    code a question spells out in its statement is not taken for a leaked solution."""
    return "\n".join(_normal(" ".join(nbs.visible_lines(cell)).replace("`", ""))
                     for module in modules for path in module.notebooks
                     for cell in nbs.read(path).cells)


def _cell_kind(cell: NotebookNode) -> str:
    where = nbs.grade_id(cell) or "no grade id"
    if nbs.BEGIN_HIDDEN in cell.source:
        return f"a hidden test (cell {where})"
    if cell.cell_type == "markdown":
        return f"the model answer of a written answer (cell {where})"
    return f"a solution (cell {where})"


def secrets_of(modules: Iterable[Module]) -> list[Secret]:
    """The region markers, every instructor-only line of the source notebooks and the rubrics."""
    modules = list(modules)
    public = public_text(modules)
    found = {Secret(marker, "an nbgrader region marker") for marker in nbs.MARKERS}
    for module in modules:
        for path in module.notebooks:
            for cell in nbs.read(path).cells:
                origin = f"{_cell_kind(cell)} of {module.id}/{path.name}"
                for line in nbs.secret_lines(cell):
                    text = _normal(line)
                    if len(text) >= MIN_SECRET_CHARS and text not in public:
                        found.add(Secret(text, origin))
        for sentence in _CLAUSE.split(module.rubric or ""):
            if len(_normal(sentence)) >= MIN_SECRET_CHARS:
                found.add(Secret(_normal(sentence), f"the grading rubric of {module.id} (catalogue)"))
    return sorted(found, key=lambda s: (s.origin, s.text))


def workspace_secrets(workspace: Path, catalogue_root: Path, trainee_ids: Iterable[str],
                      people: Iterable[str] = (), public: str = "") -> list[Secret]:
    """The workspace's traces: its path and the catalogue's, trainee ids (pseudonyms), and the
    roster's personal data (``people``: national ids, emails, full names) not already public."""
    found = {Secret(str(p), "a path of the instructor's machine") for p in (workspace, catalogue_root)
             if len(p.resolve().parts) >= 3}
    found |= {Secret(t, "a trainee id from the gradebook", whole_word=True)
              for t in trainee_ids if len(t) >= MIN_ID_CHARS}
    found |= {Secret(_normal(value), "personal data from the roster", whole_word=True)
              for value in people if len(_normal(value)) >= MIN_ID_CHARS
              and _normal(value) not in public}
    return sorted(found, key=lambda s: (s.origin, s.text))


# -- reading the site ----------------------------------------------------------------------------


def readable_text(path: Path) -> str:
    """A built file as a reader (or a search engine) would see it."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.name == SEARCH_INDEX:
        raw = _json_text(_index(raw)) or raw  # titles, terms, file names, decoded
    elif raw.lstrip()[:1] in {"{", "["}:  # a notebook or any JSON, whatever its name
        with contextlib.suppress(json.JSONDecodeError):
            raw = _json_text(json.loads(raw))
    if path.suffix in {".html", ".htm", ".xml", ".svg"}:
        raw = html.unescape(_TAG.sub("", raw))
    return _normal(raw)


def _json_text(data: object) -> str:
    """Every string of a JSON document, one per line; a notebook's cell sources joined first."""
    if isinstance(data, dict):
        if isinstance(data.get("cells"), list):
            cells = "\n".join("".join(c.get("source", "")) for c in data["cells"]
                              if isinstance(c, dict))
            return cells + "\n" + "\n".join(_json_text(v) for v in data.values())
        return "\n".join(_json_text(k) + "\n" + _json_text(v) for k, v in data.items())
    if isinstance(data, list):
        return "\n".join(_json_text(v) for v in data)
    return data if isinstance(data, str) else ""


def _index(raw: str) -> dict[str, object]:
    try:
        data = js_index.loads(raw)
    except (ValueError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def index_terms(raw: str) -> set[str]:
    data = _index(raw)
    return {str(t) for key in ("terms", "titleterms") for t in data.get(key, {}) or {}}  # type: ignore[attr-defined]


def _stems(text: str) -> set[str]:
    """The search-index terms Sphinx's French search may make of ``text``: each word stemmed,
    and as it is (Sphinx keeps the word itself when its stem is a stop word)."""
    language = SearchFrench({})
    words = {word.lower() for word in language.split(text)}
    return words | {language.stem(word).lower() for word in words}


def secret_terms(secrets: Iterable[Secret], public: str) -> dict[str, Secret]:
    """Search-index terms that only instructor-only text could put there, each with its secret."""
    shared = _stems(public)
    terms: dict[str, Secret] = {}
    for secret in secrets:
        if secret.whole_word or secret.origin.startswith(("an nbgrader", "a path")):
            continue
        for stem in _stems(secret.text) - shared:
            if len(stem) >= MIN_TERM_CHARS and not stem.isdigit():
                terms.setdefault(stem, Secret(stem, f"a search term from {secret.origin}"))
    return terms


# -- the check -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Keyed:
    """Secrets by a key of inner words. A word inside a secret, between two spaces, is a whole word
    of any whitespace-collapsed text that holds the secret, and so is a pair of inner words side by
    side: only the secrets whose key a file holds need searching in it."""

    by_key: dict[tuple[str, ...], list[Secret]]
    always: list[Secret]

    @classmethod
    def of(cls, secrets: Iterable[Secret], public: str) -> _Keyed:
        """Each secret keyed by its rarest inner pair of words in ``public`` (or its inner word)."""
        seen = Counter(_keys(public.split()))
        by_key: dict[tuple[str, ...], list[Secret]] = {}
        always = []
        for secret in secrets:
            inner = secret.text.split(" ")[1:-1]
            if inner:
                keys = list(_keys(inner)) if len(inner) > 1 else [(inner[0],)]
                key = min(keys, key=lambda k: (seen[k], -len("".join(k))))
                by_key.setdefault(key, []).append(secret)
            else:
                always.append(secret)
        return cls(by_key, always)

    def candidates(self, text: str) -> list[Secret]:
        words = text.split(" ")
        held = ({(w,) for w in words} | set(_keys(words))) & self.by_key.keys()
        return self.always + [s for key in sorted(held) for s in self.by_key[key]]


def _keys(words: list[str]) -> Iterator[tuple[str, ...]]:
    yield from itertools.pairwise(words)


def find_leaks(site: Path, secrets: list[Secret], public: str = "") -> list[Leak]:
    """Every (file, secret) pair where a file under ``site`` holds a secret.

    ``public`` is the text the book publishes on purpose (pages and notebooks as trainees receive
    them): search-index terms found in it are never taken for leaks.
    """
    keyed = _Keyed.of((s for s in secrets if not s.whole_word), public)
    words = {s.text: s for s in secrets if s.whole_word}
    word_re = (re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, sorted(words, key=len,
                                                                             reverse=True)))
                          + r")(?![\w-])") if words else None)
    terms = secret_terms(secrets, public)
    leaks = []
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
        if head == SQLITE_MAGIC:
            leaks.append(Leak(path, Secret("SQLite format 3", "a database file (a gradebook?)")))
            continue
        if path.suffix.lower() in BINARY_SUFFIXES:
            continue
        text = readable_text(path)
        leaks += sorted((Leak(path, secret) for secret in keyed.candidates(text)
                         if secret.text in text), key=lambda leak: (leak.secret.origin,
                                                                    leak.secret.text))
        if word_re:
            leaks += [Leak(path, words[w]) for w in sorted(set(word_re.findall(text)))]
        if path.name == SEARCH_INDEX:
            found = index_terms(path.read_text(encoding="utf-8", errors="replace"))
            leaks += [Leak(path, terms[t]) for t in sorted(found & terms.keys())]
    return leaks
