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
    ReasoningDelta,
    TextDelta,
    ToolSpec,
)

E = TypeVar("E")

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
