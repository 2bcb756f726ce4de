"""Request bodies the classroom server accepts: the fields of Mistral's API that it reads.

Fields it does not read (penalties, ``prediction``, ``guardrails``...) are accepted and ignored, so
that every version of the ``mistralai`` client works unchanged. Values outside Mistral's ranges are
refused with 422 and the ``detail`` list the client parses into ``HTTPValidationError``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class FunctionSpec(_Lenient):
    """A function the model may call: its name, description and JSON-schema parameters."""

    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)


class ToolSpec(_Lenient):
    """A declared tool (Mistral has only ``function`` tools)."""

    type: Literal["function"] = "function"
    function: FunctionSpec


class FunctionName(_Lenient):
    """The function part of a forced tool choice."""

    name: str


class ForcedTool(_Lenient):
    """``tool_choice`` that names the one function to call."""

    type: Literal["function"] = "function"
    function: FunctionName


class CalledFunction(_Lenient):
    """A function call an earlier assistant message made."""

    name: str
    arguments: dict[str, Any] | str


class ToolCallIn(_Lenient):
    """A tool call an earlier assistant message made."""

    id: str | None = None
    function: CalledFunction


class Message(_Lenient):
    """One chat message; ``content`` is text or a list of content chunks."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None
    name: str | None = None

    def text(self) -> str:
        """The message's text, with the text chunks of a chunked content joined."""
        if isinstance(self.content, str):
            return self.content
        chunks = self.content or []
        return "\n".join(str(c.get("text", "")) for c in chunks if c.get("type") == "text")


class JsonSchemaSpec(_Lenient):
    """The schema of ``response_format`` ``json_schema`` mode."""

    name: str
    schema_: dict[str, Any] = Field(alias="schema")
    strict: bool | None = None


class ResponseFormat(_Lenient):
    """``text`` (default), ``json_object`` (JSON mode) or ``json_schema``."""

    type: Literal["text", "json_object", "json_schema"] = "text"
    json_schema: JsonSchemaSpec | None = None


class ChatRequest(_Lenient):
    """``POST /v1/chat/completions``."""

    model: str
    messages: list[Message] = Field(min_length=1)
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=0)
    stream: bool = False
    random_seed: int | None = Field(default=None, ge=0)
    response_format: ResponseFormat | None = None
    tools: list[ToolSpec] | None = None
    tool_choice: Literal["auto", "none", "any", "required"] | ForcedTool | None = None
    n: int | None = Field(default=None, ge=1, le=1)


class EmbeddingRequest(_Lenient):
    """``POST /v1/embeddings``; only float vectors of the model's own dimension are offered."""

    model: str
    inputs: Annotated[str, Field(min_length=1)] | Annotated[list[str], Field(min_length=1)] = Field(
        alias="input"
    )
    output_dimension: int | None = Field(default=None, ge=1024, le=1024)
    output_dtype: Literal["float"] | None = None
    encoding_format: Literal["float"] | None = None

    def texts(self) -> list[str]:
        """The inputs as a list."""
        return [self.inputs] if isinstance(self.inputs, str) else list(self.inputs)
