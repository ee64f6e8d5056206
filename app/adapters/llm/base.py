"""The model provider interface: requests, model info, configuration and errors."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, Literal, Protocol

from msgspec import Struct

from app.adapters.llm.events import ModelEvent

ProviderKind = Literal["anthropic", "openai", "openai-compatible", "local"]


class PromptToolCall(Struct, frozen=True):
    """A tool call the model made earlier in the conversation."""

    call_id: str
    name: str
    # The call's JSON arguments as text, as the model sent them (may be invalid JSON).
    arguments: str


class PromptToolResult(Struct, frozen=True):
    """What a tool gave back for the call `call_id`."""

    call_id: str
    name: str
    output: str  # what the tool gave back, as text (JSON text for structured outputs)
    is_error: bool = False


class PromptMessage(Struct, frozen=True):
    """One message of the conversation, sent to each provider in its own form.

    An "assistant" message may carry the `tool_calls` it made; the "tool" message right after
    it carries their `tool_results` (its `text` is not sent: no API has a place for it).
    """

    role: Literal["user", "assistant", "tool"]
    text: str = ""
    tool_calls: list[PromptToolCall] = []  # assistant messages: the calls the model made
    tool_results: list[PromptToolResult] = []  # role "tool": results of the previous calls


class ToolSpec(Struct, frozen=True):
    """A tool the model may call; `input_schema` is the JSON Schema of its arguments."""

    name: str
    description: str
    input_schema: dict[str, Any]


class ModelRequest(Struct, frozen=True):
    """One call of a model. `model` is the provider's own id, with no "provider/" prefix."""

    model: str
    system: str
    messages: list[PromptMessage]
    max_tokens: int = 1024
    tools: list[ToolSpec] = []


class ModelInfo(Struct, frozen=True):
    id: str
    name: str
    provider: str


class ProviderConfig(Struct, frozen=True):
    """How to reach one provider.

    `api_key` None: the SDK's own environment variable (`ANTHROPIC_API_KEY`,
    `OPENAI_API_KEY`), or no key at all for `openai-compatible` and `local`.
    `base_url` None: the SDK's default, or its `ANTHROPIC_BASE_URL` / `OPENAI_BASE_URL`.
    `max_retries`: extra attempts on 429, 5xx and connection errors before any output.
    `timeout_s`: per request, and per read while streaming.
    """

    name: str
    kind: ProviderKind
    api_key: str | None = None
    base_url: str | None = None
    max_retries: int = 3
    timeout_s: float = 60.0


class ModelError(Exception):
    """A model call failed for good: the adapter has already retried what it could.

    `str(error)` is a sentence fit for a user or a log and never contains the API key.
    `status` is the HTTP status when there was one. `retryable` says whether the same
    request could succeed later (overload, rate limit, lost connection), not that the
    adapter will retry it. `attempts` is how many requests were made.
    """

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False,
                 retry_after_s: float | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        self.attempts = attempts

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep every field when the error is pickled (arq hands job errors around that way).
        return (_rebuild_model_error, (self.message, self.status, self.retryable,
                                       self.retry_after_s, self.attempts))


def _rebuild_model_error(message: str, status: int | None, retryable: bool,
                         retry_after_s: float | None, attempts: int) -> ModelError:
    return ModelError(message, status=status, retryable=retryable, retry_after_s=retry_after_s,
                      attempts=attempts)


class ModelProvider(Protocol):
    """A configured model provider. Build one with `build_provider`; close it with `aclose`.

    `stream` yields `ModelEvent`s and ends with `Finished`, or raises `ModelError`.
    Retries happen inside, and only before the first event, so no text is ever repeated.
    """

    name: str

    def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]: ...
    async def complete(self, request: ModelRequest) -> str:
        """The answer's whole text from one call that is not streamed (for work nobody
        watches, such as a summary). Retried inside as `stream` is; raises `ModelError`."""
        ...
    async def list_models(self) -> list[ModelInfo]: ...
    async def warm(self) -> None:
        """Do the slow one-time setup (SDK imports, TLS) now, off the event loop, so the
        first turn does not stall the worker; a provider that cannot be built yet says so
        when a turn uses it."""
    async def aclose(self) -> None: ...
