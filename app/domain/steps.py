"""A turn is a loop of steps: what the turn does next, given what the log holds, and the
assistant message its steps make. Pure: the worker asks, then does what it is told."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import msgspec

from app.domain.events import (
    AwaitedCall,
    Part,
    StepCompleted,
    ToolCall,
    ToolCallCompleted,
    Usage,
    WaitKind,
)
from app.domain.session import Turn

STEP_LIMIT_REASON = "step-limit"
UNKNOWN_OUTCOME = ("the tool {name} was cut off while it ran (its worker stopped) and may or"
                   " may not have taken effect; it was not run again because it is not"
                   " safe to repeat")


class NextMove(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["ask-model", "run-tools", "wait", "finish"]
    step: int = 0  # "ask-model": the step to ask for
    to_run: list[ToolCall] = []  # "run-tools": calls to run (or to answer with their error)
    unknown: list[ToolCall] = []  # "run-tools": calls that may have run; not run again
    awaited: list[AwaitedCall] = []  # "wait": calls that need a person or the client
    finish_reason: str = "stop"  # "finish"


# Whether a call must wait, and for what (None: the server runs it now). The worker knows
# the tools and the session's options; the decision below only asks.
WaitFor = Callable[[str], WaitKind | None]


def _runs_now(name: str) -> WaitKind | None:
    return None


def approval_id(call_id: str) -> str:
    return f"approval-{call_id}"


def next_move(turn: Turn, max_steps: int, idempotent: Callable[[str], bool],
              wait_for: WaitFor = _runs_now) -> NextMove:
    """Ask the model for the next step, run the last step's open tool calls, wait for the
    answers some of them need, or finish.

    A call whose start was recorded but whose result was not (its worker died mid-run)
    runs again only if its tool is idempotent; otherwise its outcome is unknown. Calls
    that need nothing run before the turn waits on the others."""
    if not turn.steps:
        return NextMove(kind="ask-model", step=1)
    last = turn.steps[-1]
    open_calls = [c for c in last.tool_calls if turn.result(c.call_id) is None]
    if open_calls:
        awaited = [a for c in open_calls if (a := _awaited(turn, c, wait_for)) is not None]
        waiting = {a.call_id for a in awaited}
        ready = [c for c in open_calls if c.call_id not in waiting]
        if not ready:
            return NextMove(kind="wait", awaited=awaited)
        may_have_run = [c for c in ready if c.call_id in turn.started_calls
                        and c.input_error is None and not idempotent(c.name)]
        return NextMove(kind="run-tools", unknown=may_have_run,
                        to_run=[c for c in ready if c not in may_have_run])
    if not last.tool_calls:
        return NextMove(kind="finish", finish_reason=last.finish_reason)
    if len(turn.steps) >= max_steps:
        return NextMove(kind="finish", finish_reason=STEP_LIMIT_REASON)
    return NextMove(kind="ask-model", step=len(turn.steps) + 1)


def _awaited(turn: Turn, call: ToolCall, wait_for: WaitFor) -> AwaitedCall | None:
    """What `call` waits on, or None when it may run now: a call whose input was refused
    is answered with its error at once, and an approved one runs."""
    if call.input_error is not None:
        return None
    kind = wait_for(call.name)
    if kind is None:
        return None
    if kind == "approval":
        answered = turn.approval(call.call_id)
        if answered is not None and answered.approved:
            return None
        return AwaitedCall(call_id=call.call_id, name=call.name, kind="approval",
                           approval_id=approval_id(call.call_id))
    return AwaitedCall(call_id=call.call_id, name=call.name, kind="client")


def tool_part(call: ToolCall, tool_input: dict[str, Any]) -> Part:
    """A call as its step records it: Storyden's `dynamic-tool` part (the AI SDK's shape for
    a tool the client does not know), waiting for its result, or failed at its input."""
    part: Part = {"type": "dynamic-tool", "toolCallId": call.call_id, "toolName": call.name,
                  "state": "input-available", "input": tool_input}
    if call.input_error is not None:
        return {**part, "state": "output-error", "errorText": call.input_error}
    return part


def message_parts(turn: Turn, unfinished: list[Part] | None = None) -> list[Part]:
    """The assistant message: every recorded step's parts, each call in the state its
    result, its approval or its wait left it (the AI SDK's tool part states), then what an
    unfinished step (cancelled, failed) had said."""
    parts: list[Part] = []
    for step in turn.steps:
        for part in step.parts:
            if part.get("type") == "dynamic-tool" and part.get("state") == "input-available":
                part = _call_state(turn, part)
            parts.append(part)
    return parts + (unfinished or [])


def _call_state(turn: Turn, part: Part) -> Part:
    call_id = part["toolCallId"]
    answered = turn.approval(call_id)
    if answered is not None:
        approval: dict[str, Any] = {"id": answered.approval_id, "approved": answered.approved}
        if answered.reason:
            approval["reason"] = answered.reason
        part = {**part, "approval": approval}
    result = turn.result(call_id)
    if result is not None:
        return _with_result(part, result)
    if answered is not None:
        return {**part, "state": "approval-responded"}
    awaited = next((a for a in turn.awaiting if a.call_id == call_id), None)
    if awaited is not None and awaited.kind == "approval":
        return {**part, "state": "approval-requested", "approval": {"id": awaited.approval_id}}
    return part


def _with_result(part: Part, result: ToolCallCompleted) -> Part:
    if result.outcome == "output":
        return {**part, "state": "output-available", "output": result.output or {}}
    if result.outcome == "denied":
        return {**part, "state": "output-denied"}
    return {**part, "state": "output-error", "errorText": result.error or "failed"}


def total_usage(steps: tuple[StepCompleted, ...], extra: Usage | None = None) -> Usage:
    usages = [s.usage for s in steps] + ([extra] if extra else [])
    return Usage(input_tokens=sum(u.input_tokens for u in usages),
                 output_tokens=sum(u.output_tokens for u in usages))
