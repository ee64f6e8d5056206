"""The model provider interface: requests, model info, configuration and errors."""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator
from typing import Any, Literal, Protocol

from msgspec import Struct

from app.adapters.llm.events import ModelEvent
from app.domain.robots import ReasoningEffort

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


class PromptFile(Struct, frozen=True, kw_only=True):
    """A file a user sent (an image or a PDF): its bytes in `data`, or an https `url` the
    provider fetches. A prompt names a stored file by its `url` (`robots-file:sha256:...`)
    until its bytes are loaded (workers/turns/files.py); adapters get them loaded."""

    media_type: str
    data: bytes | None = None
    url: str | None = None
    filename: str | None = None

    def data_url(self) -> str:
        """The bytes as a `data:` URL, or the https URL when there are none."""
        if self.data is None:
            return self.url or ""
        return f"data:{self.media_type};base64,{base64.b64encode(self.data).decode()}"


class PromptMessage(Struct, frozen=True):
    """One message of the conversation, sent to each provider in its own form.

    An "assistant" message may carry the `tool_calls` it made; the "tool" message right after
    it carries their `tool_results` (its `text` is not sent: no API has a place for it). A
    "user" message may carry `files`, sent before its text (as the AI SDK orders them).
    """

    role: Literal["user", "assistant", "tool"]
    text: str = ""
    tool_calls: list[PromptToolCall] = []  # assistant messages: the calls the model made
    tool_results: list[PromptToolResult] = []  # role "tool": results of the previous calls
    files: list[PromptFile] = []  # user messages: images and PDFs


class ToolSpec(Struct, frozen=True):
    """A tool the model may call; `input_schema` is the JSON Schema of its arguments."""

    name: str
    description: str
    input_schema: dict[str, Any]


class ModelRequest(Struct, frozen=True):
    """One call of a model. `model` is the provider's own id, with no "provider/" prefix.
    `temperature` and `reasoning_effort` None: not sent (the provider's default); each
    adapter says how it sends them."""

    model: str
    system: str
    messages: list[PromptMessage]
    max_tokens: int = 1024
    tools: list[ToolSpec] = []
    temperature: float | None = None
    reasoning_effort: ReasoningEffort | None = None


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
