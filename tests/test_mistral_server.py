"""The classroom server, spoken to by the real ``mistralai`` client as a notebook would."""

from __future__ import annotations

import json
import math
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from mistralai.client import Mistral
from mistralai.client.errors import HTTPValidationError, SDKError
from mistralai.client.models import BaseModelCard, ChatCompletionResponse
from pydantic import BaseModel

from autograder.mistral.cli import mistral
from autograder.mistral.embeddings import MINILM_DIM, cosine, embed_texts
from autograder.mistral.server import RemoteBindRefused, is_loopback, running_server, serve
from tests.fixtures_mistral import MistralEndpoint

CONTEXT_FR = """Contexte :
[1] La carte nationale d'identité se renouvelle au commissariat de police. Il faut apporter \
l'ancienne carte et une photo.
[2] Le passeport biométrique se demande en ligne puis se retire à la préfecture.
[3] L'irrigation goutte à goutte réduit la consommation d'eau des exploitations.

Question : Où renouveler ma carte nationale d'identité ?"""

CONTEXT_AR = """السياق:
- تجديد البطاقة الوطنية يتم في مركز الشرطة.
- الري بالتنقيط يقلل استهلاك الماء في المزارع.

السؤال: أين أجدد البطاقة الوطنية؟"""

WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "meteo_ville",
        "description": "Donne la météo actuelle d'une ville marocaine.",
        "parameters": {
            "type": "object",
            "properties": {
                "ville": {"type": "string", "description": "Nom de la ville"},
                "unite": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "jours": {"type": "integer"},
            },
            "required": ["ville", "unite", "jours"],
        },
    },
}


@pytest.fixture
def llm(mistral_endpoint: MistralEndpoint) -> Iterator[Mistral]:
    with Mistral(api_key=mistral_endpoint.api_key, server_url=mistral_endpoint.url) as sdk:
        yield sdk


def ask(llm: Mistral, endpoint: MistralEndpoint, content: str, **options: Any) -> Any:
    messages: Any = [{"role": "user", "content": content}]
    return llm.chat.complete(model=endpoint.chat_model, messages=messages, **options)


def text_of(reply: ChatCompletionResponse) -> str:
    message = reply.choices[0].message
    assert message is not None and isinstance(message.content, str)
    return message.content


def test_grounded_answer_quotes_the_passage(llm: Mistral, mistral_endpoint: MistralEndpoint) -> None:
    """Does a French question get the context sentence that answers it, cited, and nothing else?"""
    reply = ask(llm, mistral_endpoint, CONTEXT_FR)
    text = reply.choices[0].message.content
    assert "« La carte nationale d'identité se renouvelle au commissariat de police. » [1]" in text
    assert "passeport" not in text and "irrigation" not in text
    assert reply.model == "tadrib-classroom-small"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0


def test_same_request_same_answer(llm: Mistral, mistral_endpoint: MistralEndpoint) -> None:
    """Is the classroom model deterministic: same request, same id and same text?"""
    first, second = (ask(llm, mistral_endpoint, CONTEXT_FR) for _ in range(2))
    assert first.model_dump() == second.model_dump()


def test_arabic_question_gets_an_arabic_grounded_answer(
    llm: Mistral, mistral_endpoint: MistralEndpoint
) -> None:
    """Does an Arabic question get the Arabic passage that answers it, with an Arabic lead-in?"""
    text = ask(llm, mistral_endpoint, CONTEXT_AR).choices[0].message.content
    assert text.startswith("حسب السياق المقدم:")
    assert "تجديد البطاقة الوطنية يتم في مركز الشرطة." in text
    assert "التنقيط" not in text


def test_question_outside_the_context_is_not_answered(
    llm: Mistral, mistral_endpoint: MistralEndpoint
) -> None:
    """Does the stand-in say the context does not tell, rather than quote something unrelated?"""
    prompt = "Contexte :\n[1] Le train pour Rabat part à huit heures.\n\nQuestion : Qui a écrit Candide ?"
    text = ask(llm, mistral_endpoint, prompt).choices[0].message.content
    assert text == "Le contexte fourni ne permet pas de répondre à cette question."


def test_no_context_answer_says_what_the_server_is(
    llm: Mistral, mistral_endpoint: MistralEndpoint
) -> None:
    """Without passages, does the answer say it is the offline classroom server, not Mistral?"""
    text = ask(llm, mistral_endpoint, "Bonjour, qui es-tu ?").choices[0].message.content
    assert "serveur de classe hors ligne" in text and "pas un modèle Mistral" in text


def test_json_mode_returns_the_keys_the_prompt_asks_for(
    llm: Mistral, mistral_endpoint: MistralEndpoint
) -> None:
    """In JSON mode, is the answer valid JSON with the keys of the prompt's example object?"""
    prompt = CONTEXT_FR + '\nRéponds en JSON : {"reponse": "...", "sources": ["1"], "confiance": 0.5}'
    reply = ask(llm, mistral_endpoint, prompt, response_format={"type": "json_object"})
    data = json.loads(reply.choices[0].message.content)
    assert set(data) == {"reponse", "sources", "confiance"}
    assert data["reponse"].startswith("La carte nationale d'identité se renouvelle")
    assert data["sources"] == ["1"]
    assert 0 < data["confiance"] <= 1


def test_json_schema_mode_follows_the_schema(llm: Mistral, mistral_endpoint: MistralEndpoint) -> None:
    """With a json_schema response format, do the keys and value types follow the schema?"""
    schema = {
        "type": "object",
        "properties": {
            "ville": {"type": "string"},
            "secteur": {"type": "string", "enum": ["sante", "agriculture", "justice"]},
            "urgent": {"type": "boolean"},
            "nombre": {"type": "integer"},
        },
        "required": ["ville", "secteur", "urgent", "nombre"],
    }
    response_format: Any = {
        "type": "json_schema",
        "json_schema": {"name": "ticket", "schema": schema, "strict": True},
    }
    prompt = "Classe cette demande en JSON : 3 pompes d'irrigation en panne à Meknès, agriculture."
    reply = ask(llm, mistral_endpoint, prompt, response_format=response_format)
    data = json.loads(reply.choices[0].message.content)
    assert data == {"ville": "Meknès", "secteur": "agriculture", "urgent": False, "nombre": 3}


def test_tool_call_with_arguments_from_the_schema(
    llm: Mistral, mistral_endpoint: MistralEndpoint
) -> None:
    """With tool_choice any, is the declared tool called with arguments built from its schema?"""
    prompt = "Quel temps fera-t-il à Rabat pendant 3 jours, en celsius ?"
    reply = ask(llm, mistral_endpoint, prompt, tools=[WEATHER_TOOL], tool_choice="any")
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message is not None and choice.message.tool_calls
    (call,) = choice.message.tool_calls
    assert call.function.name == "meteo_ville"
    assert json.loads(call.function.arguments) == {"ville": "Rabat", "unite": "celsius", "jours": 3}


def test_tool_called_when_the_prompt_asks_for_it(
    llm: Mistral, mistral_endpoint: MistralEndpoint
) -> None:
    """In auto mode, is the tool called when the prompt names it, and not when tools are off?"""
    prompt = "Utilise l'outil meteo_ville pour Fès."
    called = ask(llm, mistral_endpoint, prompt, tools=[WEATHER_TOOL], tool_choice="auto")
    (call,) = called.choices[0].message.tool_calls
    assert json.loads(call.function.arguments)["ville"] == "Fès"
    silent = ask(llm, mistral_endpoint, prompt, tools=[WEATHER_TOOL], tool_choice="none")
    assert silent.choices[0].message.tool_calls is None
    assert "serveur de classe hors ligne" in silent.choices[0].message.content


def test_tool_result_is_used_in_the_answer(llm: Mistral, mistral_endpoint: MistralEndpoint) -> None:
    """After the tool's result comes back, does the answer report it instead of calling again?"""
    question = "Quel temps fait-il à Rabat ? Utilise l'outil."
    first = ask(llm, mistral_endpoint, question, tools=[WEATHER_TOOL])
    call = first.choices[0].message.tool_calls[0]
    messages: Any = [
        {"role": "user", "content": question},
        {"role": "assistant", "content": "", "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "24 °C, ciel dégagé"},
    ]
    reply = llm.chat.complete(
        model=mistral_endpoint.chat_model, messages=messages, tools=[WEATHER_TOOL]
    )
    assert text_of(reply) == "D'après l'outil meteo_ville : 24 °C, ciel dégagé"
    assert reply.choices[0].finish_reason == "stop"


def test_streaming_sends_the_same_answer_in_chunks(
    llm: Mistral, mistral_endpoint: MistralEndpoint
) -> None:
    """Does a streamed request deliver, chunk by chunk, exactly the non-streamed answer?"""
    messages: Any = [{"role": "user", "content": CONTEXT_FR}]
    whole = llm.chat.complete(model=mistral_endpoint.chat_model, messages=messages)
    with llm.chat.stream(model=mistral_endpoint.chat_model, messages=messages) as events:
        chunks = [event.data for event in events]
    assert len(chunks) > 3
    assert "".join(str(c.choices[0].delta.content or "") for c in chunks) == text_of(whole)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


def test_streamed_tool_call(llm: Mistral, mistral_endpoint: MistralEndpoint) -> None:
    """Does a streamed request deliver the tool call in a chunk, then finish with tool_calls?"""
    messages: Any = [{"role": "user", "content": "Quel temps fait-il à Oujda, en celsius ?"}]
    with llm.chat.stream(
        model=mistral_endpoint.chat_model, messages=messages, tools=[WEATHER_TOOL], tool_choice="any"
    ) as events:
        chunks = [event.data.choices[0] for event in events]
    calls = [call for chunk in chunks for call in chunk.delta.tool_calls or []]
    assert [call.function.name for call in calls] == ["meteo_ville"]
    assert json.loads(str(calls[0].function.arguments))["ville"] == "Oujda"
    assert chunks[-1].finish_reason == "tool_calls"


def test_structured_output_parses_into_a_pydantic_model(
    llm: Mistral, mistral_endpoint: MistralEndpoint
) -> None:
    """Does the client's chat.parse get an object its pydantic model accepts?"""

    class Ticket(BaseModel):
        ville: str
        pompes: int

    messages: Any = [{"role": "user", "content": "4 pompes en panne à Agadir. Réponds en JSON."}]
    reply = llm.chat.parse(
        response_format=Ticket, model=mistral_endpoint.chat_model, messages=messages
    )
    (choice,) = reply.choices or []
    assert choice.message is not None
    assert choice.message.parsed == Ticket(ville="Agadir", pompes=4)


def embed(llm: Mistral, endpoint: MistralEndpoint, texts: list[str]) -> list[list[float]]:
    response = llm.embeddings.create(model=endpoint.embed_model, inputs=texts)
    return [list(item.embedding or []) for item in response.data]


def test_embeddings_are_unit_vectors_and_deterministic(
    llm: Mistral, mistral_endpoint: MistralEndpoint
) -> None:
    """Does each input get a 1,024-float unit vector, the same whatever it is sent with?"""
    alone = embed(llm, mistral_endpoint, ["Le blé a besoin d'eau."])
    mixed = embed(llm, mistral_endpoint, ["Autre phrase.", "Le blé a besoin d'eau."])
    assert len(alone[0]) == 1024
    assert math.isclose(math.sqrt(sum(x * x for x in alone[0])), 1.0, rel_tol=1e-6)
    assert alone[0] == mixed[1]


@pytest.mark.parametrize(
    ("sentence", "paraphrase", "unrelated"),
    [
        (
            "Le médecin prescrit un traitement au patient malade.",
            "Le docteur donne un médicament à la personne souffrante.",
            "Les agriculteurs irriguent les champs de blé au printemps.",
        ),
        (
            "Comment renouveler ma carte d'identité nationale ?",
            "Quelle est la procédure pour refaire ma CIN ?",
            "Le match de football commence à vingt heures.",
        ),
        (
            "كيف أجدد بطاقة التعريف الوطنية؟",
            "ما هي إجراءات تجديد بطاقة الهوية الوطنية؟",
            "تبدأ مباراة كرة القدم في الساعة الثامنة مساء.",
        ),
        (
            "الطبيب يصف العلاج للمريض.",
            "الدكتور يعطي الدواء للشخص المريض.",
            "المزارعون يسقون حقول القمح في الربيع.",
        ),
    ],
    ids=["fr-health", "fr-admin", "ar-admin", "ar-health"],
)
def test_paraphrase_ranks_above_unrelated(
    llm: Mistral, mistral_endpoint: MistralEndpoint, sentence: str, paraphrase: str, unrelated: str
) -> None:
    """Is a paraphrase nearer (cosine) than an unrelated sentence, in French and in Arabic?"""
    anchor, near, far = embed(llm, mistral_endpoint, [sentence, paraphrase, unrelated])
    assert cosine(anchor, near) > cosine(anchor, far)


def test_hashing_alone_is_the_documented_fallback() -> None:
    """Without MiniLM, are vectors still unit-length, hashing-only, and do they rank an Arabic paraphrase?"""
    anchor, near, far = embed_texts(
        [
            "كيف أجدد بطاقة التعريف الوطنية؟",
            "ما هي إجراءات تجديد بطاقة الهوية الوطنية؟",
            "تبدأ مباراة كرة القدم في الساعة الثامنة مساء.",
        ],
        semantic=False,
    )
    assert not any(anchor[:MINILM_DIM])
    assert math.isclose(math.sqrt(sum(x * x for x in anchor)), 1.0, rel_tol=1e-9)
    assert cosine(anchor, near) > cosine(anchor, far)


def test_models_are_labelled_as_the_classroom_stand_in(
    llm: Mistral, mistral_endpoint: MistralEndpoint
) -> None:
    """Do the listed models say they are Tadrib's offline stand-in, not Mistral models?"""
    cards = [card for card in llm.models.list().data or [] if isinstance(card, BaseModelCard)]
    assert {card.id for card in cards} == {"tadrib-classroom-small", "tadrib-classroom-embed"}
    small = llm.models.retrieve(model_id="tadrib-classroom-small")
    assert isinstance(small, BaseModelCard)
    assert small.owned_by == "tadrib"
    assert "pas un modèle Mistral" in str(small.description)
    assert small.capabilities.completion_chat and small.capabilities.function_calling


def test_raw_response_carries_the_stand_in_label(mistral_endpoint: MistralEndpoint) -> None:
    """Does the raw HTTP response say, in a field and a header, that it is the stand-in?"""
    body = {"model": mistral_endpoint.chat_model, "messages": [{"role": "user", "content": "Salut"}]}
    request = urllib.request.Request(
        mistral_endpoint.url + "/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer classroom", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        payload = json.load(response)
        header = response.headers["x-tadrib-classroom"]
    assert payload["tadrib_classroom"]["stand_in"] is True
    assert header == "offline stand-in, not a Mistral model"


def test_wrong_key_gets_401(mistral_endpoint: MistralEndpoint) -> None:
    """Is a request with an unknown key refused with 401 and Mistral's body?"""
    stranger = Mistral(api_key="not-the-key", server_url=mistral_endpoint.url)
    with stranger, pytest.raises(SDKError) as refused:
        stranger.models.list()
    assert refused.value.status_code == 401
    assert json.loads(refused.value.body) == {"detail": "Unauthorized"}


def test_unknown_model_gets_400_invalid_model(
    llm: Mistral, mistral_endpoint: MistralEndpoint
) -> None:
    """Is a model the server does not offer refused as Mistral does: 400, type invalid_model?"""
    messages: Any = [{"role": "user", "content": "?"}]
    with pytest.raises(SDKError) as refused:
        llm.chat.complete(model="mistral-large-latest", messages=messages)
    assert refused.value.status_code == 400
    body = json.loads(refused.value.body)
    assert body["type"] == "invalid_model" and body["message"] == "Invalid model: mistral-large-latest"


def test_unknown_model_id_and_unknown_path_get_404(
    llm: Mistral, mistral_endpoint: MistralEndpoint
) -> None:
    """Do an unknown model id and a path the API lacks get 404 in Mistral's shapes?"""
    with pytest.raises(SDKError) as missing_model:
        llm.models.retrieve(model_id="mistral-large-latest")
    assert missing_model.value.status_code == 404
    assert json.loads(missing_model.value.body)["type"] == "not_found"
    with pytest.raises(SDKError) as missing_path:
        llm.models.list(server_url=mistral_endpoint.url + "/nowhere")
    assert missing_path.value.status_code == 404
    assert json.loads(missing_path.value.body)["message"] == "no Route matched with those values"


def test_invalid_body_gets_422_with_detail(llm: Mistral, mistral_endpoint: MistralEndpoint) -> None:
    """Is an out-of-range top_p refused with 422 and a detail list naming the field?"""
    with pytest.raises(HTTPValidationError) as refused:
        ask(llm, mistral_endpoint, "Bonjour", top_p=3.0)
    assert refused.value.status_code == 422
    (problem,) = refused.value.data.detail or []
    assert problem.loc == ["body", "top_p"] and problem.type == "less_than_equal"


def test_request_budget_gives_429() -> None:
    """Once a key has spent its request budget, does the next request get 429 rate_limited?"""
    with running_server(request_budget=2) as url, Mistral(api_key="classroom", server_url=url) as sdk:
        sdk.models.list()
        sdk.models.list()
        with pytest.raises(SDKError) as limited:
            sdk.models.list()
    assert limited.value.status_code == 429
    assert json.loads(limited.value.body)["type"] == "rate_limited"


def test_serve_refuses_a_non_loopback_host() -> None:
    """Does the server refuse to listen beyond loopback unless allowed, and never with the default key?"""
    with pytest.raises(RemoteBindRefused, match="--allow-remote"):
        serve(host="0.0.0.0", port=0)
    with pytest.raises(RemoteBindRefused, match="--api-key"):
        serve(host="0.0.0.0", port=0, allow_remote=True)
    refused = CliRunner().invoke(mistral, ["serve", "--host", "192.168.1.10"])
    assert refused.exit_code == 2 and "binds to loopback" in refused.output


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("example.org", False)],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    """Which hosts count as loopback (listened on without --allow-remote)?"""
    assert is_loopback(host) is loopback
