"""The classroom server's HTTP routes, on FastAPI: the part of Mistral's API the curriculum uses.

| route | answers |
|---|---|
| ``GET /v1/models``, ``GET /v1/models/{id}`` | the classroom models (:mod:`.catalogue`) |
| ``POST /v1/chat/completions`` | :mod:`.chat`'s answer, whole or streamed (``"stream": true``) |
| ``POST /v1/embeddings`` | :mod:`.embeddings`' vectors |

Every request needs ``Authorization: Bearer <key>`` with a key of :class:`ServerSettings`; each key
may spend at most ``request_budget`` requests over the server's life, then gets 429 (a deterministic
way to practise rate-limit handling). Errors are in Mistral's shapes (:mod:`.errors`).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from autograder.mistral import DEFAULT_API_KEY, errors, wire
from autograder.mistral.catalogue import MODELS
from autograder.mistral.chat import answer
from autograder.mistral.embeddings import embed_texts, embedding_method
from autograder.mistral.schemas import ChatRequest, EmbeddingRequest


@dataclass(frozen=True)
class ServerSettings:
    """How the classroom server admits requests."""

    api_keys: tuple[str, ...] = (DEFAULT_API_KEY,)
    """Keys accepted as ``Authorization: Bearer <key>``; any other (or none) gets 401."""
    request_budget: int | None = None
    """Requests each key may make over the server's life before 429; None: no limit."""


class Gate:
    """Checks each request's key and counts it against the key's budget (thread-safe)."""

    def __init__(self, settings: ServerSettings) -> None:
        self._settings = settings
        self._spent: Counter[str] = Counter()
        self._lock = threading.Lock()

    def refuse(self, authorization: str | None) -> Response | None:
        """The error response for this ``Authorization`` header, or None to let it through."""
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or key.strip() not in self._settings.api_keys:
            return errors.unauthorized()
        budget = self._settings.request_budget
        with self._lock:
            self._spent[key.strip()] += 1
            spent = self._spent[key.strip()]
        return errors.rate_limited() if budget is not None and spent > budget else None


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """A new classroom-server application (no docs pages: it is an API stand-in, not a site)."""
    app = FastAPI(title="Tadrib classroom server", docs_url=None, redoc_url=None, openapi_url=None)
    gate = Gate(settings or ServerSettings())

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        refusal = gate.refuse(request.headers.get("authorization"))
        response = refusal or await call_next(request)
        response.headers[errors.STAND_IN_HEADER] = errors.STAND_IN_VALUE
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return errors.no_route(request.url.path)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    _add_routes(app)
    return app


def _add_routes(app: FastAPI) -> None:
    @app.get("/v1/models")
    def list_models() -> Response:
        return JSONResponse(wire.model_list())

    @app.get("/v1/models/{model_id}")
    def retrieve_model(model_id: str) -> Response:
        model = MODELS.get(model_id)
        return JSONResponse(model.card()) if model else errors.model_not_found(model_id)

    @app.post("/v1/chat/completions")
    def chat_completions(body: ChatRequest) -> Response:
        model = MODELS.get(body.model)
        if model is None or not model.chat:
            return errors.invalid_model(body.model)
        reply = answer(body)
        if body.stream:
            events = wire.completion_events(body, reply)
            return StreamingResponse(events, media_type="text/event-stream")
        return JSONResponse(wire.completion(body, reply))

    @app.post("/v1/embeddings")
    def create_embeddings(body: EmbeddingRequest) -> Response:
        model = MODELS.get(body.model)
        if model is None or not model.embeddings:
            return errors.invalid_model(body.model)
        vectors = embed_texts(body.texts())
        return JSONResponse(wire.embeddings(body, vectors, embedding_method()))
