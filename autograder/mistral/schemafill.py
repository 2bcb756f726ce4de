"""Fill a JSON schema from a prompt, deterministically: tool-call arguments and JSON-mode answers.

For each property, first match wins:

1. an explicit ``name: value`` or ``name = value`` in the prompt (quotes « », " " allowed);
2. ``enum``: the first listed value that the prompt mentions (else, when required, the first one);
3. ``integer`` / ``number``: the prompt's numbers, in order, one per numeric property;
4. ``string``: the prompt's quoted strings in order, then its proper nouns (capitalised words not
   opening a sentence), then a value from :class:`Facts` chosen by the property's name (answer,
   language, question), then the question itself;
5. ``boolean``: the schema's default, else whether the answer is grounded in the context;
6. ``array``: one item filled by these rules, or the cited sentences / passage labels by name;
7. ``object``: its own properties, recursively; anything else: the schema's default or null.

Optional properties are filled only when rule 1, 2 or a schema default gives a value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from autograder.mistral.embeddings import content_words

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:[.,]\d+)?(?![\w])")
_QUOTED = re.compile(r"«\s*([^»]+?)\s*»|“([^”]+)”|\"([^\"]+)\"")
_JSON_OBJECT = re.compile(r"\{[^{}]*\}")
_ANSWER_NAMES = ("answer", "reponse", "réponse", "resume", "résumé", "summary", "text", "texte")
_SOURCE_NAMES = ("source", "passage", "citation", "reference", "référence", "label", "id")
_LANGUAGE_NAMES = ("lang", "langue", "language")
_QUESTION_NAMES = ("question", "query", "requete", "requête", "prompt", "input")
_SCORE_NAMES = ("score", "confiance", "confidence", "similarit")


@dataclass
class Facts:
    """What the answer logic knows, for filling values that the prompt does not spell out."""

    prompt: str
    question: str
    answer: str
    language: str
    grounded: bool
    quotes: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    best_score: float = 0.0

    @property
    def plain_answer(self) -> str:
        """The answer without its lead-in: the quoted sentences, or the reason there are none."""
        return " ".join(self.quotes) if self.quotes else self.answer


class SchemaFiller:
    """Fills schemas from one prompt; numbers and quoted strings are handed out in order."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        prose = _without_json(facts.prompt)
        self._numbers = _numbers(prose)
        self._strings = _strings(prose)

    def fill_object(self, schema: dict[str, Any]) -> dict[str, Any]:
        """An object for ``schema`` (its ``properties``; all of them are filled when none is required)."""
        properties: dict[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or properties)
        filled: dict[str, Any] = {}
        for name, sub in properties.items():
            explicit = self._explicit(name, sub if isinstance(sub, dict) else {})
            if explicit is not None:
                filled[name] = explicit
            elif name in required:
                filled[name] = self.fill(name, sub if isinstance(sub, dict) else {})
        return filled

    def fill(self, name: str, schema: dict[str, Any]) -> Any:
        """A value for property ``name`` of ``schema``, by the module's rules 2 to 7."""
        kind = _kind(schema)
        if "enum" in schema:
            return self._enum(schema["enum"])
        if kind in ("integer", "number"):
            return self._number(name, kind, schema)
        if kind == "boolean":
            return schema.get("default", self.facts.grounded)
        if kind == "array":
            return self._array(name, schema.get("items") or {})
        if kind == "object":
            return self.fill_object(schema)
        if kind == "string":
            return self._string(name, schema)
        return schema.get("default")

    def _explicit(self, name: str, schema: dict[str, Any]) -> Any:
        value = r"(?:«\s*([^»]+?)\s*»|\"([^\"]+)\"|([^,;\n]+))"
        pattern = rf"\b{re.escape(name)}\s*[:=]\s*{value}"
        found = re.search(pattern, self.facts.prompt, re.IGNORECASE)
        if found is not None:
            return _convert(next(g for g in found.groups() if g is not None), _kind(schema))
        if "enum" in schema:
            return _mentioned(schema["enum"], self.facts.prompt)
        return schema.get("default")

    def _enum(self, options: list[Any]) -> Any:
        mentioned = _mentioned(options, self.facts.prompt)
        return mentioned if mentioned is not None else (options[0] if options else None)

    def _number(self, name: str, kind: str, schema: dict[str, Any]) -> int | float:
        if _named(name, _SCORE_NAMES):
            return round(self.facts.best_score, 2)
        if self._numbers:
            value = self._numbers.pop(0)
        else:
            value = float(schema.get("default", schema.get("minimum", 0)))
        return int(value) if kind == "integer" else value

    def _string(self, name: str, schema: dict[str, Any]) -> str:
        if _named(name, _LANGUAGE_NAMES):
            return self.facts.language
        if _named(name, _ANSWER_NAMES):
            return self.facts.plain_answer
        if _named(name, _QUESTION_NAMES):
            return self.facts.question
        if self._strings:
            return self._strings.pop(0)
        return str(schema.get("default", self.facts.question))

    def _array(self, name: str, items: dict[str, Any]) -> list[Any]:
        if _named(name, _SOURCE_NAMES):
            return list(self.facts.labels)
        if _kind(items) == "string" and "enum" not in items and self.facts.quotes:
            return list(self.facts.quotes)
        return [self.fill(name, items)]


def _kind(schema: dict[str, Any]) -> str:
    kind = schema.get("type", "string" if "enum" not in schema else "")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    return str(kind)


def _named(name: str, stems: tuple[str, ...]) -> bool:
    lowered = name.lower()
    return any(stem in lowered for stem in stems)


def _mentioned(options: list[Any], prompt: str) -> Any:
    words = set(content_words(prompt))
    lowered = prompt.lower()
    for option in options:
        text = str(option)
        option_words = set(content_words(text))
        if text.lower() in lowered or (option_words and option_words <= words):
            return option
    return None


def _convert(raw: str, kind: str) -> Any:
    if kind in ("integer", "number"):
        number = _NUMBER.search(raw)
        if number is not None:
            value = float(number.group().replace(",", "."))
            return int(value) if kind == "integer" else value
    if kind == "boolean":
        return raw.lower() in ("true", "vrai", "oui", "yes", "1")
    return raw.strip()


def _numbers(prompt: str) -> list[float]:
    return [float(n.replace(",", ".")) for n in _NUMBER.findall(prompt)]


def _strings(prompt: str) -> list[str]:
    quoted = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(prompt)]
    return quoted + list(_proper_nouns(prompt))


def _proper_nouns(prompt: str) -> Iterator[str]:
    """Runs of title-case words not opening a sentence or line (places, people; not acronyms)."""
    for sentence in re.split(r"(?<=[.!?؟:])\s+|\n", prompt):
        run: list[str] = []
        for word in re.findall(r"[\w'-]+", sentence)[1:]:
            if word[0].isupper() and not word.isupper():
                run.append(word)
                continue
            if run:
                yield " ".join(run)
            run = []
        if run:
            yield " ".join(run)


def _without_json(prompt: str) -> str:
    while (stripped := _JSON_OBJECT.sub(" ", prompt)) != prompt:
        prompt = stripped
    return prompt


def guess_schema(name: str) -> dict[str, Any]:
    """A schema for a key known only by its name: sources are lists, scores numbers, else strings."""
    if _named(name, _SOURCE_NAMES):
        return {"type": "array", "items": {"type": "string"}}
    if _named(name, _SCORE_NAMES):
        return {"type": "number"}
    return {"type": "string"}
