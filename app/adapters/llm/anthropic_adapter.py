"""Anthropic's Messages API through `anthropic.AsyncAnthropic`."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncGenerator
from typing import Any, cast

import anthropic
import httpx2
from anthropic.types import (
    AssistantMessageParam,
    DocumentBlockParam,
    ImageBlockParam,
    InputJSONDelta,
    MessageParam,
    OutputConfigParam,
    RawContentBlockDelta,
    RawMessageStreamEvent,
    TextBlock,
    TextBlockParam,
    ThinkingDelta,
    ToolParam,
    ToolResultBlockParam,
    ToolUseBlockParam,
    UserMessageParam,
)
from anthropic.types import TextDelta as AnthropicTextDelta

from app.adapters.llm.base import (
    ModelError,
    ModelInfo,
    ModelRequest,
    PromptFile,
    PromptMessage,
    PromptToolResult,
    ProviderConfig,
)
from app.adapters.llm.errors import connection_error, redact, status_error
from app.adapters.llm.events import (
    Finished,
    ModelEvent,
    ReasoningDelta,
    TextDelta,
    ToolInputDelta,
    ToolInputEnded,
    ToolInputStarted,
    UsageReported,
)
from app.adapters.llm.retry import Backoff, retrying, retrying_call
from app.domain.tool_input import as_object

STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
                "model_context_window_exceeded": "length", "tool_use": "tool-calls",
                "refusal": "content-filter", "pause_turn": "other"}


class AnthropicAdapter:
    """A provider of kind `anthropic`. With no `api_key` the SDK reads `ANTHROPIC_API_KEY`."""

    def __init__(self, config: ProviderConfig, *, backoff: Backoff | None = None) -> None:
        self.name = config.name
        self._config = config
        self._backoff = backoff or Backoff()
        self._client: anthropic.AsyncAnthropic | None = None

    def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        return retrying(lambda: self._attempt(request), self._classify,
                        max_retries=self._config.max_retries, backoff=self._backoff)

    async def complete(self, request: ModelRequest) -> str:
        return await retrying_call(lambda: self._complete(request), self._classify,
                                   max_retries=self._config.max_retries, backoff=self._backoff)

    async def list_models(self) -> list[ModelInfo]:
        try:
            page = self._sdk().models.list()
            return [ModelInfo(id=m.id, name=m.display_name, provider=self.name)
                    async for m in page]
        except Exception as exc:
            error = self._classify(exc)
            if error is None or error is exc:
                raise
            raise error from None  # the SDK's error may quote the key; see retry.retrying

    async def warm(self) -> None:
        """See ModelProvider.warm; `messages` is imported on first use, so touch it too."""

        def build() -> None:
            with contextlib.suppress(anthropic.AnthropicError):
                _ = self._sdk().messages

        await asyncio.to_thread(build)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def _complete(self, request: ModelRequest) -> str:
        tools = [ToolParam(name=t.name, description=t.description, input_schema=t.input_schema)
                 for t in request.tools]
        message = await self._sdk().messages.create(
            model=request.model, max_tokens=request.max_tokens,
            system=request.system or anthropic.omit, messages=_messages(request),
            tools=tools or anthropic.omit, output_config=_output_config(request))
        return "".join(b.text for b in message.content if isinstance(b, TextBlock))

    async def _attempt(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        tools = [ToolParam(name=t.name, description=t.description, input_schema=t.input_schema)
                 for t in request.tools]
        stream = await self._sdk().messages.create(
            model=request.model,
            max_tokens=request.max_tokens,
            system=request.system or anthropic.omit,
            messages=_messages(request),
            tools=tools or anthropic.omit,
            output_config=_output_config(request),
            stream=True,
        )
        decoder = EventDecoder(self.name)
        async with stream:
            async for event in stream:
                for model_event in decoder.feed(event):
                    yield model_event
        for model_event in decoder.finish():
            yield model_event

    def _sdk(self) -> anthropic.AsyncAnthropic:
        if self._client is None:
            self._client = anthropic.AsyncAnthropic(
                api_key=self._config.api_key, base_url=self._config.base_url,
                max_retries=0,  # ours are the only retries: only before the first event
                timeout=self._config.timeout_s,
                # The same transport as OpenAIAdapter's, for the same reason.
                http_client=anthropic.DefaultAioHttpClient(),
            )
        return self._client

    def _base_url(self) -> str | None:
        return str(self._client.base_url) if self._client is not None else None

    def _classify(self, exc: Exception) -> ModelError | None:
        key = self._config.api_key
        timeout_s = self._config.timeout_s
        if isinstance(exc, ModelError):
            return exc
        if isinstance(exc, anthropic.APIStatusError):
            return status_error(self.name, exc.status_code, exc.body, exc.message,
                                exc.response.headers, key)
        # The SDK does not wrap its transport's errors mid-stream.
        if isinstance(exc, anthropic.APIConnectionError | httpx2.TransportError):
            return connection_error(self.name, exc, timeout_s=timeout_s, secret=key,
                                    base_url=self._base_url())
        if isinstance(exc, anthropic.AnthropicError):
            return ModelError(f"model provider '{self.name}' failed: {redact(str(exc), key)}")
        if isinstance(exc, TypeError) and "authentication" in str(exc).lower():
            # The SDK raises TypeError when it finds no API key anywhere.
            return ModelError(f"model provider '{self.name}' has no API key: set one on the "
                              "provider or ANTHROPIC_API_KEY")
        return None


def _output_config(request: ModelRequest) -> OutputConfigParam | anthropic.Omit:
    """The robot's reasoning effort as Anthropic's own `effort`, the same three levels.

    Not a thinking budget: `thinking: enabled` with `budget_tokens` is deprecated on
    current models, and thinking turned on here would make a tool loop send each step's
    signed thinking blocks back, which prompts do not keep; thinking stays at the model's
    default. No temperature either: the API version SDK 2.x sends (2026-10-21) refuses
    every sampling parameter, so a robot's temperature reaches OpenAI-style models only."""
    if request.reasoning_effort is None:
        return anthropic.omit
    return OutputConfigParam(effort=request.reasoning_effort)


def _messages(request: ModelRequest) -> list[MessageParam]:
    """The conversation in Anthropic's form. Tool results travel in a user message, first in
    it (Anthropic rejects a user message that puts them after text), so a "tool" message and
    the user message after it become one message."""
    messages: list[MessageParam] = []
    results: list[ToolResultBlockParam] = []  # waiting for the next user message

    def flush(user: PromptMessage | None = None) -> None:
        text, files = (user.text, user.files) if user else ("", [])
        if results or files:  # the results, the files, then the text
            blocks = [TextBlockParam(type="text", text=text)] if text else []
            messages.append(UserMessageParam(role="user", content=[
                *results, *map(_file_block, files), *blocks]))
            results.clear()
        elif text:
            messages.append(UserMessageParam(role="user", content=text))

    for message in request.messages:
        if message.role == "tool":
            results += [_tool_result(r) for r in message.tool_results]
        elif message.role == "user":
            flush(message)
        else:
            flush()
            messages.append(_assistant(message))
    flush()
    return messages


def _assistant(message: PromptMessage) -> AssistantMessageParam:
    if not message.tool_calls:
        return AssistantMessageParam(role="assistant", content=message.text)
    text = [TextBlockParam(type="text", text=message.text)] if message.text else []
    calls = [ToolUseBlockParam(type="tool_use", id=c.call_id, name=c.name,
                               input=as_object(c.arguments))
             for c in message.tool_calls]
    return AssistantMessageParam(role="assistant", content=[*text, *calls])


def _file_block(file: PromptFile) -> ImageBlockParam | DocumentBlockParam:
    """An image block, or a document block for a PDF; the bytes as base64, else the URL."""
    source: dict[str, str] = (
        {"type": "url", "url": file.url or ""} if file.data is None else
        {"type": "base64", "media_type": file.media_type,
         "data": base64.b64encode(file.data).decode()})
    if file.media_type != "application/pdf":
        return ImageBlockParam(type="image", source=cast(Any, source))
    document = DocumentBlockParam(type="document", source=cast(Any, source))
    if file.filename:
        document["title"] = file.filename
    return document


def _tool_result(result: PromptToolResult) -> ToolResultBlockParam:
    return ToolResultBlockParam(type="tool_result", tool_use_id=result.call_id,
                                content=result.output, is_error=result.is_error)


class EventDecoder:
    """Turns Anthropic stream events into model events.

    Usage comes from `message_start` (input) and `message_delta` (cumulative totals);
    usage and `Finished` come out of `finish()`, which insists on a `message_stop`.
    """

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self._calls: dict[int, tuple[str, str, list[str]]] = {}  # index -> id, name, pieces
        self._input_tokens = 0
        self._output_tokens = 0
        self._stop_reason: str | None = None
        self._stopped = False

    def feed(self, event: RawMessageStreamEvent) -> list[ModelEvent]:
        if event.type == "message_start":
            self._input_tokens = event.message.usage.input_tokens
            self._output_tokens = event.message.usage.output_tokens
        elif event.type == "content_block_start":
            block = event.content_block
            if block.type == "tool_use":
                self._calls[event.index] = (block.id, block.name, [])
                return [ToolInputStarted(block.id, block.name)]
        elif event.type == "content_block_delta":
            return self._delta(event.index, event.delta)
        elif event.type == "content_block_stop" and event.index in self._calls:
            call_id, name, pieces = self._calls.pop(event.index)
            return [ToolInputEnded(call_id, name, "".join(pieces) or "{}")]
        elif event.type == "message_delta":
            self._stop_reason = event.delta.stop_reason
            self._output_tokens = event.usage.output_tokens
            if event.usage.input_tokens is not None:
                self._input_tokens = event.usage.input_tokens
        elif event.type == "message_stop":
            self._stopped = True
        return []

    def finish(self) -> list[ModelEvent]:
        """The closing events; `ModelError` if the stream ended before `message_stop`."""
        if not self._stopped:
            raise ModelError(f"model provider '{self._provider}' ended the stream before the "
                             "answer was finished", retryable=True)
        reason = STOP_REASONS.get(self._stop_reason or "", "other")
        return [UsageReported(self._input_tokens, self._output_tokens), Finished(reason)]

    def _delta(self, index: int, delta: RawContentBlockDelta) -> list[ModelEvent]:
        if isinstance(delta, AnthropicTextDelta):
            return [TextDelta(delta.text)]
        if isinstance(delta, ThinkingDelta):
            return [ReasoningDelta(delta.thinking)]
        if isinstance(delta, InputJSONDelta) and delta.partial_json and index in self._calls:
            call_id, _, pieces = self._calls[index]
            pieces.append(delta.partial_json)
            return [ToolInputDelta(call_id, delta.partial_json)]
        return []  # signature and citation deltas carry nothing we stream
