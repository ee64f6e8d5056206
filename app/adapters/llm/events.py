"""What a model provider streams: the same small events for every provider.

A stream is any number of text, reasoning and tool-call events, then at most one
`UsageReported`, then exactly one `Finished`, which is always last. A stream that cannot
finish raises `ModelError` instead of yielding `Finished`.
"""

from __future__ import annotations

from msgspec import Struct


class TextDelta(Struct, frozen=True):
    """The next piece of the answer's text; concatenated deltas are the whole text."""

    text: str


class ReasoningDelta(Struct, frozen=True):
    """The next piece of the model's reasoning (Anthropic thinking, `reasoning_content`)."""

    text: str


class ToolInputStarted(Struct, frozen=True):
    call_id: str
    name: str


class ToolInputDelta(Struct, frozen=True):
    """The next piece of a tool call's JSON arguments, as the model streams them."""

    call_id: str
    arguments_delta: str


class ToolInputEnded(Struct, frozen=True):
    """A tool call is complete; `arguments` is its full JSON text ("{}" when it had none)."""

    call_id: str
    name: str
    arguments: str


class UsageReported(Struct, frozen=True):
    input_tokens: int
    output_tokens: int


class Finished(Struct, frozen=True):
    """The model stopped. `reason` uses the AI SDK's words: "stop", "length",
    "tool-calls", "content-filter", "error" or "other"."""

    reason: str


ModelEvent = (
    TextDelta
    | ReasoningDelta
    | ToolInputStarted
    | ToolInputDelta
    | ToolInputEnded
    | UsageReported
    | Finished
)
