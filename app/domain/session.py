"""A session's state, folded from its events: what the deciders need to know, no more."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from app.domain.events import (
    AssistantMessageCompleted,
    AwaitedCall,
    ContextOverflow,
    MessagePosted,
    Part,
    RecallOptions,
    RobotSwitched,
    SessionDeleted,
    SessionForked,
    SessionRenamed,
    SessionSettingsChanged,
    SessionStarted,
    StepCompleted,
    ToolApprovalAnswered,
    ToolCallCompleted,
    ToolCallStarted,
    TurnBeganWaiting,
    TurnCancelled,
    TurnCancelRequested,
    TurnCompleted,
    TurnFailed,
    TurnRequested,
    TurnResumed,
    TurnStarted,
)
from app.eventstore import Event

# "waiting": stopped until its awaited calls are answered (TurnBeganWaiting).
TurnStatus = Literal["requested", "running", "waiting", "completed", "failed", "cancelled"]
TERMINAL: frozenset[TurnStatus] = frozenset({"completed", "failed", "cancelled"})


class Message(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    role: Literal["user", "assistant"]
    parts: list[Part]
    turn_id: str | None = None
    robot_id: str | None = None
    robot_name: str | None = None
    model: str | None = None
    author_id: str | None = None


class Turn(msgspec.Struct, frozen=True, kw_only=True):
    turn_id: str
    message_id: str
    robot_id: str
    requested_by: str | None = None  # whose message started it: tools act as them
    status: TurnStatus = "requested"
    attempt: int = 0
    cancel_requested: bool = False
    error: str | None = None
    finish_reason: str | None = None
    # What the turn has done so far, across attempts: a retry continues from here.
    steps: tuple[StepCompleted, ...] = ()
    started_calls: frozenset[str] = frozenset()
    results: tuple[ToolCallCompleted, ...] = ()
    # Waiting: the calls awaited now (TurnBeganWaiting) and every approval answered.
    awaiting: tuple[AwaitedCall, ...] = ()
    approvals: tuple[ToolApprovalAnswered, ...] = ()
    # Each wait ends a stream: the turn's stream segments are numbered from 0, and the
    # attempts of each count from `segment_from` (a wait is no failed attempt).
    segment: int = 0
    segment_from: int = 0

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def stream_id(self) -> str:
        """The Redis stream of the turn's current segment (see `segment`)."""
        return self.turn_id if not self.segment else f"{self.turn_id}~{self.segment}"

    def approval(self, call_id: str) -> ToolApprovalAnswered | None:
        return next((a for a in self.approvals if a.call_id == call_id), None)

    def result(self, call_id: str) -> ToolCallCompleted | None:
        return next((r for r in self.results if r.call_id == call_id), None)


class SessionSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Julep's session options."""

    situation: str | None = None
    system_template: str | None = None
    render_templates: bool = True
    token_budget: int | None = None
    context_overflow: ContextOverflow | None = None
    recall_options: RecallOptions | None = None
    metadata: dict[str, Any] = {}
    summary: str | None = None
    # Julep's tool options (app/domain/waits.py says what they do).
    auto_run_tools: bool = True
    forward_tool_calls: bool = False


class SessionState(msgspec.Struct, frozen=True, kw_only=True):
    exists: bool = False
    deleted: bool = False
    name: str | None = None
    created_by: str | None = None
    forked_from: str | None = None
    robot_id: str | None = None  # who answers next: the last turn's robot, or the fork's
    settings: SessionSettings = SessionSettings()
    version: int = 0
    messages: tuple[Message, ...] = ()
    turns: tuple[Turn, ...] = ()  # in the order they were requested

    def turn(self, turn_id: str) -> Turn | None:
        return next((t for t in self.turns if t.turn_id == turn_id), None)

    def message(self, message_id: str) -> Message | None:
        return next((m for m in self.messages if m.id == message_id), None)

    def turn_for_message(self, message_id: str) -> Turn | None:
        return next((t for t in self.turns if t.message_id == message_id), None)

    @property
    def active_turn(self) -> Turn | None:
        """The turn that runs now or runs next: the earliest one not finished."""
        return next((t for t in self.turns if not t.finished), None)

    @property
    def next_to_run(self) -> Turn | None:
        """The turn to hand a worker now: the active one, if no worker has it yet."""
        turn = self.active_turn
        return turn if turn is not None and turn.status == "requested" else None


def _replace_turn(state: SessionState, turn_id: str, **changes: object) -> SessionState:
    turns = tuple(msgspec.structs.replace(t, **changes) if t.turn_id == turn_id else t
                  for t in state.turns)
    return msgspec.structs.replace(state, turns=turns)


def evolve(state: SessionState, event: Event) -> SessionState:
    """The state after one more event. Pure; unknown events change nothing."""
    match event:
        case SessionStarted(name=name, created_by=by, metadata=meta):
            settings = msgspec.structs.replace(state.settings, metadata=meta)
            return msgspec.structs.replace(state, exists=True, name=name, created_by=by,
                                           settings=settings)
        case SessionRenamed(name=name):
            return msgspec.structs.replace(state, name=name)
        case SessionSettingsChanged():
            return _apply_settings(state, event)
        case SessionForked(from_session_id=source, robot_id=rid):
            return msgspec.structs.replace(state, forked_from=source, robot_id=rid)
        case SessionDeleted():
            return msgspec.structs.replace(state, deleted=True)
        case MessagePosted(message_id=mid, parts=parts, author_id=by):
            message = Message(id=mid, role="user", parts=parts, author_id=by)
            return msgspec.structs.replace(state, messages=(*state.messages, message))
        case TurnRequested(turn_id=tid, message_id=mid, robot_id=rid, requested_by=by):
            turn = Turn(turn_id=tid, message_id=mid, robot_id=rid, requested_by=by)
            return msgspec.structs.replace(state, turns=(*state.turns, turn), robot_id=rid)
        case TurnStarted(turn_id=tid, attempt=attempt, robot_id=rid):
            return _replace_turn(state, tid, status="running", attempt=attempt, robot_id=rid)
        case StepCompleted() | ToolCallStarted() | ToolCallCompleted():
            return _record_progress(state, event)
        case RobotSwitched(robot_id=rid, turn_id=tid):
            switched = msgspec.structs.replace(state, robot_id=rid)
            return _replace_turn(switched, tid, robot_id=rid) if tid else switched
        case TurnCancelRequested(turn_id=tid):
            return _replace_turn(state, tid, cancel_requested=True)
        case AssistantMessageCompleted(turn_id=tid, message_id=mid, parts=parts, robot_id=rid,
                                       robot_name=rname, model=model):
            message = Message(id=mid, role="assistant", parts=parts, turn_id=tid, robot_id=rid,
                              robot_name=rname, model=model)
            # A turn that waited stores its message at each wait: the last one stands.
            kept = tuple(m for m in state.messages if m.id != mid)
            return msgspec.structs.replace(state, messages=(*kept, message))
        case TurnBeganWaiting(turn_id=tid, calls=calls):
            return _replace_turn(state, tid, status="waiting", awaiting=tuple(calls))
        case ToolApprovalAnswered(turn_id=tid):
            answered = state.turn(tid)
            return state if answered is None else _replace_turn(
                state, tid, approvals=(*answered.approvals, event))
        case TurnResumed(turn_id=tid):
            resumed = state.turn(tid)
            return state if resumed is None else _replace_turn(
                state, tid, status="requested", awaiting=(), segment=resumed.segment + 1,
                segment_from=resumed.attempt)
        case TurnCompleted(turn_id=tid, finish_reason=reason):
            return _replace_turn(state, tid, status="completed", finish_reason=reason)
        case TurnFailed(turn_id=tid, error=error):
            return _replace_turn(state, tid, status="failed", error=error)
        case TurnCancelled(turn_id=tid):
            return _replace_turn(state, tid, status="cancelled")
    return state


def _record_progress(state: SessionState,
                     event: StepCompleted | ToolCallStarted | ToolCallCompleted) -> SessionState:
    turn = state.turn(event.turn_id)
    if turn is None:
        return state
    if isinstance(event, StepCompleted):
        return _replace_turn(state, turn.turn_id, steps=(*turn.steps, event))
    if isinstance(event, ToolCallStarted):
        return _replace_turn(state, turn.turn_id,
                             started_calls=turn.started_calls | {event.call_id})
    return _replace_turn(state, turn.turn_id, results=(*turn.results, event))


def _apply_settings(state: SessionState, event: SessionSettingsChanged) -> SessionState:
    changes = event.changes()
    name = changes.pop("name", state.name)
    settings = msgspec.structs.replace(state.settings, **changes)
    return msgspec.structs.replace(state, name=name, settings=settings)


def fold(events: list[Event], state: SessionState | None = None) -> SessionState:
    current = state or SessionState()
    for event in events:
        current = evolve(current, event)
    return current
