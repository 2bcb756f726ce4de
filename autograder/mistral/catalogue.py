"""The models the classroom server offers: named and described as the offline stand-in they are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OWNER = "tadrib"
STAND_IN_NOTE = (
    "Serveur de classe hors ligne Tadrib : réponses déterministes, pas un modèle Mistral. "
    "Tadrib offline classroom stand-in: deterministic answers, not a Mistral model."
)


@dataclass(frozen=True)
class ClassroomModel:
    """One model id the classroom server answers to."""

    id: str
    """What a request's ``model`` field names."""
    chat: bool
    """Serves ``/v1/chat/completions`` (with JSON mode and tool calls)."""
    embeddings: bool
    """Serves ``/v1/embeddings``."""

    def card(self) -> dict[str, Any]:
        """The model as ``GET /v1/models`` lists it, in Mistral's ``base`` model-card shape."""
        return {
            "id": self.id,
            "object": "model",
            "created": 0,
            "owned_by": OWNER,
            "name": self.id,
            "description": STAND_IN_NOTE,
            "max_context_length": 32768,
            "aliases": [],
            "deprecation": None,
            "default_model_temperature": 0.0,
            "type": "base",
            "capabilities": {
                "completion_chat": self.chat,
                "function_calling": self.chat,
                "completion_fim": False,
                "fine_tuning": False,
                "vision": False,
                "classification": False,
            },
        }


CHAT_MODEL = ClassroomModel(id="tadrib-classroom-small", chat=True, embeddings=False)
EMBED_MODEL = ClassroomModel(id="tadrib-classroom-embed", chat=False, embeddings=True)
MODELS: dict[str, ClassroomModel] = {model.id: model for model in (CHAT_MODEL, EMBED_MODEL)}
