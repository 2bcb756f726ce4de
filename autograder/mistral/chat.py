"""The classroom model's answer to a chat request: a tool call, a JSON object, or grounded text.

In this order: a tool call when :func:`~autograder.mistral.toolcalls.choose_tool` picks one; else,
in JSON mode (``json_object`` or ``json_schema``), one valid JSON object (:mod:`.jsonmode`); else
text: the tool result just received, or quotes from the context passages (:mod:`.grounding`).
``max_tokens`` cuts text answers (``finish_reason`` ``length``), never JSON, which stays valid.
Same request, same answer: nothing here reads a clock or a random source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from autograder.mistral.grounding import Grounding, ground
from autograder.mistral.jsonmode import json_answer
from autograder.mistral.schemafill import Facts
from autograder.mistral.schemas import ChatRequest
from autograder.mistral.toolcalls import ToolCall, call, choose_tool, tool_result

_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class Answer:
    """What the classroom model says: text (maybe JSON), or tool calls and no text."""

    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str = "stop"


def answer(request: ChatRequest) -> Answer:
    """Answer ``request`` by the rules of this module."""
    grounding = ground(request.messages)
    facts = _facts(request, grounding)
    function = choose_tool(request, grounding.question)
    if function is not None:
        made = call(function, facts, turn=len(request.messages))
        return Answer(content="", tool_calls=(made,), finish_reason="tool_calls")
    response_format = request.response_format
    if response_format is not None and response_format.type != "text":
        return Answer(content=json_answer(request, facts))
    return _truncated(facts.answer, request.max_tokens)


def count_tokens(text: str) -> int:
    """A deterministic token count for ``usage``: words and punctuation marks."""
    return len(_TOKEN.findall(text))


def _facts(request: ChatRequest, grounding: Grounding) -> Facts:
    texts = [m.text() for m in request.messages if m.role in ("system", "user")]
    received = tool_result(request.messages)
    if received is not None:
        name, result = received
        lead = f"حسب الأداة {name}:" if grounding.arabic else f"D'après l'outil {name} :"
        text, quotes, labels = f"{lead} {result}", [result], [name]
    else:
        text = grounding.answer_text()
        quotes = [q.sentence for q in grounding.quotes]
        labels = [q.label for q in grounding.quotes]
    return Facts(
        prompt="\n".join(texts),
        question=grounding.question,
        answer=text,
        language="ar" if grounding.arabic else "fr",
        grounded=bool(quotes),
        quotes=quotes,
        labels=labels,
        best_score=max((q.score for q in grounding.quotes), default=0.0),
    )


def _truncated(text: str, max_tokens: int | None) -> Answer:
    if max_tokens is None or count_tokens(text) <= max_tokens:
        return Answer(content=text)
    kept = [m.end() for m in _TOKEN.finditer(text)][:max_tokens]
    return Answer(content=text[: kept[-1]] if kept else "", finish_reason="length")
