"""A turn's life: a worker claims it, finishes it; a person cancels it; the sweeper gives up.

No I/O and no clock: ids, the worker's name and "is the lease alive" arrive on the command.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from app.domain.decisions.errors import TurnActive, TurnWaiting, UnknownTurn
from app.domain.decisions.steps import RecordStep, current_attempt, record_step
from app.domain.decisions.waiting import end_wait
from app.domain.events import (
    AssistantMessageCompleted,
    AwaitedCall,
    Multitask,
    Part,
    TurnBeganWaiting,
    TurnCancelled,
    TurnCancelRequested,
    TurnCompleted,
    TurnFailed,
    TurnStarted,
    Usage,
)
from app.domain.session import SessionState, Turn
from app.eventstore import Event

# "waiting": the turn stops until its awaited calls are answered (decisions/waiting.py).
TurnOutcome = Literal["completed", "failed", "cancelled", "waiting"]


class StartTurn(msgspec.Struct, frozen=True, kw_only=True):
    turn_id: str
    worker_id: str
    robot_id: str
    robot_name: str
    model: str
    playbook_digest: str
    # The running attempt whose lease this worker found expired, if it looked. Only that
    # attempt may be taken over: an attempt that started since (another worker won the
    # race to claim) belongs to its worker.
    lapsed_attempt: int | None = None
    max_attempts: int = 3


def start_turn(state: SessionState, cmd: StartTurn) -> list[Event]:
    """TurnStarted when this worker may run the turn now; else what ends it, or nothing."""
    turn = state.turn(cmd.turn_id)
    if (turn is None or turn.finished or state.active_turn is not turn
            or turn.status == "waiting"):
        return []  # unknown, over, behind an earlier turn, or waiting on answers
    if turn.status == "running" and turn.attempt != cmd.lapsed_attempt:
        return []
    if turn.cancel_requested:
        return [TurnCancelled(turn_id=turn.turn_id, attempt=turn.attempt)]
    if turn.attempt - turn.segment_from >= cmd.max_attempts:  # a wait is no failure
        return [TurnFailed(turn_id=turn.turn_id, attempt=turn.attempt,
                           error=f"the turn was abandoned {turn.attempt} times (worker lost);"
                                 " giving up")]
    return [TurnStarted(turn_id=turn.turn_id, attempt=turn.attempt + 1,
                        worker_id=cmd.worker_id, robot_id=cmd.robot_id,
                        robot_name=cmd.robot_name, model=cmd.model,
                        playbook_digest=cmd.playbook_digest)]


class FinishTurn(msgspec.Struct, frozen=True, kw_only=True):
    turn_id: str
    attempt: int
    outcome: TurnOutcome
    message_id: str
    parts: list[Part]
    robot_id: str
    robot_name: str
    model: str
    usage: Usage = Usage()
    finish_reason: str = "stop"
    error: str | None = None
    time_to_first_token_ms: float | None = None
    duration_ms: float | None = None
    # The step that answered without a tool call, recorded with the ending: a turn's last
    # step costs no append of its own.
    last_step: RecordStep | None = None
    awaited: list[AwaitedCall] = []  # "waiting": what it waits on


def finish_turn(state: SessionState, cmd: FinishTurn) -> list[Event]:
    """The last step (if it is given), the assistant message (if it said anything) and
    exactly one terminal event. Raises StaleAttempt when another attempt has taken the
    turn over."""
    current_attempt(state, cmd.turn_id, cmd.attempt)
    events: list[Event] = record_step(state, cmd.last_step) if cmd.last_step else []
    if cmd.parts:
        events.append(AssistantMessageCompleted(
            turn_id=cmd.turn_id, message_id=cmd.message_id, parts=cmd.parts,
            robot_id=cmd.robot_id, robot_name=cmd.robot_name, model=cmd.model, usage=cmd.usage))
    if cmd.outcome == "completed":
        events.append(TurnCompleted(
            turn_id=cmd.turn_id, attempt=cmd.attempt, finish_reason=cmd.finish_reason,
            usage=cmd.usage, time_to_first_token_ms=cmd.time_to_first_token_ms,
            duration_ms=cmd.duration_ms))
    elif cmd.outcome == "waiting":
        events.append(TurnBeganWaiting(turn_id=cmd.turn_id, attempt=cmd.attempt,
                                       calls=cmd.awaited))
    elif cmd.outcome == "cancelled":
        events.append(TurnCancelled(turn_id=cmd.turn_id, attempt=cmd.attempt))
    else:
        events.append(TurnFailed(turn_id=cmd.turn_id, attempt=cmd.attempt,
                                 error=cmd.error or "the model call failed"))
    return events


class CancelTurn(msgspec.Struct, frozen=True, kw_only=True):
    turn_id: str
    requested_by: str | None


def cancel_turn(state: SessionState, cmd: CancelTurn) -> list[Event]:
    """Idempotent: a finished turn, or one already asked to stop, changes nothing.
    Raises UnknownTurn."""
    turn = state.turn(cmd.turn_id)
    if turn is None:
        raise UnknownTurn(cmd.turn_id)
    return cancel_events(turn, cmd.requested_by, "cancelled")


def make_room(turn: Turn | None, multitask: Multitask, by: str | None) -> list[Event]:
    """What a new turn needs first while `turn` is not finished: nothing to queue after it
    ('enqueue'), its cancel ('interrupt'). Raises TurnWaiting or TurnActive ('reject')."""
    if turn is None or turn.finished or multitask == "enqueue":
        return []
    if multitask == "interrupt":
        return cancel_events(turn, by, "interrupt")
    if turn.status == "waiting":
        raise TurnWaiting(turn.turn_id, [c.call_id for c in turn.awaiting])
    raise TurnActive(turn.turn_id)


def cancel_events(turn: Turn, by: str | None, reason: Literal["cancelled", "interrupt"]
                  ) -> list[Event]:
    """A turn no worker has yet ends here (a waiting one with its calls denied); a running
    one is asked to stop."""
    if turn.finished or turn.cancel_requested:
        return []
    if turn.status == "waiting":
        return end_wait(turn, reason)
    if turn.status == "requested":
        return [TurnCancelled(turn_id=turn.turn_id, attempt=turn.attempt, reason=reason)]
    return [TurnCancelRequested(turn_id=turn.turn_id, requested_by=by,
                                reason="interrupt" if reason == "interrupt" else "cancel")]


class GiveUpTurn(msgspec.Struct, frozen=True, kw_only=True):
    turn_id: str
    reason: str


def give_up_turn(state: SessionState, cmd: GiveUpTurn) -> list[Event]:
    """End a turn nobody can run any more (the sweeper's last resort)."""
    turn = state.turn(cmd.turn_id)
    if turn is None or turn.finished:
        return []
    return [TurnFailed(turn_id=cmd.turn_id, attempt=turn.attempt, error=cmd.reason)]
