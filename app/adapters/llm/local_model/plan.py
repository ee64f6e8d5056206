"""Reply plans: the exact deltas, finish reason and usage of one answer, decided up front.

`plan_reply` is pure, so tests can predict every byte the wire encoders stream.
"""

from __future__ import annotations

from msgspec import Struct

from app.adapters.llm.local_model.conversation import Prompt
from app.adapters.llm.local_model.habits import habit_for
from app.adapters.llm.local_model.script import (
    DEFAULT_TOKENS,
    FinishReason,
    Script,
    ScriptedToolCall,
    default_reply,
    split_pieces,
    split_tokens,
)


class PlannedToolCall(Struct, frozen=True):
    call_id: str
    name: str
    pieces: tuple[str, ...]


class Plan(Struct, frozen=True):
    """The exact deltas of one answer; concatenating each tuple gives the full text."""

    reasoning: tuple[str, ...]
    text: tuple[str, ...]
    tool_calls: tuple[PlannedToolCall, ...]
    finish_reason: FinishReason
    input_tokens: int
    output_tokens: int

    @property
    def full_text(self) -> str:
        return "".join(self.text)


def plan_reply(script: Script, prompt: Prompt) -> Plan:
    """Decide the exact deltas, finish reason and usage of the answer to `prompt`."""
    text, scripted_calls = script.text, script.tool_calls
    if text is None and not scripted_calls:
        habit = habit_for(prompt)
        if habit is not None:
            text, scripted_calls = habit.text, habit.tool_calls
    if text is None:
        text = default_reply(prompt.last_user_text, script.tokens or DEFAULT_TOKENS)
    tokens = split_tokens(text)
    truncated = prompt.max_tokens is not None and len(tokens) > prompt.max_tokens
    if truncated and prompt.max_tokens is not None:
        tokens = tokens[: prompt.max_tokens]
    reasoning = tuple(split_tokens(script.reasoning or ""))
    calls = () if truncated else _planned_calls(scripted_calls, prompt.said)
    finish: FinishReason = "length" if truncated else "tool_calls" if calls else "stop"
    output = len(reasoning) + len(tokens) + sum(len(c.pieces) for c in calls)
    return Plan(
        reasoning=reasoning,
        text=tuple(tokens),
        tool_calls=calls,
        finish_reason=script.finish_reason or finish,
        input_tokens=prompt.input_words if script.input_tokens is None else script.input_tokens,
        output_tokens=output if script.output_tokens is None else script.output_tokens,
    )


def _planned_calls(calls: tuple[ScriptedToolCall, ...],
                   said: int) -> tuple[PlannedToolCall, ...]:
    # An unscripted id counts the things said too: each step of a multi-step turn grows the
    # conversation, so its calls get ids no earlier step used.
    return tuple(
        PlannedToolCall(
            call_id=call.call_id or f"call_local_{said}_{i}",
            name=call.name,
            pieces=tuple(split_pieces(call.arguments, call.pieces)),
        )
        for i, call in enumerate(calls)
    )
