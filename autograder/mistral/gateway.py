"""The Mistral gateway: trainees' requests go through it to the configured endpoint.

- ``POST /v1/chat/completions``: redacts every message's text, checks the quotas, forwards (whole
  or streamed), logs the usage;
- ``POST /v1/embeddings``: the same for the inputs;
- ``GET /v1/models``, ``GET /v1/models/{id}``: forwards (no quota, not logged).

Trainees authenticate with ``Authorization: Bearer <gateway token>`` (``tadrib mistral gateway
token``); the gateway then knows their pseudonym and cohort from the roster, and calls the upstream
endpoint (:mod:`autograder.llm` settings: hosted, self-hosted or classroom) with the upstream key, which
trainees never see. Over a quota it answers 429 with the body the classroom server sends
(:func:`autograder.mistral.errors.rate_limited`), so ``mistralai`` raises ``SDKError`` with status
429; the ``x-tadrib-quota`` header says which quota. Personal data is replaced before forwarding
(:mod:`autograder.redact`); the upstream never receives the original text.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from autograder.llm import MistralSettings, api_key
from autograder.mistral import errors
from autograder.mistral.gateway_ledger import Ledger, Quotas, Refusal, Trainee, Usage
from autograder.redact import Names, redact

DEFAULT_GATEWAY_PORT = 8766
QUOTA_HEADER = "x-tadrib-quota"
START_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class GatewaySettings:
    """Where the gateway forwards to, whose books it keeps, and its quotas."""

    workspace: Path
    upstream: MistralSettings
    quotas: Quotas


class _Context:
    """What every request needs: the ledger, the roster names, the hash key, the upstream."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.ledger = Ledger(settings.workspace)
        self.key = self.ledger.key()
        self.names: Names = self.ledger.names()
        self.upstream_key = api_key(settings.upstream)

    def headers(self) -> dict[str, str]:
        auth = {"authorization": f"Bearer {self.upstream_key}"} if self.upstream_key else {}
        return {**auth, "content-type": "application/json", "accept": "application/json"}

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.settings.upstream.server_url,
                                 timeout=self.settings.upstream.timeout_ms / 1000)


def create_gateway_app(settings: GatewaySettings) -> FastAPI:
    """A gateway application for one workspace (no docs pages: an API, not a site)."""
    app = FastAPI(title="Tadrib Mistral gateway", docs_url=None, redoc_url=None, openapi_url=None)
    context = _Context(settings)
    app.state.ledger = context.ledger

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _ours(errors.no_route(request.url.path))
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @app.get("/v1/models")
    @app.get("/v1/models/{model_id}")
    async def models(request: Request) -> Response:
        if _trainee(context, request) is None:
            return _ours(errors.unauthorized())
        async with context.client() as client:
            upstream = await client.get(request.url.path, headers=context.headers())
        return _relay(upstream)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        return await _forward(context, request, "chat")

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Response:
        return await _forward(context, request, "embeddings")

    return app


def _trainee(context: _Context, request: Request) -> Trainee | None:
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    return context.ledger.trainee(token.strip()) if scheme.lower() == "bearer" else None


async def _forward(context: _Context, request: Request, endpoint: str) -> Response:
    trainee = _trainee(context, request)
    if trainee is None:
        return _ours(errors.unauthorized())
    try:
        body = json.loads(await request.body())
        if not isinstance(body, dict):
            raise ValueError("not an object")
    except ValueError:
        return JSONResponse({"detail": [{"type": "json_invalid", "loc": ["body"],
                                         "msg": "JSON object expected", "input": None}]}, status_code=422)
    hashes = _minimise(context, body, endpoint)
    estimate = estimate_tokens(body)
    model = str(body.get("model", ""))
    refusal = context.ledger.admit(trainee, estimate, context.settings.quotas)
    if refusal is not None:
        context.ledger.record(Usage(trainee, model, endpoint, 429, redactions=hashes))
        return _quota_exceeded(refusal)
    path = request.url.path
    if endpoint == "chat" and body.get("stream"):
        return await _stream(context, path, body, Usage(trainee, model, endpoint, 200, redactions=hashes),
                             estimate)
    try:
        async with context.client() as client:
            upstream = await client.post(path, json=body, headers=context.headers())
    except httpx.HTTPError as exc:
        context.ledger.record(Usage(trainee, model, endpoint, 502, redactions=hashes), estimate)
        return _unreachable(exc)
    prompt, completion = _usage(upstream)
    context.ledger.record(Usage(trainee, model, endpoint, upstream.status_code, prompt, completion, hashes),
                          estimate)
    return _relay(upstream)


def _minimise(context: _Context, body: dict[str, Any], endpoint: str) -> tuple[tuple[str, str], ...]:
    """Redact, in place, every text the request carries; the hashes of what was taken out."""
    hashes: list[tuple[str, str]] = []

    def clean(text: str) -> str:
        result = redact(text, key=context.key, names=context.names)
        hashes.extend(result.hashes)
        return result.text

    if endpoint == "embeddings":
        for name in ("input", "inputs"):
            value = body.get(name)
            if isinstance(value, str):
                body[name] = clean(value)
            elif isinstance(value, list):
                body[name] = [clean(v) if isinstance(v, str) else v for v in value]
        return tuple(hashes)
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            message["content"] = clean(content)
        elif isinstance(content, list):
            for chunk in content:
                if isinstance(chunk, dict) and isinstance(chunk.get("text"), str):
                    chunk["text"] = clean(chunk["text"])
    return tuple(hashes)


def estimate_tokens(body: dict[str, Any]) -> int:
    """Tokens a request may spend, before the call: a quarter of the prompt's characters (about what
    Mistral's tokenizer gives for French; Arabic script gives more) plus ``max_tokens``."""
    text = json.dumps(body.get("messages") or body.get("input") or body.get("inputs") or "",
                      ensure_ascii=False)
    max_tokens = body.get("max_tokens")
    return len(text) // 4 + 1 + (max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else 0)


async def _stream(context: _Context, path: str, body: dict[str, Any], usage: Usage,
                  estimate: int) -> Response:
    client = context.client()
    try:
        upstream = await client.send(client.build_request("POST", path, json=body, headers=context.headers()),
                                     stream=True)
    except httpx.HTTPError as exc:
        await client.aclose()
        context.ledger.record(_with(usage, 502), estimate)
        return _unreachable(exc)
    if upstream.status_code != 200:
        await upstream.aread()
        await upstream.aclose()
        await client.aclose()
        context.ledger.record(_with(usage, upstream.status_code), estimate)
        return _relay(upstream)

    async def relay() -> AsyncIterator[str]:
        tokens = (0, 0)
        try:
            async for line in upstream.aiter_lines():
                if line.startswith("data: {") and '"usage"' in line:
                    tokens = _tokens(json.loads(line[len("data: "):]).get("usage"))
                yield line + "\n"
        finally:
            await upstream.aclose()
            await client.aclose()
            context.ledger.record(_with(usage, 200, *tokens), estimate)

    return StreamingResponse(relay(), media_type=upstream.headers.get("content-type", "text/event-stream"))


def _with(usage: Usage, status: int, prompt: int = 0, completion: int = 0) -> Usage:
    return Usage(usage.trainee, usage.model, usage.endpoint, status, prompt, completion, usage.redactions)


def _usage(response: httpx.Response) -> tuple[int, int]:
    try:
        return _tokens(response.json().get("usage")) if response.is_success else (0, 0)
    except (ValueError, AttributeError):
        return 0, 0


def _tokens(usage: object) -> tuple[int, int]:
    if not isinstance(usage, dict):
        return 0, 0
    return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)


def _relay(upstream: httpx.Response) -> Response:
    wanted = ("content-type", errors.STAND_IN_HEADER)
    keep = {k: v for k, v in upstream.headers.items() if k.lower() in wanted}
    return Response(upstream.content, status_code=upstream.status_code, headers=keep)


def _ours(response: Response) -> Response:
    """An error the gateway itself answers: Mistral's shape, without the classroom label."""
    del response.headers[errors.STAND_IN_HEADER]
    return response


def _quota_exceeded(refusal: Refusal) -> Response:
    response = _ours(errors.rate_limited())
    response.headers[QUOTA_HEADER] = f"{refusal.quota}; spent={refusal.spent}; limit={refusal.limit}"
    return response


def _unreachable(exc: httpx.HTTPError) -> Response:
    body = {"object": "error", "message": f"Upstream Mistral endpoint unreachable: {type(exc).__name__}",
            "type": "upstream_unreachable", "param": None, "code": "502"}
    return JSONResponse(body, status_code=502)


@contextmanager
def serving(app: Any, name: str = "tadrib-gateway") -> Iterator[str]:
    """Run an ASGI app on a free 127.0.0.1 port in a daemon thread; yield its base URL; stop it."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name=f"{name}-{port}",
                              daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start (see the log above)")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT_S)
        listener.close()


@contextmanager
def running_gateway(settings: GatewaySettings) -> Iterator[str]:
    """The gateway on a free loopback port in a background thread (tests, demos); yields its URL."""
    app = create_gateway_app(settings)
    try:
        with serving(app) as url:
            yield url
    finally:
        app.state.ledger.close()


def serve_gateway(*, settings: GatewaySettings, host: str = "127.0.0.1", port: int = DEFAULT_GATEWAY_PORT,
                  log_level: str = "info") -> None:
    """Serve until interrupted."""
    uvicorn.run(create_gateway_app(settings), host=host, port=port, log_level=log_level, access_log=False)
