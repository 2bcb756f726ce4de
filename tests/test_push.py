"""`tadrib indicators push` against a real local HTTP server that counts what it receives, and the
hash-chained audit log that records every export and push (`tadrib audit verify`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from autograder.audit import AuditLog
from autograder.push import PushError
from autograder.steering import indicators, push
from tests.conftest import run_tadrib
from tests.fixtures_indicators import IndicatorWorld, completes, make_world


@dataclass
class IndicatorSystem:
    """What the receiving side saw: every request, and its store (one document per key)."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    store: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_next: list[int] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[IndicatorSystem]:
    system = IndicatorSystem("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            system.requests.append({"key": self.headers.get("Idempotency-Key"),
                                    "auth": self.headers.get("Authorization"),
                                    "head": self.headers.get("X-Tadrib-Audit-Head")})
            status = system.fail_next.pop(0) if system.fail_next else 200
            if status == 200:
                system.store[self.headers["Idempotency-Key"]] = json.loads(body)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    system.url = f"http://127.0.0.1:{server.server_address[1]}/api/indicators"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield system
    server.shutdown()
    server.server_close()


@pytest.fixture
def exported(tmp_path: Path) -> IndicatorWorld:
    world = make_world(tmp_path, 30)
    rows = [row for t in world.trainees[:20] for row in completes(t, datetime(2026, 7, 3))]
    world.record(rows)
    indicators(from_="2026Q2", to="2026Q3", root=world.root, workspace=world.workspace, db_url="")
    indicators(quarter="2026Q3", root=world.root, workspace=world.workspace, db_url="")
    return world


def test_push_twice_replaces_never_doubles(exported: IndicatorWorld,
                                           receiver: IndicatorSystem) -> None:
    """Does pushing a range send one request per quarter with a stable key, so that pushing again
    replaces each quarter on the receiver instead of adding to it?"""
    for _ in range(2):
        sent = push(url=receiver.url + "?token=secret", from_="2026Q2", to="2026Q3",
                    token="abc", workspace=exported.workspace)
        assert [s.key for s in sent] == ["tadrib:talents_trained:2026Q2",
                                         "tadrib:talents_trained:2026Q3"]
    assert len(receiver.requests) == 4
    assert sorted(receiver.store) == ["tadrib:talents_trained:2026Q2",
                                      "tadrib:talents_trained:2026Q3"]
    q3 = receiver.store["tadrib:talents_trained:2026Q3"]
    assert [q["quarter"] for q in q3["quarters"]] == ["2026Q3"]
    assert q3["quarters"][0]["total"]["talents_trained"] == 20
    assert all(r["auth"] == "Bearer abc" and r["head"] for r in receiver.requests)
    pushes = [json.loads(line) for line in AuditLog.of(exported.workspace).path.read_text()
              .splitlines() if '"indicators push"' in line]
    assert len(pushes) == 2
    assert pushes[0]["parameters"]["url"] == receiver.url  # no query string, no token
    assert "secret" not in AuditLog.of(exported.workspace).path.read_text()


def test_push_retries_with_backoff(exported: IndicatorWorld, receiver: IndicatorSystem) -> None:
    """Are 503 and 429 answers retried until the quarter is stored, once?"""
    receiver.fail_next = [503, 429]
    [sent] = push(url=receiver.url, quarter="2026Q3", workspace=exported.workspace, backoff=0.01)
    assert sent.attempts == 3
    assert len(receiver.requests) == 3 and len(receiver.store) == 1


def test_push_refused_is_an_error(exported: IndicatorWorld, receiver: IndicatorSystem) -> None:
    """Is a 400 reported (not retried) with the URL and status, and a missing export named?"""
    receiver.fail_next = [400]
    with pytest.raises(PushError, match=r"answered 400 for 2026Q3 after 1 attempt"):
        push(url=receiver.url, quarter="2026Q3", workspace=exported.workspace)
    result = run_tadrib("indicators", "push", receiver.url, "--quarter", "2025Q1",
                        "--workspace", str(exported.workspace))
    assert result.exit_code == 1
    assert ("indicators-2025Q1.json: no such export; "
            "run `tadrib indicators --quarter 2025Q1` first") in result.output


def test_audit_chain_detects_tampering(exported: IndicatorWorld, receiver: IndicatorSystem) -> None:
    """Does `tadrib audit verify` pass on an intact log and catch an edited entry, a removed entry
    and a cut-off end?"""
    push(url=receiver.url, quarter="2026Q3", workspace=exported.workspace)
    indicators(quarter="2026Q3", root=exported.root, workspace=exported.workspace, db_url="")
    ws = str(exported.workspace)
    ok = run_tadrib("audit", "verify", "--workspace", ws)
    assert ok.exit_code == 0 and "intact: 4 entries" in ok.output
    log = AuditLog.of(exported.workspace).path
    original = log.read_text(encoding="utf-8")
    lines = original.splitlines(keepends=True)

    assert '"k":10' in lines[1]
    log.write_text(lines[0] + lines[1].replace('"k":10', '"k":2') + "".join(lines[2:]),
                   encoding="utf-8")
    edited = run_tadrib("audit", "verify", "--workspace", ws)
    assert edited.exit_code == 1 and "line 2: entry 2 does not match its hash" in edited.output

    log.write_text(lines[0] + "".join(lines[2:]), encoding="utf-8")
    removed = run_tadrib("audit", "verify", "--workspace", ws)
    assert removed.exit_code == 1 and "line 2: entry 3 does not follow the previous" in removed.output

    log.write_text("".join(lines[:3]), encoding="utf-8")
    cut = run_tadrib("audit", "verify", "--workspace", ws)
    assert cut.exit_code == 1 and "entries were removed from the end" in cut.output

    log.write_text(original, encoding="utf-8")
    assert AuditLog.of(exported.workspace).verify() == (4, [])
