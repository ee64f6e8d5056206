"""Every event a session stream can hold. Frozen, past tense, never edited once shipped.

Timestamps come from the log (`recorded_at`), not from the events, so deciders stay pure.
"""

from __future__ import annotations

from typing import Any

from app.eventstore import Event, EventRegistry


def session_stream(session_id: str) -> str:
    return f"session-{session_id}"


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


registry = EventRegistry(SessionStarted, SessionRenamed, SessionDeleted)
