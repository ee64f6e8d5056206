"""OpenAI and OpenAI-compatible servers (Ollama, vLLM, llama.cpp) through `openai.AsyncOpenAI`."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import openai
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionChunk,
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionUserMessageParam,
)
from openai.types.chat.chat_completion_chunk import ChoiceDelta, ChoiceDeltaToolCall

from workers.providers.base import ModelError, ModelInfo, ModelRequest, ProviderConfig
from workers.providers.errors import connection_error, redact, status_error
from workers.providers.events import (
    Finished,
    ModelEvent,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallEnded,
    ToolCallStarted,
    UsageReported,
)
from workers.providers.retry import Backoff, retrying

FINISH_REASONS = {"stop": "stop", "length": "length", "tool_calls": "tool-calls",
                  "function_call": "tool-calls", "content_filter": "content-filter"}
NO_KEY = "not-needed"  # the SDK insists on a key; local servers ignore it


class OpenAIAdapter:
    """A provider of kind `openai` or `openai-compatible` (and the transport of `local`).

    With no `api_key`, `openai` reads `OPENAI_API_KEY`; `openai-compatible` sends a
    placeholder rather than that key, so a real OpenAI key never goes to another server.
    """

    def __init__(self, config: ProviderConfig, *, backoff: Backoff | None = None) -> None:
        self.name = config.name
        self._config = config
        self._backoff = backoff or Backoff()
        self._client: openai.AsyncOpenAI | None = None

    def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        return retrying(lambda: self._attempt(request), self._classify,
                        max_retries=self._config.max_retries, backoff=self._backoff)

    async def list_models(self) -> list[ModelInfo]:
        try:
            page = self._sdk().models.list()
            return [ModelInfo(id=m.id, name=m.id, provider=self.name) async for m in page]
        except Exception as exc:
            error = self._classify(exc)
            if error is None or error is exc:
                raise
            raise error from None  # the SDK's error may quote the key; see retry.retrying

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def _attempt(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        official = self._config.kind == "openai"
        tools = [_tool(t.name, t.description, t.input_schema) for t in request.tools]
        stream = await self._sdk().chat.completions.create(
            model=request.model,
            messages=_messages(request),
            stream=True,
            stream_options={"include_usage": True},
            # OpenAI's reasoning models refuse `max_tokens`; most other servers only know it.
            max_completion_tokens=request.max_tokens if official else openai.omit,
            max_tokens=openai.omit if official else request.max_tokens,
            tools=tools or openai.omit,
        )
        decoder = ChunkDecoder(self.name)
        async with stream:
            async for chunk in stream:
                for event in decoder.feed(chunk):
                    yield event
        for event in decoder.finish():
            yield event

    def _sdk(self) -> openai.AsyncOpenAI:
        if self._client is None:
            key = self._config.api_key
            if key is None and self._config.kind != "openai":
                key = NO_KEY
            try:
                self._client = openai.AsyncOpenAI(
                    api_key=key, base_url=self._config.base_url,
                    max_retries=0,  # ours are the only retries: only before the first event
                    timeout=self._config.timeout_s,
                )
            except openai.OpenAIError as exc:
                raise ModelError(f"model provider '{self.name}' is not configured: "
                                 f"{redact(str(exc), key)}") from None
        return self._client

    def _base_url(self) -> str | None:
        return str(self._client.base_url) if self._client is not None else None

    def _classify(self, exc: Exception) -> ModelError | None:
        key = self._config.api_key
        if isinstance(exc, ModelError):
            return exc
        if isinstance(exc, openai.APIStatusError):
            return status_error(self.name, exc.status_code, exc.body, exc.message,
                                exc.response.headers, key)
        if isinstance(exc, openai.APIConnectionError):
            timed_out = isinstance(exc, openai.APITimeoutError)
            return connection_error(self.name, exc, timed_out=timed_out,
                                    timeout_s=self._config.timeout_s, secret=key,
                                    base_url=self._base_url())
        if isinstance(exc, openai.APIError):  # an error object inside the stream
            return ModelError(f"model provider '{self.name}' reported an error: "
                              f"{redact(exc.message, key)}", retryable=True)
        if isinstance(exc, openai.OpenAIError):
            return ModelError(f"model provider '{self.name}' failed: {redact(str(exc), key)}")
        return None


class ChunkDecoder:
    """Turns `chat.completion.chunk`s into model events.

    A tool call ends when the next one starts or the stream finishes (OpenAI marks no end).
    Usage and `Finished` come out of `finish()`, once the stream is over, because OpenAI
    sends the usage chunk after the chunk with the finish reason.
    """

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self._finish: str | None = None
        self._usage: UsageReported | None = None
        self._calls: dict[int, tuple[str, str, list[str]]] = {}  # index -> id, name, pieces
        self._open: list[int] = []

    def feed(self, chunk: ChatCompletionChunk) -> list[ModelEvent]:
        events: list[ModelEvent] = []
        if chunk.usage is not None:
            self._usage = UsageReported(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
        for choice in chunk.choices[:1]:  # we never ask for n > 1
            reasoning = _reasoning(choice.delta)
            if reasoning:
                events.append(ReasoningDelta(reasoning))
            if choice.delta.content:
                events.append(TextDelta(choice.delta.content))
            for call in choice.delta.tool_calls or []:
                events += self._tool_call(call)
            if choice.finish_reason is not None:
                self._finish = choice.finish_reason
        return events

    def finish(self) -> list[ModelEvent]:
        """The closing events; `ModelError` if the stream ended before a finish reason."""
        if self._finish is None:
            raise ModelError(f"model provider '{self._provider}' ended the stream before the "
                             "answer was finished", retryable=True)
        events = self._end_open_calls()
        if self._usage is not None:
            events.append(self._usage)
        events.append(Finished(FINISH_REASONS.get(self._finish, "other")))
        return events

    def _tool_call(self, delta: ChoiceDeltaToolCall) -> list[ModelEvent]:
        events: list[ModelEvent] = []
        if delta.index not in self._calls:
            events += self._end_open_calls()
            name = (delta.function.name if delta.function else None) or ""
            call_id = delta.id or f"call_{delta.index}"
            self._calls[delta.index] = (call_id, name, [])
            self._open.append(delta.index)
            events.append(ToolCallStarted(call_id, name))
        call_id, _, pieces = self._calls[delta.index]
        arguments = delta.function.arguments if delta.function else None
        if arguments:
            pieces.append(arguments)
            events.append(ToolCallDelta(call_id, arguments))
        return events

    def _end_open_calls(self) -> list[ModelEvent]:
        events: list[ModelEvent] = []
        for index in self._open:
            call_id, name, pieces = self._calls[index]
            events.append(ToolCallEnded(call_id, name, "".join(pieces) or "{}"))
        self._open.clear()
        return events


def _reasoning(delta: ChoiceDelta) -> str | None:
    # Not in OpenAI's schema: vLLM and DeepSeek send `reasoning_content`, Ollama `reasoning`.
    extra = delta.model_extra or {}
    value = extra.get("reasoning_content") or extra.get("reasoning")
    return value if isinstance(value, str) else None


def _messages(request: ModelRequest) -> list[ChatCompletionMessageParam]:
    messages: list[ChatCompletionMessageParam] = []
    if request.system:
        messages.append(ChatCompletionSystemMessageParam(role="system", content=request.system))
    for message in request.messages:
        if message.role == "user":
            messages.append(ChatCompletionUserMessageParam(role="user", content=message.text))
        else:
            messages.append(ChatCompletionAssistantMessageParam(role="assistant",
                                                                content=message.text))
    return messages


def _tool(name: str, description: str,
          schema: dict[str, object]) -> ChatCompletionFunctionToolParam:
    return {"type": "function",
            "function": {"name": name, "description": description, "parameters": schema}}
