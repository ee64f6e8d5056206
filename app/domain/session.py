"""A session's state, folded from its events: what the deciders need to know, no more.

Folding costs O(1) per event whatever the session's length: `fold` applies its events to a
private mutable copy (lists, and indexes of where each turn and message sits) and freezes
it once at the end; the frozen state keeps those indexes, so its lookups are O(1) too. A
1,000-exchange session used to cost a copy of every message and turn per event.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
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
    SessionNamed,
    SessionRenamed,
    SessionSettingsChanged,
    SessionStarted,
    SessionSummarised,
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

# Snapshots of folded states (app/domain/session_snapshot.py) carry this: bump it when
# `evolve` would now fold an event some log already holds differently. (A change of the
# state's fields changes a snapshot's shape by itself: the snapshot's schema digest.)
FOLD_VERSION = 1

# "waiting": stopped until its awaited calls are answered (TurnBeganWaiting).
TurnStatus = Literal["requested", "running", "waiting", "completed", "failed", "cancelled"]
TERMINAL: frozenset[TurnStatus] = frozenset({"completed", "failed", "cancelled"})
# Who gave a session its name: a person (at its start, PATCH, the session_rename tool a
# person's turn ran) or its robot (SessionNamed). A person's name is never replaced by a robot's.
NamedBy = Literal["person", "robot"]


# weakref: a worker keeps what a prompt makes of a message beside it, for as long as it
# lives (workers/turns/per_message.py).
class Message(msgspec.Struct, frozen=True, kw_only=True, weakref=True):
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
    model: str | None = None  # its latest attempt's ("provider/model")
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


def reply_id(turn_id: str) -> str:
    """A turn's answer's message id: the same across attempts and waits, so that clients
    see one message (and can name the turn by it)."""
    return f"msg-{turn_id}"


def turn_of_reply(message_id: str) -> str | None:
    """The turn whose answer has this id, if it is one."""
    turn_id = message_id.removeprefix("msg-")
    return turn_id if turn_id != message_id else None


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


class _Index:
    """Where each turn and message sits in a state's tuples (the first of an id wins, as a
    scan from the start would find; for a message's turn, the last: a regenerate answers it
    again), and the earliest turn not finished."""

    __slots__ = ("first_open", "message_at", "turn_at", "turn_of_message")

    def __init__(self, turn_at: dict[str, int], turn_of_message: dict[str, int],
                 message_at: dict[str, int], first_open: int) -> None:
        self.turn_at = turn_at
        self.turn_of_message = turn_of_message
        self.message_at = message_at
        self.first_open = first_open

    @classmethod
    def of(cls, messages: Sequence[Message], turns: Sequence[Turn]) -> _Index:
        """Built by a scan, once per state that was not folded here (a decoded snapshot)."""
        turn_at: dict[str, int] = {}
        turn_of_message: dict[str, int] = {}
        for at, turn in enumerate(turns):
            turn_at.setdefault(turn.turn_id, at)
            turn_of_message[turn.message_id] = at
        message_at: dict[str, int] = {}
        for at, message in enumerate(messages):
            message_at.setdefault(message.id, at)
        first_open = next((at for at, t in enumerate(turns) if not t.finished), len(turns))
        return cls(turn_at, turn_of_message, message_at, first_open)


# dict=True: room for the cached index, which is no field (not encoded, not compared).
class SessionState(msgspec.Struct, frozen=True, kw_only=True, dict=True):
    exists: bool = False
    deleted: bool = False
    name: str | None = None
    named_by: NamedBy | None = None  # None: no name yet
    created_by: str | None = None
    forked_from: str | None = None
    robot_id: str | None = None  # who answers next: the last turn's robot, or the fork's
    settings: SessionSettings = SessionSettings()
    version: int = 0
    messages: tuple[Message, ...] = ()
    turns: tuple[Turn, ...] = ()  # in the order they were requested
    # The latest automatic summary: which messages prompts leave out for `settings.summary`
    # (context_overflow "adaptive"); a summary set by PATCH replaces its text, not its range.
    summarised: SessionSummarised | None = None

    @functools.cached_property
    def _index(self) -> _Index:
        # A folded state has it already (fold hands its index over); others scan once.
        return _Index.of(self.messages, self.turns)

    def turn(self, turn_id: str) -> Turn | None:
        at = self._index.turn_at.get(turn_id)
        return None if at is None else self.turns[at]

    def message(self, message_id: str) -> Message | None:
        at = self._index.message_at.get(message_id)
        return None if at is None else self.messages[at]

    def turn_for_message(self, message_id: str) -> Turn | None:
        at = self._index.turn_of_message.get(message_id)
        return None if at is None else self.turns[at]

    @property
    def active_turn(self) -> Turn | None:
        """The turn that runs now or runs next: the earliest one not finished."""
        at = self._index.first_open
        return self.turns[at] if at < len(self.turns) else None

    @property
    def next_to_run(self) -> Turn | None:
        """The turn to hand a worker now: the active one, if no worker has it yet."""
        turn = self.active_turn
        return turn if turn is not None and turn.status == "requested" else None


def evolve(state: SessionState, event: Event) -> SessionState:
    """The state after one more event. Pure; unknown events change nothing. (For many
    events, `fold` them: it freezes once.) What each event does is `_apply`'s."""
    return fold([event], state)


def fold(events: Iterable[Event], state: SessionState | None = None, *,
         version: int | None = None) -> SessionState:
    """`state` (default: a session with no events) after `events`, at stream `version`
    (default: the state's own). Pure: `state` itself never changes."""
    folding = _Folding(SessionState() if state is None else state)
    for event in events:
        _apply(folding, event)
    return folding.freeze(version)


def _apply(f: _Folding, event: Event) -> None:
    """One event's change. Scalars change on `f.state` (replace it); messages and turns
    through `f`'s methods, which keep the indexes."""
    state = f.state
    match event:
        case SessionStarted(name=name, created_by=by, metadata=meta):
            settings = msgspec.structs.replace(state.settings, metadata=meta)
            f.state = msgspec.structs.replace(state, exists=True, name=name, created_by=by,
                                              settings=settings,
                                              named_by="person" if name else None)
        case SessionRenamed(name=name):
            f.state = msgspec.structs.replace(state, name=name, named_by="person")
        case SessionNamed(name=name):
            f.state = msgspec.structs.replace(state, name=name, named_by="robot")
        case SessionSettingsChanged():
            f.state = _apply_settings(state, event)
        case SessionForked(from_session_id=source, robot_id=rid):
            f.state = msgspec.structs.replace(state, forked_from=source, robot_id=rid)
        case SessionDeleted():
            f.state = msgspec.structs.replace(state, deleted=True)
        case MessagePosted(message_id=mid, parts=parts, author_id=by):
            f.add_message(Message(id=mid, role="user", parts=parts, author_id=by))
        case TurnRequested(turn_id=tid, message_id=mid, robot_id=rid, requested_by=by,
                           regenerates=old):
            if old is not None:  # the old answer leaves the conversation; the log keeps it
                f.drop_reply(old)
            f.add_turn(Turn(turn_id=tid, message_id=mid, robot_id=rid, requested_by=by))
            f.state = msgspec.structs.replace(state, robot_id=rid)
        case TurnStarted(turn_id=tid, attempt=attempt, robot_id=rid, model=model):
            f.change_turn(tid, status="running", attempt=attempt, robot_id=rid, model=model)
        case StepCompleted(turn_id=tid) if (turn := f.turn(tid)) is not None:
            f.change_turn(tid, steps=(*turn.steps, event))
        case ToolCallStarted(turn_id=tid, call_id=cid) if (turn := f.turn(tid)) is not None:
            f.change_turn(tid, started_calls=turn.started_calls | {cid})
        case ToolCallCompleted(turn_id=tid) if (turn := f.turn(tid)) is not None:
            f.change_turn(tid, results=(*turn.results, event))
        case RobotSwitched(robot_id=rid, turn_id=tid):
            f.state = msgspec.structs.replace(state, robot_id=rid)
            if tid:
                f.change_turn(tid, robot_id=rid)
        case TurnCancelRequested(turn_id=tid):
            f.change_turn(tid, cancel_requested=True)
        case AssistantMessageCompleted(turn_id=tid, message_id=mid, parts=parts, robot_id=rid,
                                       robot_name=rname, model=model):
            # A turn that waited stores its message at each wait: the last one stands.
            f.replace_message(Message(id=mid, role="assistant", parts=parts, turn_id=tid,
                                      robot_id=rid, robot_name=rname, model=model))
        case TurnBeganWaiting(turn_id=tid, calls=calls):
            f.change_turn(tid, status="waiting", awaiting=tuple(calls))
        case ToolApprovalAnswered(turn_id=tid) if (turn := f.turn(tid)) is not None:
            f.change_turn(tid, approvals=(*turn.approvals, event))
        case TurnResumed(turn_id=tid) if (turn := f.turn(tid)) is not None:
            f.change_turn(tid, status="requested", awaiting=(), segment=turn.segment + 1,
                          segment_from=turn.attempt)
        case TurnCompleted(turn_id=tid, finish_reason=reason):
            f.change_turn(tid, status="completed", finish_reason=reason)
        case TurnFailed(turn_id=tid, error=error):
            f.change_turn(tid, status="failed", error=error)
        case TurnCancelled(turn_id=tid):
            f.change_turn(tid, status="cancelled")
        case SessionSummarised(summary=summary):
            settings = msgspec.structs.replace(state.settings, summary=summary)
            f.state = msgspec.structs.replace(state, settings=settings, summarised=event)


def _apply_settings(state: SessionState, event: SessionSettingsChanged) -> SessionState:
    changes = event.changes()
    named_by = "person" if "name" in changes else state.named_by
    name = changes.pop("name", state.name)
    settings = msgspec.structs.replace(state.settings, **changes)
    return msgspec.structs.replace(state, name=name, named_by=named_by, settings=settings)


class _Folding:
    """A state being folded. `state` holds the scalars; messages, turns and their indexes
    live here, copied from the state folded from only when first changed (copies of
    pointers, once per fold), so an event costs O(1) and the state folded from is untouched.
    """

    def __init__(self, state: SessionState) -> None:
        self.base = state
        self.state = state  # its messages and turns are stale once ours change
        index = state._index
        self.first_open = index.first_open
        self._messages: list[Message] | None = None  # None: still the base's
        self._message_at = index.message_at
        self._turns: list[Turn] | None = None
        self._turn_at = index.turn_at
        self._turn_of_message = index.turn_of_message

    def turn(self, turn_id: str) -> Turn | None:
        at = self._turn_at.get(turn_id)
        return None if at is None else (self.base.turns if self._turns is None
                                        else self._turns)[at]

    def add_message(self, message: Message) -> None:
        messages = self._message_list()
        self._message_at.setdefault(message.id, len(messages))
        messages.append(message)

    def replace_message(self, message: Message) -> None:
        """Every message of its id goes; it comes last."""
        messages = self._message_list()
        at = self._message_at.pop(message.id, None)
        if at is not None:  # the one replaced is near the end: what follows it is short
            kept = [m for m in messages[at:] if m.id != message.id]
            del messages[at:]
            moved: set[str] = set()
            for m in kept:
                if m.id not in moved and self._message_at[m.id] >= at:  # first of its id
                    self._message_at[m.id] = len(messages)
                    moved.add(m.id)
                messages.append(m)
        self._message_at[message.id] = len(messages)
        messages.append(message)

    def drop_reply(self, turn_id: str) -> None:
        """The turn's answer leaves the messages. Only the latest answer is regenerated, so
        it is found near the end, and nothing after it moves."""
        messages = self._message_list()
        for at in range(len(messages) - 1, -1, -1):
            message = messages[at]
            if message.role == "assistant" and message.turn_id == turn_id:
                del messages[at]
                for later in messages[at:]:
                    if self._message_at.get(later.id, -1) > at:
                        self._message_at[later.id] -= 1
                if self._message_at.get(message.id) == at:
                    del self._message_at[message.id]
                return

    def add_turn(self, turn: Turn) -> None:
        turns = self._turn_list()
        self._turn_at.setdefault(turn.turn_id, len(turns))
        self._turn_of_message[turn.message_id] = len(turns)
        turns.append(turn)
        self._track_open(len(turns) - 1, turn)

    def change_turn(self, turn_id: str, **changes: Any) -> None:
        at = self._turn_at.get(turn_id)
        if at is None:
            return
        turns = self._turn_list()
        turns[at] = changed = msgspec.structs.replace(turns[at], **changes)
        self._track_open(at, changed)

    def _track_open(self, at: int, turn: Turn) -> None:
        turns = self._turn_list()
        if not turn.finished:
            self.first_open = min(self.first_open, at)
        elif at == self.first_open:
            while self.first_open < len(turns) and turns[self.first_open].finished:
                self.first_open += 1

    def _message_list(self) -> list[Message]:
        if self._messages is None:
            self._messages = list(self.base.messages)
            self._message_at = dict(self._message_at)
        return self._messages

    def _turn_list(self) -> list[Turn]:
        if self._turns is None:
            self._turns = list(self.base.turns)
            self._turn_at = dict(self._turn_at)
            self._turn_of_message = dict(self._turn_of_message)
        return self._turns

    def freeze(self, version: int | None) -> SessionState:
        """The folded state; `self` is done with once it is frozen."""
        changed = self._messages is not None or self._turns is not None
        if not changed and self.state is self.base and version in (None, self.base.version):
            return self.base
        state = msgspec.structs.replace(
            self.state,
            messages=self.base.messages if self._messages is None else tuple(self._messages),
            turns=self.base.turns if self._turns is None else tuple(self._turns),
            version=self.state.version if version is None else version)
        # The index goes with the state (cached_property's own slot): no scan to rebuild it.
        vars(state)["_index"] = _Index(self._turn_at, self._turn_of_message,
                                       self._message_at, self.first_open)
        return state
