"""A turn that waits on people and clients: their answers, the wait's timeout, and what a
new message does to it. The log decides: an answer to a call that no longer waits changes
nothing and says why."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from app.domain.decisions.errors import NotWaiting, PartlyAnswered, UnknownTurn
from app.domain.events import (
    AwaitedCall,
    ToolApprovalAnswered,
    ToolCallCompleted,
    TurnCancelled,
    TurnResumed,
)
from app.domain.session import SessionState, Turn
from app.eventstore import Event

NO_ANSWER = "no answer in time"
INTERRUPTED = "a new message came first"
CANCELLED = "the turn was cancelled"


class CallAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """One answer as the client sent it: an approval (the AI SDK's `approval-responded`) or
    a client tool's output (`output-available`, or `output-error` with its text)."""

    call_id: str
    kind: Literal["approval", "output", "error"]
    approval_id: str | None = None
    approved: bool = False
    reason: str | None = None
    output: Any = None
    error: str | None = None


class AnswerCalls(msgspec.Struct, frozen=True, kw_only=True):
    turn_id: str
    answers: list[CallAnswer]
    answered_by: str | None = None


def answer_calls(state: SessionState, cmd: AnswerCalls) -> list[Event]:
    """Every awaited call's answer, then the turn runs on. Raises UnknownTurn, NotWaiting
    (an answer to a call that does not wait: answered before, or never awaited),
    PartlyAnswered (awaited calls left without an answer)."""
    turn = state.turn(cmd.turn_id)
    if turn is None:
        raise UnknownTurn(cmd.turn_id)
    awaited = {a.call_id: a for a in turn.awaiting} if turn.status == "waiting" else {}
    # The client sends its whole message: the outputs of calls already answered are
    # echoes of it, not answers.
    answers = [a for a in cmd.answers if a.call_id in awaited or a.kind == "approval"
               or turn.result(a.call_id) is None]
    if not answers:
        raise NotWaiting(turn.turn_id, [], "the message answers no call that waits"
                         if awaited else f"the turn is {turn.status}, not waiting")
    stray = [a.call_id for a in answers if a.call_id not in awaited]
    if stray:
        raise NotWaiting(turn.turn_id, stray, _why_not(turn, stray[0]))
    given = {a.call_id: a for a in answers}
    missing = [call_id for call_id in awaited if call_id not in given]
    if missing:
        raise PartlyAnswered(turn.turn_id, missing)
    events: list[Event] = []
    for call_id, call in awaited.items():
        events += _recorded(turn, call, given[call_id], cmd.answered_by)
    return [*events, TurnResumed(turn_id=turn.turn_id, resumed_by=cmd.answered_by)]


def _recorded(turn: Turn, call: AwaitedCall, answer: CallAnswer,
              by: str | None) -> list[Event]:
    if call.kind == "approval":
        if answer.kind != "approval" or answer.approval_id != call.approval_id:
            raise NotWaiting(turn.turn_id, [call.call_id],
                             f"it waits on approval {call.approval_id}")
        approval = ToolApprovalAnswered(turn_id=turn.turn_id, call_id=call.call_id,
                                        approval_id=call.approval_id or "",
                                        approved=answer.approved, reason=answer.reason,
                                        answered_by=by)
        if answer.approved:
            return [approval]
        return [approval, _denied(turn, call, _denial(answer.reason))]
    if answer.kind == "approval":
        raise NotWaiting(turn.turn_id, [call.call_id], "it waits on the client's output")
    return [ToolCallCompleted(
        turn_id=turn.turn_id, attempt=turn.attempt, call_id=call.call_id, name=call.name,
        outcome="output" if answer.kind == "output" else "error",
        output=_as_object(answer.output) if answer.kind == "output" else None,
        error=(answer.error or "the client's tool failed") if answer.kind == "error" else None)]


def _why_not(turn: Turn, call_id: str) -> str:
    if turn.result(call_id) is not None or turn.approval(call_id) is not None:
        return "it was answered before"
    if not any(c.call_id == call_id for s in turn.steps for c in s.tool_calls):
        return "the turn made no such call"
    return f"the turn is {turn.status}, not waiting on it"


def _denial(reason: str | None) -> str:
    return f"denied by the user: {reason}" if reason else "denied by the user"


def _denied(turn: Turn, call: AwaitedCall, why: str) -> ToolCallCompleted:
    return ToolCallCompleted(turn_id=turn.turn_id, attempt=turn.attempt, call_id=call.call_id,
                             name=call.name, outcome="denied", error=why)


def _as_object(output: Any) -> dict[str, Any]:
    """A tool output is an object in the log: anything else is wrapped."""
    return output if isinstance(output, dict) else {"result": output}


class ExpireWait(msgspec.Struct, frozen=True, kw_only=True):
    turn_id: str


def expire_wait(state: SessionState, cmd: ExpireWait) -> list[Event]:
    """The sweeper's answer for a wait past its time: every awaited call denied, and the
    turn runs on (its model is told). Nothing when the turn no longer waits."""
    turn = state.turn(cmd.turn_id)
    if turn is None or turn.status != "waiting":
        return []
    events: list[Event] = []
    for call in turn.awaiting:
        if call.kind == "approval":  # denied, as a person who said nothing
            events += [ToolApprovalAnswered(turn_id=turn.turn_id, call_id=call.call_id,
                                            approval_id=call.approval_id or "",
                                            approved=False, reason=NO_ANSWER),
                       _denied(turn, call, NO_ANSWER)]
        else:  # the client's tool gave no output
            events.append(ToolCallCompleted(turn_id=turn.turn_id, attempt=turn.attempt,
                                            call_id=call.call_id, name=call.name,
                                            outcome="error", error=NO_ANSWER))
    return [*events, TurnResumed(turn_id=turn.turn_id)]


def end_wait(turn: Turn, reason: Literal["cancelled", "interrupt"]) -> list[Event]:
    """A waiting turn cancelled, or interrupted by a new message: its awaited calls are
    denied and it ends, cancelled."""
    why = INTERRUPTED if reason == "interrupt" else CANCELLED
    return [*(_denied(turn, call, why) for call in turn.awaiting),
            TurnCancelled(turn_id=turn.turn_id, attempt=turn.attempt, reason=reason)]
