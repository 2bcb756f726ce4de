"""Response bodies in Mistral's wire shapes, each labelled as the classroom stand-in.

Chat completions (whole or as ``chat.completion.chunk`` server-sent events ending in
``data: [DONE]``), embeddings and the models list. Ids are derived from the request, ``created`` is
0: identical requests get byte-identical responses. The extra top-level ``tadrib_classroom`` field
(``{"stand_in": true, ...}``) is ignored by the ``mistralai`` client and visible to anyone reading
the raw response.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from autograder.mistral.catalogue import MODELS, STAND_IN_NOTE
from autograder.mistral.chat import Answer, count_tokens
from autograder.mistral.schemas import ChatRequest, EmbeddingRequest

CREATED = 0


def label(**extra: Any) -> dict[str, Any]:
    """The ``tadrib_classroom`` field every response carries."""
    return {"stand_in": True, "server": "tadrib mistral serve", "note": STAND_IN_NOTE, **extra}


def completion(request: ChatRequest, answer: Answer) -> dict[str, Any]:
    """The whole ``chat.completion`` body."""
    return {
        "id": _request_id("chat", request),
        "object": "chat.completion",
        "model": request.model,
        "created": CREATED,
        "usage": _usage(request, answer),
        "choices": [{"index": 0, "finish_reason": answer.finish_reason, "message": _message(answer)}],
        "tadrib_classroom": label(),
    }


def completion_events(request: ChatRequest, answer: Answer) -> Iterator[str]:
    """The streamed answer: server-sent events of ``chat.completion.chunk``, then ``[DONE]``."""
    chunk_id = _request_id("chat", request)
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": piece} for piece in re.findall(r"\s*\S+", answer.content)]
    if answer.tool_calls:
        deltas.append({"tool_calls": _tool_calls(answer)})
    for position, delta in enumerate(deltas):
        yield _event(_chunk(chunk_id, request.model, delta, None, with_label=position == 0))
    last = _chunk(chunk_id, request.model, {"content": ""}, answer.finish_reason, with_label=True)
    last["usage"] = _usage(request, answer)
    yield _event(last)
    yield "data: [DONE]\n\n"


def embeddings(request: EmbeddingRequest, vectors: list[list[float]], method: str) -> dict[str, Any]:
    """The embeddings body, one ``embedding`` object per input, in order."""
    tokens = sum(count_tokens(text) for text in request.texts())
    return {
        "id": _request_id("embd", request),
        "object": "list",
        "model": request.model,
        "usage": {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens},
        "data": [
            {"object": "embedding", "embedding": vector, "index": index}
            for index, vector in enumerate(vectors)
        ],
        "tadrib_classroom": label(embedding_method=method),
    }


def model_list() -> dict[str, Any]:
    """The ``GET /v1/models`` body."""
    return {"object": "list", "data": [model.card() for model in MODELS.values()]}


def _message(answer: Answer) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": answer.content,
        "tool_calls": _tool_calls(answer) or None,
        "prefix": False,
    }


def _tool_calls(answer: Answer) -> list[dict[str, Any]]:
    return [
        {"id": c.id, "type": "function", "index": i, "function": {"name": c.name, "arguments": c.arguments}}
        for i, c in enumerate(answer.tool_calls)
    ]


def _usage(request: ChatRequest, answer: Answer) -> dict[str, int]:
    prompt = sum(count_tokens(m.text()) for m in request.messages)
    prompt += sum(count_tokens(json.dumps(t.model_dump())) for t in request.tools or [])
    completion_tokens = count_tokens(answer.content)
    completion_tokens += sum(count_tokens(c.arguments) for c in answer.tool_calls)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
    }


def _chunk(
    chunk_id: str, model: str, delta: dict[str, Any], finish: str | None, *, with_label: bool
) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if with_label:
        chunk["tadrib_classroom"] = label()
    return chunk


def _event(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def _request_id(kind: str, request: ChatRequest | EmbeddingRequest) -> str:
    canonical = request.model_dump_json(by_alias=True, exclude_none=True)
    return f"classroom-{kind}-" + hashlib.sha256(canonical.encode()).hexdigest()[:24]
