"""JSON mode: which object to answer with, and the answer as valid JSON.

The keys come from, in order: the ``json_schema`` of ``response_format``; the first JSON object
written in the prompt (its keys and value types are the template); the identifiers the prompt puts
in backticks or double quotes (``"titre"``, `` `sources` ``); else ``{"reponse": ..., "sources": [...]}``.
Values are filled by :class:`~autograder.mistral.schemafill.SchemaFiller`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from autograder.mistral.schemafill import Facts, SchemaFiller, guess_schema
from autograder.mistral.schemas import ChatRequest

DEFAULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reponse": {"type": "string"},
        "sources": {"type": "array", "items": {"type": "string"}},
    },
}
_QUOTED_KEY = re.compile(r"[`\"]([A-Za-z_][A-Za-z0-9_]*)[`\"]")


def json_answer(request: ChatRequest, facts: Facts) -> str:
    """The JSON text that answers ``request``: always one valid JSON object."""
    filled = SchemaFiller(facts).fill_object(target_schema(request, facts.prompt))
    return json.dumps(filled, ensure_ascii=False)


def target_schema(request: ChatRequest, prompt: str) -> dict[str, Any]:
    """The object schema to fill, by the order the module describes."""
    response_format = request.response_format
    if response_format is not None and response_format.json_schema is not None:
        return response_format.json_schema.schema_
    example = _json_example(prompt)
    if example is not None:
        return _schema_of(example)
    keys = list(dict.fromkeys(_QUOTED_KEY.findall(prompt)))
    if keys:
        return {"type": "object", "properties": {key: guess_schema(key) for key in keys}}
    return DEFAULT_SCHEMA


def _json_example(prompt: str) -> dict[str, Any] | None:
    decoder = json.JSONDecoder()
    for start in (i for i, char in enumerate(prompt) if char == "{"):
        try:
            value, _ = decoder.raw_decode(prompt, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and value:
            return value
    return None


def _schema_of(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {"type": "object", "properties": {k: _schema_of(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"type": "array", "items": _schema_of(value[0]) if value else {"type": "string"}}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    return {"type": "string"}
