"""Error bodies in the shapes the hosted Mistral API sends (as its clients have reported them).

- 400, a model the server does not offer, or one that cannot do the operation:
  ``{"object": "error", "message": "Invalid model: X", "type": "invalid_model", "param": null,
  "code": "1500"}``
- 401, no ``Authorization: Bearer`` header, or a key the server does not know:
  ``{"detail": "Unauthorized"}``
- 404, a path the API does not have (the gateway's answer):
  ``{"message": "no Route matched with those values", "request_id": "..."}``
- 404, ``GET /v1/models/{id}`` for an unknown id: the 400 body with ``type`` ``not_found``
- 422, a body that fails validation (FastAPI's shape, which is Mistral's own):
  ``{"detail": [{"type": ..., "loc": [...], "msg": ..., "input": ...}, ...]}``
- 429, a key past its request budget: ``{"object": "error", "message": "Rate limit exceeded",
  "type": "rate_limited", "param": null, "code": "1300"}``

The ``mistralai`` client raises ``HTTPValidationError`` for 422 and ``SDKError`` (with
``status_code`` and ``body``) for the others.
"""

from __future__ import annotations

import hashlib

from starlette.responses import JSONResponse

STAND_IN_HEADER = "x-tadrib-classroom"
STAND_IN_VALUE = "offline stand-in, not a Mistral model"


def unauthorized() -> JSONResponse:
    """401 for a missing or unknown API key."""
    return _json(401, {"detail": "Unauthorized"})


def invalid_model(model: str) -> JSONResponse:
    """400 for a model this server does not offer for the operation asked."""
    return _json(400, _error(f"Invalid model: {model}", "invalid_model", "1500"))


def model_not_found(model: str) -> JSONResponse:
    """404 for ``GET /v1/models/{model}`` when the id is unknown."""
    return _json(404, _error(f"Model not found: {model}", "not_found", "1500"))


def no_route(path: str) -> JSONResponse:
    """404 for a path the API does not have (the gateway's answer; request_id from the path)."""
    request_id = hashlib.sha256(path.encode()).hexdigest()[:32]
    return _json(404, {"message": "no Route matched with those values", "request_id": request_id})


def rate_limited() -> JSONResponse:
    """429 for a key that has used up its request budget."""
    return _json(429, _error("Rate limit exceeded", "rate_limited", "1300"))


def _error(message: str, kind: str, code: str) -> dict[str, object]:
    return {"object": "error", "message": message, "type": kind, "param": None, "code": code}


def _json(status: int, body: dict[str, object]) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={STAND_IN_HEADER: STAND_IN_VALUE})
