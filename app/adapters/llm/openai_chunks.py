"""OpenAI's `chat.completion.chunk`, decoded with msgspec, and turned into model events.

Only the fields we read are declared; msgspec skips the rest without building them.
"""

from __future__ import annotations

from typing import Any

import msgspec
import openai

from app.adapters.llm.base import ModelError
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

FINISH_REASONS = {"stop": "stop", "length": "length", "tool_calls": "tool-calls",
                  "function_call": "tool-calls", "content_filter": "content-filter"}


class Function(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class ToolCall(msgspec.Struct):
    index: int = 0
    id: str | None = None
    function: Function | None = None


class Delta(msgspec.Struct):
    content: str | None = None
    # Not in OpenAI's schema: vLLM and DeepSeek send `reasoning_content`, Ollama `reasoning`.
    reasoning_content: str | None = None
    reasoning: str | None = None
    tool_calls: list[ToolCall] | None = None


class Choice(msgspec.Struct):
    delta: Delta = msgspec.field(default_factory=Delta)
    finish_reason: str | None = None


class Usage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Chunk(msgspec.Struct):
    choices: list[Choice] = []
    usage: Usage | None = None
    error: Any = None  # a server's error object inside a 200 stream


_decoder = msgspec.json.Decoder(Chunk)


def decode_chunk(data: bytes, request: Any) -> Chunk:
    """One event's data; an error object is raised as the SDK raises it."""
    chunk = _decoder.decode(data)
    if chunk.error:
        message = chunk.error.get("message") if isinstance(chunk.error, dict) else None
        raise openai.APIError(message if isinstance(message, str) and message
                              else "An error occurred during streaming", request,
                              body=chunk.error)
    return chunk


class ChunkDecoder:
    """Turns chunks into model events.

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

    def feed(self, chunk: Chunk) -> list[ModelEvent]:
        events: list[ModelEvent] = []
        if chunk.usage is not None:
            self._usage = UsageReported(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
        for choice in chunk.choices[:1]:  # we never ask for n > 1
            delta = choice.delta
            reasoning = delta.reasoning_content or delta.reasoning
            if reasoning:
                events.append(ReasoningDelta(reasoning))
            if delta.content:
                events.append(TextDelta(delta.content))
            for call in delta.tool_calls or ():
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

    def _tool_call(self, delta: ToolCall) -> list[ModelEvent]:
        events: list[ModelEvent] = []
        if delta.index not in self._calls:
            events += self._end_open_calls()
            name = (delta.function.name if delta.function else None) or ""
            call_id = delta.id or f"call_{delta.index}"
            self._calls[delta.index] = (call_id, name, [])
            self._open.append(delta.index)
            events.append(ToolInputStarted(call_id, name))
        call_id, _, pieces = self._calls[delta.index]
        arguments = delta.function.arguments if delta.function else None
        if arguments:
            pieces.append(arguments)
            events.append(ToolInputDelta(call_id, arguments))
        return events

    def _end_open_calls(self) -> list[ModelEvent]:
        events: list[ModelEvent] = []
        for index in self._open:
            call_id, name, pieces = self._calls[index]
            events.append(ToolInputEnded(call_id, name, "".join(pieces) or "{}"))
        self._open.clear()
        return events
