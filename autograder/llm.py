"""Where notebooks reach Mistral: one configuration, one ready client.

In a notebook::

    from autograder.llm import client, load_settings

    llm = client()
    reply = llm.chat.complete(model=load_settings().model, messages=[...])

Three kinds of endpoint, all spoken to by ``mistralai.client.Mistral``:

- ``hosted``: Mistral's API (https://api.mistral.ai), with the key in ``MISTRAL_API_KEY``;
- ``self-hosted``: any server that speaks Mistral's HTTP API (vLLM serving Mistral's open-weight
  models in a national data centre...), at ``server_url``;
- ``classroom``: ``tadrib mistral serve``, the offline, deterministic stand-in.

Each setting is read from, first found: the arguments of :func:`load_settings`, the environment
variable named in :data:`ENVIRONMENT`, the ``[mistral]`` table of ``$TADRIB_WORKSPACE/tadrib.toml``
(default workspace ``./var``), then the default of its mode. A key is never a setting: settings name
the environment variable that holds it, so no notebook and no workspace file carries one.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, cast

import httpx
from mistralai.client import Mistral

from autograder.mistral import DEFAULT_API_KEY, DEFAULT_PORT

Mode = Literal["hosted", "self-hosted", "classroom"]
MODES: tuple[Mode, ...] = ("hosted", "self-hosted", "classroom")
HOSTED_URL = "https://api.mistral.ai"
WORKSPACE_ENV = "TADRIB_WORKSPACE"
DEFAULT_WORKSPACE = "var"
SETTINGS_FILE = "tadrib.toml"
CLASSROOM_KEY_ENV = "TADRIB_CLASSROOM_KEY"


@dataclass(frozen=True)
class MistralSettings:
    """The Mistral endpoint notebooks use, resolved by :func:`load_settings`."""

    mode: Mode = field(metadata={"doc": (
        "Kind of endpoint: `hosted`, `self-hosted` or `classroom`. Default: `self-hosted` when "
        "`server_url` is set, else `hosted`."
    )})
    server_url: str = field(metadata={"doc": (
        f"Base URL of the API, without `/v1`. Default: `{HOSTED_URL}` (hosted), "
        f"`http://127.0.0.1:{DEFAULT_PORT}` (classroom); required for self-hosted."
    )})
    api_key_env: str = field(metadata={"doc": (
        "Name of the environment variable holding the key (never the key itself). Default: "
        f"`MISTRAL_API_KEY`; `{CLASSROOM_KEY_ENV}` in classroom mode, whose key is "
        f"`{DEFAULT_API_KEY}` when that variable is unset."
    )})
    model: str = field(metadata={"doc": (
        "Chat model notebooks use. Default: `mistral-small-latest`; `tadrib-classroom-small` in "
        "classroom mode. A self-hosted server names its own (e.g. vLLM's `--served-model-name`)."
    )})
    embed_model: str = field(metadata={"doc": (
        "Embedding model notebooks use. Default: `mistral-embed`; `tadrib-classroom-embed` in "
        "classroom mode."
    )})
    timeout_ms: int = field(metadata={"doc": "Request timeout in milliseconds. Default: `60000`."})

    def summary(self) -> str:
        """One line that says where requests go (for the demo and logs; no key in it)."""
        return f"{self.mode}: {self.server_url} (chat {self.model}, embeddings {self.embed_model})"


ENVIRONMENT: dict[str, str] = {
    "mode": "TADRIB_MISTRAL_MODE",
    "server_url": "TADRIB_MISTRAL_URL",
    "api_key_env": "TADRIB_MISTRAL_KEY_ENV",
    "model": "TADRIB_MISTRAL_MODEL",
    "embed_model": "TADRIB_MISTRAL_EMBED_MODEL",
    "timeout_ms": "TADRIB_MISTRAL_TIMEOUT_MS",
}
"""The environment variable that sets each setting."""

_DEFAULTS: dict[Mode, dict[str, Any]] = {
    "hosted": {"server_url": HOSTED_URL, "api_key_env": "MISTRAL_API_KEY",
               "model": "mistral-small-latest", "embed_model": "mistral-embed"},
    "self-hosted": {"api_key_env": "MISTRAL_API_KEY",
                    "model": "mistral-small-latest", "embed_model": "mistral-embed"},
    "classroom": {"server_url": f"http://127.0.0.1:{DEFAULT_PORT}", "api_key_env": CLASSROOM_KEY_ENV,
                  "model": "tadrib-classroom-small", "embed_model": "tadrib-classroom-embed"},
}


class MistralConfigError(Exception):
    """A configuration problem, told in French with its fix; notebooks show the message alone."""

    def _render_traceback_(self) -> list[str]:
        """IPython calls this instead of printing a traceback."""
        return [f"{type(self).__name__}: {self}"]


class MistralKeyMissing(MistralConfigError):
    """The hosted API was chosen but the environment variable for its key is unset."""

    def __init__(self, variable: str) -> None:
        super().__init__(
            f"Clé d'API Mistral introuvable : la variable d'environnement {variable} n'est pas "
            "définie. Créez une clé sur https://console.mistral.ai/api-keys, puis, dans un "
            f"terminal, lancez « export {variable}=votre-clé » avant de démarrer JupyterLab "
            "(sur JupyterHub, demandez à votre formateur de l'ajouter à votre environnement). "
            "N'écrivez jamais la clé dans un notebook. Hors ligne, utilisez le serveur de classe : "
            "« tadrib mistral serve » puis « export TADRIB_MISTRAL_MODE=classroom »."
        )
        self.variable = variable


def load_settings(
    *,
    environ: Mapping[str, str] | None = None,
    workspace: Path | str | None = None,
    **explicit: str | int | None,
) -> MistralSettings:
    """Resolve the settings: ``explicit`` keyword arguments, then environment, then workspace file."""
    env = os.environ if environ is None else environ
    unknown = set(explicit) - set(ENVIRONMENT)
    if unknown:
        raise TypeError(f"unknown Mistral settings: {', '.join(sorted(unknown))}")
    from_file = _read_workspace_table(_workspace_file(env, workspace))
    raw: dict[str, Any] = {}
    for name, variable in ENVIRONMENT.items():
        for value in (explicit.get(name), env.get(variable) or None, from_file.get(name)):
            if value is not None:
                raw[name] = value
                break
    return _resolve(raw)


def api_key(settings: MistralSettings, environ: Mapping[str, str] | None = None) -> str | None:
    """The key to send; :class:`MistralKeyMissing` when the hosted API has none."""
    env = os.environ if environ is None else environ
    key = (env.get(settings.api_key_env) or "").strip() or None
    if key is None and settings.mode == "classroom":
        return DEFAULT_API_KEY
    if key is None and settings.mode == "hosted":
        raise MistralKeyMissing(settings.api_key_env)
    return key


def client(settings: MistralSettings | None = None) -> Mistral:
    """A ``mistralai`` client for the configured endpoint (:func:`load_settings` when not given)."""
    resolved = settings or load_settings()
    key = api_key(resolved)
    uds = os.environ.get("TADRIB_MISTRAL_UDS")  # inside the grading sandbox: the only way out
    http = httpx.Client(transport=httpx.HTTPTransport(uds=uds)) if uds else None  # an HttpClient
    return Mistral(
        api_key=key if key is not None else _no_key,
        server_url=resolved.server_url,
        timeout_ms=resolved.timeout_ms,
        client=cast(Any, http),
    )


def _no_key() -> str | None:
    """Sends no key: given ``None``, the SDK would fall back to ``MISTRAL_API_KEY``, and so leak
    the hosted key to a self-hosted server configured with another variable."""
    return None


def classroom_environment(url: str, key: str = DEFAULT_API_KEY) -> dict[str, str]:
    """The environment variables that point notebooks at a classroom server at ``url``."""
    return {ENVIRONMENT["mode"]: "classroom", ENVIRONMENT["server_url"]: url, CLASSROOM_KEY_ENV: key}


def endpoint_configured(
    environ: Mapping[str, str] | None = None, workspace: Path | str | None = None
) -> bool:
    """Whether an endpoint was chosen: by mode or URL variable, workspace table, or hosted key."""
    env = os.environ if environ is None else environ
    chosen = env.get(ENVIRONMENT["mode"]) or env.get(ENVIRONMENT["server_url"])
    hosted_key = env.get("MISTRAL_API_KEY")
    return bool(chosen or hosted_key or _read_workspace_table(_workspace_file(env, workspace)))


def settings_reference() -> str:
    """The settings as a Markdown table (setting, environment variable, meaning) for the docs."""
    rows = ["| setting (`[mistral]` key) | environment variable | meaning |", "|---|---|---|"]
    for item in fields(MistralSettings):
        rows.append(f"| `{item.name}` | `{ENVIRONMENT[item.name]}` | {item.metadata['doc']} |")
    return "\n".join(rows)


def _resolve(raw: dict[str, Any]) -> MistralSettings:
    mode = raw.get("mode") or ("self-hosted" if raw.get("server_url") else "hosted")
    if mode not in MODES:
        raise MistralConfigError(
            f"Mode Mistral inconnu : {mode!r}. Choisissez parmi {', '.join(MODES)} "
            f"({ENVIRONMENT['mode']} ou la clé « mode » de [mistral] dans {SETTINGS_FILE})."
        )
    values = {**_DEFAULTS[cast(Mode, mode)], "timeout_ms": 60_000, **raw, "mode": mode}
    url = str(values.get("server_url") or "")
    if not url.startswith(("http://", "https://")):
        raise MistralConfigError(
            f"Adresse du serveur Mistral manquante ou invalide pour le mode {mode} : {url!r}. "
            f"Donnez une URL http(s) dans {ENVIRONMENT['server_url']} ou « server_url »."
        )
    try:
        timeout = int(values["timeout_ms"])
    except ValueError as exc:
        raise MistralConfigError(
            f"timeout_ms doit être un entier (millisecondes), pas {values['timeout_ms']!r}."
        ) from exc
    text = {name: str(values[name]) for name in ("api_key_env", "model", "embed_model")}
    return MistralSettings(mode=mode, server_url=url.rstrip("/"), timeout_ms=timeout, **text)


def _workspace_file(env: Mapping[str, str], workspace: Path | str | None) -> Path:
    root = Path(workspace or env.get(WORKSPACE_ENV) or DEFAULT_WORKSPACE)
    return root / SETTINGS_FILE


def _read_workspace_table(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("mistral", {})
    except tomllib.TOMLDecodeError as exc:
        raise MistralConfigError(f"{path} n'est pas un fichier TOML valide : {exc}") from exc
    if not isinstance(table, dict):
        raise MistralConfigError(f"{path} : [mistral] doit être une table.")
    if "api_key" in table:
        raise MistralConfigError(
            f"{path} : [mistral] contient une clé d'API. Retirez-la : mettez la clé dans une "
            "variable d'environnement et donnez son nom dans « api_key_env »."
        )
    unknown = sorted(set(table) - set(ENVIRONMENT))
    if unknown:
        raise MistralConfigError(
            f"{path} : réglage(s) inconnu(s) dans [mistral] : {', '.join(unknown)}. "
            f"Réglages possibles : {', '.join(ENVIRONMENT)}."
        )
    return table
