"""Endpoint configuration and the notebook helper ``autograder.llm.client``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mistralai.client.errors import SDKError

from autograder.llm import (
    ENVIRONMENT,
    MistralConfigError,
    MistralKeyMissing,
    api_key,
    client,
    endpoint_configured,
    load_settings,
    settings_reference,
)
from tests.fixtures_mistral import MistralEndpoint

REPO = Path(__file__).resolve().parents[1]


def write_settings(workspace: Path, table: str) -> Path:
    workspace.mkdir(parents=True, exist_ok=True)
    path = workspace / "tadrib.toml"
    path.write_text("[mistral]\n" + table, encoding="utf-8")
    return path


def test_notebook_client_reaches_the_classroom_server(mistral_endpoint: MistralEndpoint) -> None:
    """With the fixture's environment, does client() alone get an answer from the stand-in?"""
    settings = load_settings()
    assert settings.mode == "classroom" and settings.server_url == mistral_endpoint.url
    messages: Any = [{"role": "user", "content": "Bonjour"}]
    reply = client().chat.complete(model=settings.model, messages=messages)
    assert reply.model == "tadrib-classroom-small"


def test_self_hosted_without_key_sends_none(
    mistral_endpoint: MistralEndpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Does a self-hosted endpoint with its key variable unset get no key, not MISTRAL_API_KEY's?"""
    monkeypatch.setenv("MISTRAL_API_KEY", mistral_endpoint.api_key)
    monkeypatch.delenv("DATACENTRE_LLM_KEY", raising=False)
    settings = load_settings(
        environ={}, workspace=tmp_path, server_url=mistral_endpoint.url,
        api_key_env="DATACENTRE_LLM_KEY",
    )
    with client(settings) as sdk, pytest.raises(SDKError) as refused:
        sdk.models.list()
    assert refused.value.status_code == 401


def test_defaults_are_the_hosted_api(tmp_path: Path) -> None:
    """With nothing configured, is the endpoint Mistral's hosted API with its usual models?"""
    settings = load_settings(environ={}, workspace=tmp_path)
    assert (settings.mode, settings.server_url) == ("hosted", "https://api.mistral.ai")
    assert (settings.model, settings.embed_model) == ("mistral-small-latest", "mistral-embed")
    assert settings.api_key_env == "MISTRAL_API_KEY" and settings.timeout_ms == 60_000


def test_explicit_beats_environment_beats_workspace_file(tmp_path: Path) -> None:
    """Is each setting taken from the arguments, else the environment, else tadrib.toml?"""
    write_settings(
        tmp_path,
        'server_url = "http://gpu.datacentre.ma:8000"\nmodel = "from-file"\n'
        'embed_model = "embed-from-file"\ntimeout_ms = 1234\n',
    )
    environ = {"TADRIB_MISTRAL_MODEL": "from-env", "TADRIB_MISTRAL_EMBED_MODEL": "embed-from-env"}
    settings = load_settings(environ=environ, workspace=tmp_path, model="explicit")
    assert settings.model == "explicit"
    assert settings.embed_model == "embed-from-env"
    assert settings.server_url == "http://gpu.datacentre.ma:8000"
    assert settings.timeout_ms == 1234
    assert settings.mode == "self-hosted"


def test_workspace_comes_from_tadrib_workspace(tmp_path: Path) -> None:
    """Is tadrib.toml read from $TADRIB_WORKSPACE when no workspace is passed?"""
    write_settings(tmp_path / "ws", 'mode = "classroom"\n')
    settings = load_settings(environ={"TADRIB_WORKSPACE": str(tmp_path / "ws")})
    assert settings.mode == "classroom"
    assert settings.server_url == "http://127.0.0.1:8765"
    assert settings.model == "tadrib-classroom-small"


def test_missing_hosted_key_is_explained_in_french(tmp_path: Path) -> None:
    """Does a missing hosted key raise a French message that says how to set it, without a traceback?"""
    settings = load_settings(environ={}, workspace=tmp_path)
    with pytest.raises(MistralKeyMissing) as missing:
        api_key(settings, environ={})
    message = str(missing.value)
    assert "MISTRAL_API_KEY n'est pas définie" in message
    assert "export MISTRAL_API_KEY=votre-clé" in message
    assert "N'écrivez jamais la clé dans un notebook" in message
    assert missing.value._render_traceback_() == [f"MistralKeyMissing: {message}"]


def test_client_without_hosted_key_raises_before_any_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Does client() itself stop with the French message when the hosted key is unset?"""
    for variable in (*ENVIRONMENT.values(), "MISTRAL_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("TADRIB_WORKSPACE", str(tmp_path))
    with pytest.raises(MistralKeyMissing, match="Clé d'API Mistral introuvable"):
        client()


def test_keys_by_mode(tmp_path: Path) -> None:
    """Which key goes out: the hosted variable's, none for an open self-hosted server, the classroom's?"""
    hosted = load_settings(environ={}, workspace=tmp_path)
    assert api_key(hosted, environ={"MISTRAL_API_KEY": " sk-123 "}) == "sk-123"
    own = load_settings(environ={}, workspace=tmp_path, server_url="http://vllm:8000")
    assert api_key(own, environ={}) is None
    classroom = load_settings(environ={}, workspace=tmp_path, mode="classroom")
    assert api_key(classroom, environ={"MISTRAL_API_KEY": "sk-real"}) == "classroom"
    assert api_key(classroom, environ={"TADRIB_CLASSROOM_KEY": "salle-12"}) == "salle-12"


def test_workspace_file_must_not_hold_a_key(tmp_path: Path) -> None:
    """Is an API key written in tadrib.toml refused, naming the file and the fix?"""
    path = write_settings(tmp_path, 'api_key = "sk-oops"\n')
    with pytest.raises(MistralConfigError) as refused:
        load_settings(environ={}, workspace=tmp_path)
    assert str(path) in str(refused.value) and "api_key_env" in str(refused.value)


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ('modle = "x"\n', "réglage(s) inconnu(s) dans [mistral] : modle"),
        ('mode = "cloud"\n', "Mode Mistral inconnu : 'cloud'"),
        ('mode = "self-hosted"\n', "Adresse du serveur Mistral manquante"),
        ('server_url = "gpu:8000"\n', "Adresse du serveur Mistral manquante ou invalide"),
        ('timeout_ms = "soon"\n', "timeout_ms doit être un entier"),
        ("mode = \n", "n'est pas un fichier TOML valide"),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, table: str, fragment: str) -> None:
    """Does each bad [mistral] table give an error that names what to fix?"""
    write_settings(tmp_path, table)
    with pytest.raises(MistralConfigError) as refused:
        load_settings(environ={}, workspace=tmp_path)
    assert fragment in str(refused.value)


def test_endpoint_configured(tmp_path: Path) -> None:
    """When is an endpoint configured (so the demo need not start the classroom server)?"""
    assert not endpoint_configured(environ={}, workspace=tmp_path)
    assert endpoint_configured(environ={"MISTRAL_API_KEY": "sk"}, workspace=tmp_path)
    assert endpoint_configured(environ={"TADRIB_MISTRAL_URL": "http://x"}, workspace=tmp_path)
    write_settings(tmp_path, 'mode = "classroom"\n')
    assert endpoint_configured(environ={}, workspace=tmp_path)


def test_docs_list_every_setting() -> None:
    """Does docs/mistral.md carry the settings table generated from their definitions?"""
    assert settings_reference() in (REPO / "docs" / "mistral.md").read_text(encoding="utf-8")
