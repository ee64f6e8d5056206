"""Every event a session stream can hold. Frozen, past tense, never edited once shipped.

Timestamps come from the log (`recorded_at`), not from the events, so deciders stay pure.
Message parts are stored as the AI SDK's UI message parts (`{"type": "text", "text": ...}`).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from app.eventstore import Event, EventRegistry

Part = dict[str, Any]
Multitask = Literal["reject", "enqueue", "interrupt"]


def session_stream(session_id: str) -> str:
    return f"session-{session_id}"


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    input_tokens: int = 0
    output_tokens: int = 0


class SessionStarted(Event, frozen=True):
    session_id: str
    created_by: str | None = None
    name: str | None = None
    metadata: dict[str, Any] = {}


class SessionRenamed(Event, frozen=True):
    session_id: str
    name: str


class SessionDeleted(Event, frozen=True):
    session_id: str


class MessagePosted(Event, frozen=True):
    session_id: str
    message_id: str  # the client's id: posting it again is a retry, not a new message
    parts: list[Part]
    author_id: str | None = None
    role: Literal["user"] = "user"


class TurnRequested(Event, frozen=True):
    session_id: str
    turn_id: str
    message_id: str  # the user message this turn answers
    robot_id: str
    requested_by: str | None = None
    multitask: Multitask = "reject"


class TurnStarted(Event, frozen=True):
    turn_id: str
    attempt: int
    worker_id: str
    robot_id: str
    robot_name: str
    model: str
    playbook_digest: str  # which playbook answered, without copying it into every turn


class TurnCancelRequested(Event, frozen=True):
    turn_id: str
    requested_by: str | None = None
    reason: Literal["cancel", "interrupt"] = "cancel"


class AssistantMessageCompleted(Event, frozen=True):
    turn_id: str
    message_id: str
    parts: list[Part]
    robot_id: str
    robot_name: str
    model: str
    usage: Usage = Usage()


class TurnCompleted(Event, frozen=True):
    turn_id: str
    attempt: int
    finish_reason: str
    usage: Usage = Usage()
    time_to_first_token_ms: float | None = None
    duration_ms: float | None = None


class TurnFailed(Event, frozen=True):
    turn_id: str
    attempt: int
    error: str


class TurnCancelled(Event, frozen=True):
    turn_id: str
    attempt: int
    reason: str = "cancelled"


TERMINAL_TURN_EVENTS = (TurnCompleted, TurnFailed, TurnCancelled)

registry = EventRegistry(
    SessionStarted, SessionRenamed, SessionDeleted, MessagePosted, TurnRequested, TurnStarted,
    TurnCancelRequested, AssistantMessageCompleted, TurnCompleted, TurnFailed, TurnCancelled,
)
