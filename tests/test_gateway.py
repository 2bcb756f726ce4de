"""The Mistral gateway: tokens, quotas and 429, minimisation, usage per cohort (issue 10).

The upstream is the real classroom server, wrapped so the test can read what it received; trainees
call the gateway through a real socket with the real ``mistralai`` client.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from mistralai.client import Mistral
from mistralai.client.errors import SDKError

from autograder.llm import load_settings
from autograder.mistral import errors
from autograder.mistral.app import create_app
from autograder.mistral.gateway import QUOTA_HEADER, GatewaySettings, running_gateway, serving
from autograder.mistral.gateway_ledger import GatewayError, Ledger, Quotas, suppress_cohorts
from autograder.roster import Roster, TraineeRow, store
from tests.conftest import MINI, copy_catalogue, run_tadrib

CHAT = "tadrib-classroom-small"
EMBED = "tadrib-classroom-embed"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


class Capture:
    """ASGI wrapper that keeps every request body the wrapped app receives."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.bodies: list[str] = []

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        self.bodies.append(body.decode("utf-8"))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[str, Capture]]:
    capture = Capture(create_app())
    with serving(capture, "classroom-upstream") as url:
        yield url, capture


def _row(first: str, last: str, cin: str, cohort: str) -> TraineeRow:
    return TraineeRow(national_id=cin, email=None, first_name=first, last_name=last, cohort=cohort,
                      track="data-scientist", region="Rabat-Salé-Kénitra", gender="F",
                      institution="Ministère", employer_type="ministry")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace whose roster holds three trainees, two in cohort A, one in cohort B."""
    rows = [_row("Salma", "El Idrissi", "BE789456", "2026-A"),
            _row("Youssef", "Aït Taleb", "J123456", "2026-A"),
            _row("Khadija", "Skalli", "AB654321", "2026-B")]
    store(Roster.of(tmp_path), list(enumerate(rows, start=2)))
    return tmp_path


def _pseudonyms(workspace: Path) -> dict[str, str]:
    """Cohort of each pseudonym."""
    return {p: person.cohort for p, person in Roster.of(workspace).people().items()}


def _settings(workspace: Path, url: str, **quotas: int) -> GatewaySettings:
    upstream = load_settings(environ={}, workspace=workspace, mode="classroom", server_url=url)
    return GatewaySettings(workspace, upstream, Quotas(**quotas))


def _token(workspace: Path, cohort: str, index: int = 0) -> str:
    ledger = Ledger(workspace)
    try:
        return ledger.issue(sorted(p for p, c in _pseudonyms(workspace).items() if c == cohort)[index])
    finally:
        ledger.close()


def test_upstream_never_sees_personal_data(workspace: Path, upstream: tuple[str, Capture]) -> None:
    """Does the upstream receive placeholders instead of the name, email, phone and CIN, while the
    trainee gets an answer and the log holds only hashes under the pseudonym?"""
    url, capture = upstream
    token = _token(workspace, "2026-B")
    prompt = ("Je suis Khadija Skalli (khadija.skalli@example.ma, 06 61 23 45 67, CIN AB654321), "
              "j'habite 12 rue Ibn Sina. Résume la loi 09-08.")
    with running_gateway(_settings(workspace, url)) as gateway:
        reply = Mistral(api_key=token, server_url=gateway).chat.complete(
            model=CHAT, messages=[{"role": "user", "content": prompt}])
    assert reply.choices[0].message.content
    sent = capture.bodies[-1]
    for value in ("Khadija", "Skalli", "khadija.skalli", "06 61 23 45 67", "AB654321", "Ibn Sina"):
        assert value not in sent
    for placeholder in ("[NOM]", "[EMAIL]", "[TEL]", "[CIN]", "[ADRESSE]"):
        assert placeholder in sent
    assert "loi 09-08" in sent
    ledger = Ledger(workspace)
    rows = ledger.rows()
    ledger.close()
    (_, _, pseudonym, cohort, model, endpoint, status, prompt_tokens, _, redactions), = rows
    assert (cohort, model, endpoint, status) == ("2026-B", CHAT, "chat", 200)
    assert _pseudonyms(workspace)[pseudonym] == "2026-B" and prompt_tokens > 0
    kinds = [kind for kind, _ in json.loads(redactions)]
    assert sorted(set(kinds)) == ["ADRESSE", "CIN", "EMAIL", "NOM", "TEL"]
    assert "Skalli" not in redactions and "khadija" not in redactions


def test_streamed_chat_and_embeddings_are_redacted_and_counted(
        workspace: Path, upstream: tuple[str, Capture]) -> None:
    """Do a streamed chat and an embeddings request reach the trainee, redacted upstream, with the
    upstream's token counts logged?"""
    url, capture = upstream
    token = _token(workspace, "2026-A")
    with running_gateway(_settings(workspace, url)) as gateway:
        client = Mistral(api_key=token, server_url=gateway)
        events = client.chat.stream(
            model=CHAT, messages=[{"role": "user", "content": "smiti Salma, ra9mi 0661234567"}])
        text = "".join(e.data.choices[0].delta.content or "" for e in events)
        assert "0661234567" not in capture.bodies[-1] and "[TEL]" in capture.bodies[-1]
        vectors = client.embeddings.create(model=EMBED, inputs=["Salma El Idrissi", "le modèle"])
        assert "Salma" not in capture.bodies[-1]
    assert text and len(vectors.data) == 2
    ledger = Ledger(workspace)
    rows = ledger.rows()
    ledger.close()
    assert [(r[5], r[6]) for r in rows] == [("chat", 200), ("embeddings", 200)]
    assert all(int(r[7]) > 0 for r in rows)


def test_over_the_request_quota_mistralai_raises_429(workspace: Path, upstream: tuple[str, Capture]) -> None:
    """Does a trainee's third request of the day, over a quota of two, raise mistralai's SDKError
    with status 429 and exactly the classroom server's body, while another cohort is unaffected?"""
    url, _ = upstream
    token, other = _token(workspace, "2026-A"), _token(workspace, "2026-B")
    messages = [{"role": "user", "content": "Bonjour"}]
    with running_gateway(_settings(workspace, url, trainee_requests=2)) as gateway:
        client = Mistral(api_key=token, server_url=gateway)
        for _ in range(2):
            client.chat.complete(model=CHAT, messages=messages)
        with pytest.raises(SDKError) as refused:
            client.chat.complete(model=CHAT, messages=messages)
        Mistral(api_key=other, server_url=gateway).chat.complete(model=CHAT, messages=messages)
        raw = httpx.post(f"{gateway}/v1/chat/completions", headers={"authorization": f"Bearer {token}"},
                         json={"model": CHAT, "messages": messages}, timeout=60)
    assert refused.value.status_code == 429
    assert raw.status_code == 429 and raw.content == bytes(errors.rate_limited().body)
    assert raw.headers[QUOTA_HEADER].startswith("trainee-requests; spent=2; limit=2")
    assert errors.STAND_IN_HEADER not in raw.headers


def test_cohort_token_quota_refuses_before_the_call(workspace: Path, upstream: tuple[str, Capture]) -> None:
    """Is a request refused when its estimated tokens would take the cohort past its daily quota,
    though it comes from a trainee who has spent nothing yet?"""
    url, capture = upstream
    first, second = _token(workspace, "2026-A", 0), _token(workspace, "2026-A", 1)
    with running_gateway(_settings(workspace, url, cohort_tokens=60)) as gateway:
        def ask(token: str, max_tokens: int) -> httpx.Response:
            body = {"model": CHAT, "max_tokens": max_tokens,
                    "messages": [{"role": "user", "content": "Explique le surapprentissage."}]}
            return httpx.post(f"{gateway}/v1/chat/completions",
                              headers={"authorization": f"Bearer {token}"}, json=body, timeout=60)
        assert ask(first, 10).status_code == 200
        received = len(capture.bodies)
        refused = ask(second, 200)
    assert refused.status_code == 429 and refused.headers[QUOTA_HEADER].startswith("cohort-tokens")
    assert len(capture.bodies) == received  # never forwarded


def test_unknown_or_revoked_token_is_401(workspace: Path, upstream: tuple[str, Capture]) -> None:
    """Does a token the gateway did not issue, or one revoked, get Mistral's 401?"""
    url, _ = upstream
    token = _token(workspace, "2026-B")
    with running_gateway(_settings(workspace, url)) as gateway:
        assert Mistral(api_key=token, server_url=gateway).models.list().data
        pseudonym = next(p for p, c in _pseudonyms(workspace).items() if c == "2026-B")
        assert "1 jeton" in run_tadrib("mistral", "gateway", "token", pseudonym, "--revoke",
                                       "--workspace", str(workspace)).output
        for key in (token, "tgw-forged"):
            with pytest.raises(SDKError) as refused:
                Mistral(api_key=key, server_url=gateway).models.list()
            assert refused.value.status_code == 401


def test_token_command_stores_only_a_hash_and_names_unknown_pseudonyms(workspace: Path) -> None:
    """Is the issued token shown once and absent from the database, and an unknown pseudonym an error
    that says where the pseudonyms are?"""
    pseudonym = sorted(_pseudonyms(workspace))[0]
    issued = run_tadrib("mistral", "gateway", "token", pseudonym, "--workspace", str(workspace))
    token = issued.output.strip()
    assert issued.exit_code == 0 and token.startswith("tgw-")
    assert token.encode() not in (workspace / "private" / "gateway.db").read_bytes()
    unknown = run_tadrib("mistral", "gateway", "token", "t0000", "--workspace", str(workspace))
    assert unknown.exit_code == 1 and "t0000: no trainee" in unknown.output
    assert "Traceback" not in unknown.output


def test_quota_settings_come_from_the_workspace_and_bad_ones_are_named(tmp_path: Path) -> None:
    """Are quotas read from [gateway] in tadrib.toml, overridden by options, and a bad value refused
    with the file and the fix?"""
    (tmp_path / "tadrib.toml").write_text("[gateway]\ntrainee_requests = 50\ncohort_tokens = 0\n")
    assert Quotas.load(tmp_path, trainee_tokens=1000) == Quotas(50, 1000, None, None)
    assert Quotas.load(tmp_path, trainee_requests=5).trainee_requests == 5
    (tmp_path / "tadrib.toml").write_text("[gateway]\ntrainee_request = 50\n")
    with pytest.raises(GatewayError, match=r"tadrib.toml: unknown setting.*trainee_requests"):
        Quotas.load(tmp_path)
    (tmp_path / "tadrib.toml").write_text('[gateway]\ntrainee_tokens = "beaucoup"\n')
    with pytest.raises(GatewayError, match="whole number"):
        Quotas.load(tmp_path)


def test_usage_per_cohort_hides_small_cohorts() -> None:
    """Is a cohort with fewer than k active trainees hidden, with a second one so that the total
    does not give it away?"""
    lines, total = suppress_cohorts([("A", 400, 9000, 30), ("B", 50, 800, 3), ("C", 200, 4000, 12),
                                     ("D", 300, 5000, 20)], k=10)
    assert [(line.cohort, line.trainees) for line in lines] == [("A", 30), ("B", None), ("C", None),
                                                                ("D", 20)]
    assert lines[1].requests is None and lines[1].tokens is None
    assert total.trainees == 65 and total.requests == 950


def test_usage_command_writes_the_cohort_csv(workspace: Path, upstream: tuple[str, Capture]) -> None:
    """Does `tadrib mistral gateway usage` write per-cohort requests, tokens and active trainees, with
    refused requests left out?"""
    url, _ = upstream
    token = _token(workspace, "2026-A")
    with running_gateway(_settings(workspace, url, trainee_requests=1)) as gateway:
        for _ in range(2):
            httpx.post(f"{gateway}/v1/embeddings", headers={"authorization": f"Bearer {token}"},
                       json={"model": EMBED, "input": ["bonjour"]}, timeout=60)
    result = run_tadrib("mistral", "gateway", "usage", "-k", "2", "--workspace", str(workspace))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((workspace / "reports" / "gateway_usage.csv").open(encoding="utf-8")))
    assert rows[0]["cohort"] == "2026-A" and rows[0]["requests"] == ""  # one trainee < k = 2
    assert rows[-1]["cohort"] == "total" and rows[-1]["requests"] == ""
    ledger = Ledger(workspace)
    assert ledger.by_cohort() == [("2026-A", 1, ledger.by_cohort()[0][2], 1)]
    ledger.close()



def test_coordinators_report_shows_the_usage_per_cohort(workspace: Path, tmp_path: Path,
                                                          upstream: tuple[str, Capture]) -> None:
    """Does `tadrib report`, the coordinator's report, show the gateway's usage per cohort (small
    cohorts hidden) where a gateway runs, and leave a workspace without one untouched?"""
    url, _ = upstream
    root = copy_catalogue(MINI, tmp_path / "catalogue")
    plain = tmp_path / "autre"
    result = run_tadrib("report", "--root", str(root), "--workspace", str(plain))
    assert result.exit_code == 0, result.output
    assert "Crédits" not in result.output and not (plain / "private" / "gateway.db").exists()
    token = _token(workspace, "2026-A")
    with running_gateway(_settings(workspace, url)) as gateway:
        answer = httpx.post(f"{gateway}/v1/embeddings", headers={"authorization": f"Bearer {token}"},
                            json={"model": EMBED, "input": ["bonjour"]}, timeout=60)
        assert answer.status_code == 200, answer.text
    result = run_tadrib("report", "--root", str(root), "--workspace", str(workspace))
    assert result.exit_code == 0, result.output
    assert "Crédits d'inférence" in result.output  # the table (rich wraps its title)
    assert "2026-A" in result.output and "<k" in result.output  # one active trainee < k = 10
    assert (workspace / "reports" / "gateway_usage.csv").is_file()
