"""Tool calls: whether the classroom model calls a declared tool, which one, with what arguments.

It calls one tool when tools are declared, ``tool_choice`` is not ``none``, no tool result has come
back since the last user message, and one of these holds:

- ``tool_choice`` names a function (that one is called);
- the user message names a tool (``get_weather`` or ``get weather``: that one is called);
- ``tool_choice`` is ``any`` or ``required``, or the message asks for a tool ("utilise l'outil",
  "use the tool", "appelle la fonction", "استعمل الأداة"...), or (``auto``) it shares a content word
  with a tool's name or description: the tool whose name and description are nearest the message
  (embedding cosine; the first declared wins a tie) is called.

Arguments are filled from the tool's JSON-schema parameters by
:class:`~autograder.mistral.schemafill.SchemaFiller` and sent, as Mistral does, as a JSON string.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from dataclasses import dataclass

from autograder.mistral.embeddings import content_words, cosine, embed_texts
from autograder.mistral.schemafill import Facts, SchemaFiller
from autograder.mistral.schemas import ChatRequest, ForcedTool, FunctionSpec, Message

_ASKS_FOR_TOOL = re.compile(
    r"\b(?:outil|tool|fonction|function)s?\b|\bappel(?:le|lez|er)\b|\bcall\b|أداة|الأداة|استعمل|استخدم",
    re.IGNORECASE,
)
_ID_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class ToolCall:
    """One function call the classroom model makes."""

    id: str
    name: str
    arguments: str


def awaiting_tool_result(messages: list[Message]) -> bool:
    """Whether a tool result has come back since the last user message (then it is answered)."""
    for message in reversed(messages):
        if message.role == "tool":
            return True
        if message.role == "user":
            return False
    return False


def choose_tool(request: ChatRequest, message: str) -> FunctionSpec | None:
    """The tool to call for ``message``, or None to answer in text."""
    functions = [tool.function for tool in request.tools or []]
    choice = request.tool_choice
    if not functions or choice == "none" or awaiting_tool_result(request.messages):
        return None
    if isinstance(choice, ForcedTool):
        return next((f for f in functions if f.name == choice.function.name), None)
    named = [f for f in functions if _names(f.name, message)]
    if named:
        return named[0]
    asked = choice in ("any", "required") or _ASKS_FOR_TOOL.search(message) is not None
    words = set(content_words(message))
    related = [f for f in functions if words & set(content_words(_describe(f)))]
    if asked or related:
        return _nearest(functions if asked else related, message)
    return None


def call(function: FunctionSpec, facts: Facts, turn: int) -> ToolCall:
    """The call of ``function`` with arguments filled from ``facts``; its id is derived, not random."""
    arguments = SchemaFiller(facts).fill_object(function.parameters)
    encoded = json.dumps(arguments, ensure_ascii=False)
    digest = hashlib.sha256(f"{turn}:{function.name}:{encoded}".encode()).digest()
    call_id = "".join(_ID_ALPHABET[b % len(_ID_ALPHABET)] for b in digest[:9])
    return ToolCall(id=call_id, name=function.name, arguments=encoded)


def tool_result(messages: list[Message]) -> tuple[str, str] | None:
    """The (tool name, result) of the latest tool message after the last user message."""
    if not awaiting_tool_result(messages):
        return None
    result = next(m for m in reversed(messages) if m.role == "tool")
    names = {c.id: c.function.name for m in messages for c in m.tool_calls or [] if c.id}
    name = result.name or names.get(result.tool_call_id or "", "outil")
    return name, result.text()


def _names(name: str, message: str) -> bool:
    lowered = message.lower()
    return name.lower() in lowered or name.lower().replace("_", " ") in lowered


def _describe(function: FunctionSpec) -> str:
    return f"{function.name.replace('_', ' ')}. {function.description or ''}"


def _nearest(functions: list[FunctionSpec], message: str) -> FunctionSpec:
    vectors = embed_texts([message] + [_describe(f) for f in functions])
    scores = [cosine(vectors[0], v) for v in vectors[1:]]
    return functions[scores.index(max(scores))]
