"""Recording a turn's progress: each finished model step, each tool call's start and
result, a switch of robot. Each is recorded once: a repeat records nothing."""

from __future__ import annotations

from typing import Any

import msgspec

from app.domain.decisions.errors import StaleAttempt
from app.domain.events import (
    Part,
    RobotSwitched,
    StepCompleted,
    ToolCall,
    ToolCallCompleted,
    ToolCallStarted,
    ToolOutcome,
    Usage,
)
from app.domain.session import SessionState, Turn
from app.eventstore import Event


def current_attempt(state: SessionState, turn_id: str, attempt: int) -> Turn:
    """The turn, while `attempt` is its running attempt; else StaleAttempt: another attempt
    has taken the turn over, and this one may record nothing more."""
    turn = state.turn(turn_id)
    if turn is None or turn.status != "running" or turn.attempt != attempt:
        raise StaleAttempt(f"turn {turn_id} attempt {attempt} is no longer current")
    return turn


class RecordStep(msgspec.Struct, frozen=True, kw_only=True):
    turn_id: str
    attempt: int
    step: int
    parts: list[Part]
    tool_calls: list[ToolCall] = []
    usage: Usage = Usage()
    finish_reason: str = "stop"
    history_truncated: int = 0  # messages the token budget left out of the step's prompt


def record_step(state: SessionState, cmd: RecordStep) -> list[Event]:
    """Raises StaleAttempt when another attempt has taken the turn over."""
    turn = current_attempt(state, cmd.turn_id, cmd.attempt)
    if len(turn.steps) >= cmd.step:
        return []
    return [StepCompleted(turn_id=cmd.turn_id, attempt=cmd.attempt, step=cmd.step,
                          parts=cmd.parts, tool_calls=cmd.tool_calls, usage=cmd.usage,
                          finish_reason=cmd.finish_reason,
                          history_truncated=cmd.history_truncated)]


class StartToolCalls(msgspec.Struct, frozen=True, kw_only=True):
    turn_id: str
    attempt: int
    calls: list[ToolCall]


def start_tool_calls(state: SessionState, cmd: StartToolCalls) -> list[Event]:
    """One start per call not yet started nor answered. Raises StaleAttempt."""
    turn = current_attempt(state, cmd.turn_id, cmd.attempt)
    return [ToolCallStarted(turn_id=cmd.turn_id, attempt=cmd.attempt, call_id=c.call_id,
                            name=c.name)
            for c in cmd.calls
            if c.call_id not in turn.started_calls and turn.result(c.call_id) is None]


class CompleteToolCall(msgspec.Struct, frozen=True, kw_only=True):
    turn_id: str
    attempt: int
    call_id: str
    name: str
    outcome: ToolOutcome
    output: dict[str, Any] | None = None
    error: str | None = None


def complete_tool_call(state: SessionState, cmd: CompleteToolCall) -> list[Event]:
    """The call's one result; a second result for it records nothing. Raises StaleAttempt."""
    turn = current_attempt(state, cmd.turn_id, cmd.attempt)
    if turn.result(cmd.call_id) is not None:
        return []
    return [ToolCallCompleted(turn_id=cmd.turn_id, attempt=cmd.attempt, call_id=cmd.call_id,
                              name=cmd.name, outcome=cmd.outcome, output=cmd.output,
                              error=cmd.error)]


class SwitchRobot(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    robot_id: str
    turn_id: str | None = None
    switched_by: str | None = None


def switch_robot(state: SessionState, cmd: SwitchRobot) -> list[Event]:
    if state.robot_id == cmd.robot_id:
        return []
    return [RobotSwitched(session_id=cmd.session_id, robot_id=cmd.robot_id,
                          turn_id=cmd.turn_id, switched_by=cmd.switched_by)]
