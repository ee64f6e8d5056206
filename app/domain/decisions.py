"""A session's rules: pure functions from state and a command to the events it implies.

No I/O and no clock: ids, the worker's name and "is the lease alive" arrive on the command.
"""

from __future__ import annotations

import msgspec

from app.domain.events import (
    AssistantMessageCompleted,
    MessagePosted,
    Multitask,
    Part,
    SessionDeleted,
    SessionForked,
    SessionSettingsChanged,
    SessionStarted,
    TurnCancelled,
    TurnCancelRequested,
    TurnCompleted,
    TurnFailed,
    TurnRequested,
    TurnStarted,
    Usage,
)
from app.domain.session import Message, SessionSettings, SessionState, Turn, fold
from app.eventstore import Event


class SessionGone(Exception):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"session {session_id} was deleted")


class TurnActive(Exception):
    """A turn is running and the request said not to queue or interrupt."""

    def __init__(self, turn_id: str) -> None:
        self.turn_id = turn_id
        super().__init__(f"turn {turn_id} is still active on this session; wait for it,"
                         " cancel it, or post with multitask 'enqueue' or 'interrupt'")


class UnknownTurn(Exception):
    def __init__(self, turn_id: str) -> None:
        super().__init__(f"no turn {turn_id} in this session")


class StaleAttempt(Exception):
    """A worker finishing an attempt that is no longer the turn's current one."""


# --- posting a message -------------------------------------------------------------------

class PostMessage(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    message_id: str
    parts: list[Part]
    robot_id: str
    author_id: str | None
    new_turn_id: str
    multitask: Multitask = "reject"
    session_name: str | None = None


class Posted(msgspec.Struct, frozen=True, kw_only=True):
    turn_id: str
    # False when this post repeated an earlier one: attach to that turn, append nothing.
    is_new: bool
    # True when the turn can start now (nothing ahead of it): hand it to a worker.
    runnable: bool


def post_message(state: SessionState, cmd: PostMessage) -> tuple[list[Event], Posted]:
    if state.deleted:
        raise SessionGone(cmd.session_id)
    earlier = state.turn_for_message(cmd.message_id)
    if earlier is not None:
        return [], Posted(turn_id=earlier.turn_id, is_new=False, runnable=False)
    active = state.active_turn
    if active is not None and cmd.multitask == "reject":
        raise TurnActive(active.turn_id)
    events: list[Event] = []
    if not state.exists:
        events.append(SessionStarted(session_id=cmd.session_id, created_by=cmd.author_id,
                                     name=cmd.session_name))
    events.append(MessagePosted(session_id=cmd.session_id, message_id=cmd.message_id,
                                parts=cmd.parts, author_id=cmd.author_id))
    if active is not None and cmd.multitask == "interrupt":
        events.extend(_cancel(active, cmd.author_id, "interrupt"))
    events.append(TurnRequested(session_id=cmd.session_id, turn_id=cmd.new_turn_id,
                                message_id=cmd.message_id, robot_id=cmd.robot_id,
                                requested_by=cmd.author_id, multitask=cmd.multitask))
    after = fold(events, state).active_turn
    runnable = after is not None and after.turn_id == cmd.new_turn_id
    return events, Posted(turn_id=cmd.new_turn_id, is_new=True, runnable=runnable)


# --- a worker claims a turn --------------------------------------------------------------

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
    if turn is None or turn.finished or state.active_turn is not turn:
        return []  # unknown, already over, or waiting behind an earlier turn
    if turn.status == "running" and turn.attempt != cmd.lapsed_attempt:
        return []
    if turn.cancel_requested:
        return [TurnCancelled(turn_id=turn.turn_id, attempt=turn.attempt)]
    if turn.attempt >= cmd.max_attempts:
        return [TurnFailed(turn_id=turn.turn_id, attempt=turn.attempt,
                           error=f"the turn was abandoned {turn.attempt} times (worker lost);"
                                 " giving up")]
    return [TurnStarted(turn_id=turn.turn_id, attempt=turn.attempt + 1,
                        worker_id=cmd.worker_id, robot_id=cmd.robot_id,
                        robot_name=cmd.robot_name, model=cmd.model,
                        playbook_digest=cmd.playbook_digest)]


# --- a worker finishes a turn ------------------------------------------------------------

class FinishTurn(msgspec.Struct, frozen=True, kw_only=True):
    turn_id: str
    attempt: int
    outcome: str  # "completed" | "failed" | "cancelled"
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


def finish_turn(state: SessionState, cmd: FinishTurn) -> list[Event]:
    """The assistant message (if it said anything) and exactly one terminal event."""
    turn = state.turn(cmd.turn_id)
    if turn is None or turn.status != "running" or turn.attempt != cmd.attempt:
        raise StaleAttempt(f"turn {cmd.turn_id} attempt {cmd.attempt} is no longer current")
    events: list[Event] = []
    if cmd.parts:
        events.append(AssistantMessageCompleted(
            turn_id=cmd.turn_id, message_id=cmd.message_id, parts=cmd.parts,
            robot_id=cmd.robot_id, robot_name=cmd.robot_name, model=cmd.model, usage=cmd.usage))
    if cmd.outcome == "completed":
        events.append(TurnCompleted(
            turn_id=cmd.turn_id, attempt=cmd.attempt, finish_reason=cmd.finish_reason,
            usage=cmd.usage, time_to_first_token_ms=cmd.time_to_first_token_ms,
            duration_ms=cmd.duration_ms))
    elif cmd.outcome == "cancelled":
        events.append(TurnCancelled(turn_id=cmd.turn_id, attempt=cmd.attempt))
    else:
        events.append(TurnFailed(turn_id=cmd.turn_id, attempt=cmd.attempt,
                                 error=cmd.error or "the model call failed"))
    return events


# --- cancelling, deleting, giving up -----------------------------------------------------

def _cancel(turn: Turn, by: str | None, reason: str) -> list[Event]:
    if turn.finished or turn.cancel_requested:
        return []
    if turn.status == "requested":  # no worker has it: end it here
        return [TurnCancelled(turn_id=turn.turn_id, attempt=turn.attempt, reason=reason)]
    return [TurnCancelRequested(turn_id=turn.turn_id, requested_by=by,
                                reason="interrupt" if reason == "interrupt" else "cancel")]


def cancel_turn(state: SessionState, turn_id: str, by: str | None) -> list[Event]:
    turn = state.turn(turn_id)
    if turn is None:
        raise UnknownTurn(turn_id)
    return _cancel(turn, by, "cancelled")


def give_up_turn(state: SessionState, turn_id: str, reason: str) -> list[Event]:
    """End a turn nobody can run any more (the sweeper's last resort)."""
    turn = state.turn(turn_id)
    if turn is None or turn.finished:
        return []
    return [TurnFailed(turn_id=turn_id, attempt=turn.attempt, error=reason)]


class SessionNotFound(Exception):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"no session with id {session_id}")


def change_settings(state: SessionState, change: SessionSettingsChanged) -> list[Event]:
    """Record only what actually changes; an empty or no-op change appends nothing."""
    if not state.exists or state.deleted:
        raise SessionNotFound(change.session_id)
    current = {"name": state.name, **msgspec.structs.asdict(state.settings)}
    changed = {k: v for k, v in change.changes().items() if current.get(k) != v}
    if not changed:
        return []
    return [SessionSettingsChanged(session_id=change.session_id, **changed)]


class UnknownMessage(Exception):
    def __init__(self, message_id: str) -> None:
        super().__init__(f"no message {message_id} in this session")


def fork_session(source: SessionState, source_id: str, at_message_id: str, new_id: str,
                 by: str | None) -> list[Event]:
    """The new session's first events: where it came from, its settings, and copies of the
    messages up to and including `at_message_id` (nothing after it)."""
    if not source.exists or source.deleted:
        raise SessionNotFound(source_id)
    if source.message(at_message_id) is None:
        raise UnknownMessage(at_message_id)
    events: list[Event] = [
        SessionStarted(session_id=new_id, created_by=by, name=source.name,
                       metadata=source.settings.metadata),
        SessionForked(session_id=new_id, from_session_id=source_id,
                      at_message_id=at_message_id, at_version=source.version),
    ]
    settings = {k: v for k, v in msgspec.structs.asdict(source.settings).items()
                if k != "metadata" and v != getattr(SessionSettings(), k)}
    if settings:
        events.append(SessionSettingsChanged(session_id=new_id, **settings))
    for message in source.messages:
        events.append(_copy(message, new_id))
        if message.id == at_message_id:
            break
    return events


def _copy(message: Message, session_id: str) -> Event:
    if message.role == "user":
        return MessagePosted(session_id=session_id, message_id=message.id, parts=message.parts,
                             author_id=message.author_id)
    return AssistantMessageCompleted(
        turn_id=message.turn_id or "", message_id=message.id, parts=message.parts,
        robot_id=message.robot_id or "", robot_name=message.robot_name or "",
        model=message.model or "")


def delete_session(state: SessionState, session_id: str) -> list[Event]:
    if not state.exists or state.deleted:
        return []
    return [SessionDeleted(session_id=session_id)]
