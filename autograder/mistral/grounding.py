"""Grounded answers: find the context passages in a prompt and quote the sentences nearest the question.

A prompt carries its passages in one of these ways (checked in this order):

1. a block after a header line such as ``Contexte :``, ``Context:``, ``Documents :`` or ``السياق:``,
   ending at a ``Question :`` / ``السؤال:`` line; items in it start with ``[1]``, ``1.``, ``-``, ``*``
   or ``•``, or are separated by blank lines;
2. otherwise, the paragraphs (blank-line separated) of the system messages and of the last user
   message, except the paragraph that holds the question.

Sentences are ranked by the cosine of their embedding (see :mod:`.embeddings`) to the question's, and
the best one that shares a content word with the question, or reaches :data:`MIN_COSINE`, is quoted
with its passage label, and so is the runner-up if it qualifies too and comes within
:data:`RUNNER_UP_MARGIN` of the best. No such sentence: the answer says the context does not tell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from autograder.mistral.embeddings import content_words, cosine, embed_texts, non_latin_share
from autograder.mistral.schemas import Message

MIN_COSINE = 0.55
MAX_QUOTES = 2
RUNNER_UP_MARGIN = 0.1

_CONTEXT_HEADER = re.compile(
    r"^\s*(?:contexte|context|passages?|documents?|extraits?|sources?|السياق|النصوص|المقاطع)"
    r"(?:\s+\w+)?\s*[:：]\s*(.*)$",
    re.IGNORECASE,
)
_QUESTION_HEADER = re.compile(r"^\s*(?:question|requête|query|السؤال|سؤال)\s*[:：]\s*(.*)$", re.I)
_ITEM = re.compile(r"^\s*(?:\[(\w+)\]|(\d+)[.)]|[-*•])\s*(.*)$")
_SENTENCE_END = re.compile(r"(?<=[.!?؟…])\s+")


@dataclass(frozen=True)
class Passage:
    """One context passage and the label it is cited by (``1``, ``2``... or its own ``[label]``)."""

    label: str
    text: str


@dataclass(frozen=True)
class Quote:
    """A sentence quoted from a passage, with its cosine to the question."""

    label: str
    sentence: str
    score: float


@dataclass(frozen=True)
class Grounding:
    """What the prompt asked and what its context says about it."""

    question: str
    passages: tuple[Passage, ...]
    quotes: tuple[Quote, ...]

    @property
    def arabic(self) -> bool:
        """Whether the question is mostly in Arabic script (the answer then is too)."""
        return non_latin_share(self.question) > 0.5

    def answer_text(self) -> str:
        """The grounded answer: the quotes, or why there are none."""
        if not self.passages:
            return _NO_CONTEXT_AR if self.arabic else _NO_CONTEXT_FR
        if not self.quotes:
            return _NOT_IN_CONTEXT_AR if self.arabic else _NOT_IN_CONTEXT_FR
        lead = "حسب السياق المقدم:" if self.arabic else "D'après le contexte fourni :"
        lines = [f"- « {q.sentence} » [{q.label}]" for q in self.quotes]
        return "\n".join([lead, *lines])


_NO_CONTEXT_FR = (
    "Je suis le serveur de classe hors ligne de Tadrib, pas un modèle Mistral : je réponds en citant "
    "les passages de contexte donnés dans le message (par exemple après « Contexte : »). "
    "Ce message n'en contient aucun."
)
_NO_CONTEXT_AR = (
    "أنا خادم القسم غير المتصل لمنصة تدريب، ولست نموذجا من Mistral: أجيب باقتباس مقاطع السياق "
    "الواردة في الرسالة (مثلا بعد «السياق:»). هذه الرسالة لا تتضمن أي مقطع."
)
_NOT_IN_CONTEXT_FR = "Le contexte fourni ne permet pas de répondre à cette question."
_NOT_IN_CONTEXT_AR = "السياق المقدم لا يسمح بالإجابة عن هذا السؤال."


def ground(messages: list[Message]) -> Grounding:
    """Find the question and passages in ``messages`` and quote what answers the question."""
    users = [m for m in messages if m.role == "user"]
    last_user = users[-1].text() if users else ""
    systems = [m.text() for m in messages if m.role == "system"]
    question, passages = _split_prompt(last_user, systems)
    return Grounding(question, passages, _best_quotes(question, passages))


def _split_prompt(user_text: str, system_texts: list[str]) -> tuple[str, tuple[Passage, ...]]:
    for text in (user_text, *system_texts):
        block = _context_block(text)
        if block is not None:
            question = _question_line(user_text) or _question_paragraph(user_text)
            return question, _items(block)
    question = _question_line(user_text) or _question_paragraph(user_text)
    paragraphs = [p for t in system_texts for p in _paragraphs(t)]
    paragraphs += [p for p in _paragraphs(user_text) if question not in p]
    passages = tuple(Passage(str(i), p) for i, p in enumerate(paragraphs, start=1))
    return question, passages


def _context_block(text: str) -> list[str] | None:
    lines = text.splitlines()
    for start, line in enumerate(lines):
        header = _CONTEXT_HEADER.match(line)
        if header is None:
            continue
        block = [header.group(1)] if header.group(1).strip() else []
        for following in lines[start + 1 :]:
            if _QUESTION_HEADER.match(following):
                break
            block.append(following)
        return block
    return None


def _items(block: list[str]) -> tuple[Passage, ...]:
    passages: list[Passage] = []
    current: list[str] = []
    label = ""

    def close() -> None:
        text = " ".join(part.strip() for part in current).strip()
        if text:
            passages.append(Passage(label or str(len(passages) + 1), text))

    for line in block:
        item = _ITEM.match(line)
        if item or not line.strip():
            close()
            current = [item.group(3)] if item else []
            label = (item.group(1) or item.group(2) or "") if item else ""
        else:
            current.append(line)
    close()
    return tuple(passages)


def _question_line(text: str) -> str:
    for line in text.splitlines():
        found = _QUESTION_HEADER.match(line)
        if found and found.group(1).strip():
            return found.group(1).strip()
    return ""


def _question_paragraph(text: str) -> str:
    paragraphs = _paragraphs(text)
    asking = [p for p in paragraphs if p.rstrip().endswith(("?", "؟"))]
    return (asking or paragraphs or [""])[-1]


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def _best_quotes(question: str, passages: tuple[Passage, ...]) -> tuple[Quote, ...]:
    sentences = [(p.label, s) for p in passages for s in _SENTENCE_END.split(p.text) if s.strip()]
    if not question.strip() or not sentences:
        return ()
    vectors = embed_texts([question] + [s for _, s in sentences])
    asked = set(content_words(question))
    ranked = []
    for order, ((label, sentence), vector) in enumerate(zip(sentences, vectors[1:], strict=True)):
        score = cosine(vectors[0], vector)
        if score >= MIN_COSINE or asked & set(content_words(sentence)):
            ranked.append((-score, order, Quote(label, sentence.strip(), round(score, 4))))
    best = sorted(ranked)[:MAX_QUOTES]
    return tuple(q for _, _, q in best if q.score >= best[0][2].score - RUNNER_UP_MARGIN)
