"""Helpers for provider tests: run a stream, pick events apart."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from app.adapters.llm import (
    ModelError,
    ModelEvent,
    ModelProvider,
    ModelRequest,
    PromptMessage,
    PromptToolCall,
    PromptToolResult,
    ReasoningDelta,
    TextDelta,
    ToolSpec,
)

E = TypeVar("E")

NOW = '{"now": "2025-06-01T12:00:00Z"}'

# Two parallel calls (one with broken arguments, one with an array), their results (one an
# error), then the user speaks again.
HISTORY = [
    PromptMessage("user", "What time is it, and find the wiki?"),
    PromptMessage("assistant", "Let me check.", tool_calls=[
        PromptToolCall("call_1", "current_time", '{"tz": "UTC"}'),
        PromptToolCall("call_2", "search", '{"query": "wiki'),
        PromptToolCall("call_3", "search", "[1, 2]"),
    ]),
    PromptMessage("tool", tool_results=[
        PromptToolResult("call_1", "current_time", NOW),
        PromptToolResult("call_2", "search", "the arguments were not JSON", is_error=True),
        PromptToolResult("call_3", "search", "[]"),
    ]),
    PromptMessage("user", "Thanks. And tomorrow?"),
]

MODEL_OF = {"anthropic": "claude-test", "openai": "gpt-test", "openai-compatible": "llama-test"}


def request_for(kind: str, prompt: str = "Hello there", *, system: str = "Be brief.",
                max_tokens: int = 256, tools: list[ToolSpec] | None = None) -> ModelRequest:
    return ModelRequest(model=MODEL_OF.get(kind, kind), system=system,
                        messages=[PromptMessage(role="user", text=prompt)],
                        max_tokens=max_tokens, tools=tools or [])


async def collect(provider: ModelProvider, request: ModelRequest) -> list[ModelEvent]:
    return [event async for event in provider.stream(request)]


async def collect_until_error(provider: ModelProvider,
                              request: ModelRequest) -> tuple[list[ModelEvent], ModelError]:
    """The events yielded before the stream raised, and the error (fails if none)."""
    events: list[ModelEvent] = []
    try:
        async for event in provider.stream(request):
            events.append(event)
    except ModelError as error:
        return events, error
    raise AssertionError(f"the stream ended without a ModelError: {events}")


def of_type(events: Sequence[ModelEvent], kind: type[E]) -> list[E]:
    return [e for e in events if isinstance(e, kind)]


def text_of(events: list[ModelEvent]) -> str:
    return "".join(e.text for e in of_type(events, TextDelta))


def reasoning_of(events: list[ModelEvent]) -> str:
    return "".join(e.text for e in of_type(events, ReasoningDelta))
