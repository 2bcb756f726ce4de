"""Sending out (HTTP edge): indicator documents to the programme's indicator system, xAPI statements
to a Learning Record Store. Retries with exponential backoff are urllib3's ``Retry``.

Indicator system contract: one ``POST URL`` per quarter, body = the indicator JSON of that quarter,
header ``Idempotency-Key: tadrib:talents_trained:<quarter>``. The receiver keeps one document per
key: sending a quarter again replaces it and never adds to it. Any 2xx is success; 408, 429 and 5xx
are retried (``Retry-After`` honoured), as are lost connections; any other status is an error.
"""

from __future__ import annotations

import json
from base64 import b64encode
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import urllib3
from urllib3.util import Retry

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
DEFAULT_RETRIES = 5
DEFAULT_BACKOFF = 0.5
TIMEOUT_S = 30.0
LRS_BATCH = 500


class PushError(Exception):
    """A send that failed for good; the message names the URL, the status and what to do."""


@dataclass(frozen=True)
class Sent:
    key: str
    status: int
    attempts: int


def idempotency_key(quarter: str) -> str:
    return f"tadrib:talents_trained:{quarter}"


def redact(url: str) -> str:
    """The URL without credentials, query or fragment (what the audit log may keep)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _pool(retries: int, backoff: float) -> urllib3.PoolManager:
    retry = Retry(total=retries, connect=retries, read=retries, status=retries,
                  backoff_factor=backoff, status_forcelist=RETRY_STATUSES, allowed_methods=None,
                  respect_retry_after_header=True, raise_on_status=False)
    return urllib3.PoolManager(retries=retry, timeout=urllib3.Timeout(total=TIMEOUT_S))


def _post(pool: urllib3.PoolManager, url: str, body: bytes,
          headers: dict[str, str]) -> urllib3.BaseHTTPResponse:
    if urlsplit(url).scheme not in {"http", "https"}:
        raise PushError(f"{url}: not an http(s) URL; give the full address, e.g. "
                        "https://indicateurs.example/api/tadrib")
    try:
        return pool.request("POST", url, body=body, headers=headers)
    except urllib3.exceptions.HTTPError as error:
        raise PushError(f"{redact(url)}: no answer after the retries ({error.__class__.__name__}: "
                        f"{error}); check the address and that the service is up.") from None


def _attempts(response: urllib3.BaseHTTPResponse) -> int:
    retries = response.retries
    return 1 + (len(retries.history) if retries else 0)


def push_documents(url: str, documents: list[dict[str, Any]], *, token: str | None = None,
                   audit_head: str = "", retries: int = DEFAULT_RETRIES,
                   backoff: float = DEFAULT_BACKOFF) -> list[Sent]:
    """POST each one-quarter document with its idempotency key; stop at the first failure."""
    pool = _pool(retries, backoff)
    sent = []
    for doc in documents:
        quarter = doc["quarters"][0]["quarter"]
        headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key(quarter),
                   "X-Tadrib-Audit-Head": audit_head}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")
        response = _post(pool, url, body, headers)
        if not 200 <= response.status < 300:
            raise PushError(f"{redact(url)} answered {response.status} for {quarter} "
                            f"after {_attempts(response)} attempt(s): "
                            f"{response.data[:300].decode('utf-8', 'replace')}")
        sent.append(Sent(idempotency_key(quarter), response.status, _attempts(response)))
    return sent


def send_statements(lrs_url: str, statements: list[dict[str, Any]], *, user: str | None = None,
                    password: str | None = None, retries: int = DEFAULT_RETRIES,
                    backoff: float = DEFAULT_BACKOFF) -> int:
    """POST the statements to ``<lrs_url>/statements`` in batches; returns how many were sent.
    Identical statements already stored are accepted by the LRS and not stored twice."""
    pool = _pool(retries, backoff)
    endpoint = lrs_url.rstrip("/") + "/statements"
    headers = {"Content-Type": "application/json", "X-Experience-API-Version": "1.0.3"}
    if user is not None:
        token = b64encode(f"{user}:{password or ''}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    for start in range(0, len(statements), LRS_BATCH):
        batch = statements[start:start + LRS_BATCH]
        response = _post(pool, endpoint, json.dumps(batch).encode("utf-8"), headers)
        if response.status not in (200, 204):
            raise PushError(f"{redact(endpoint)} answered {response.status}: "
                            f"{response.data[:300].decode('utf-8', 'replace')}")
    return len(statements)
