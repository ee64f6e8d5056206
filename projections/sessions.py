"""Sessions read model: one row per session, from the session streams."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from app.domain.events import SessionDeleted, SessionRenamed, SessionStarted
from app.eventstore import RecordedEvent
from projections.base import Conn

# `version` guards every write, so replaying an event that was already applied is a no-op.
_STARTED = """
INSERT INTO sessions (id, name, created_by, created_at, updated_at, metadata, version)
VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s)
ON CONFLICT (id) DO NOTHING
"""
_RENAMED = """
UPDATE sessions SET name = %s, updated_at = %s, version = %s WHERE id = %s AND version < %s
"""
_DELETED = """
UPDATE sessions SET deleted_at = %s, updated_at = %s, version = %s WHERE id = %s AND version < %s
"""


class SessionsProjection:
    name: str = "sessions"
    tables: tuple[str, ...] = ("sessions",)

    async def apply(self, conn: Conn, events: Sequence[RecordedEvent]) -> None:
        for rec in events:
            at, version = rec.recorded_at, rec.stream_version
            match rec.event:
                case SessionStarted(session_id=sid, created_by=by, name=name, metadata=meta):
                    meta_json = msgspec.json.encode(meta).decode()
                    await conn.execute(_STARTED, [sid, name, by, at, at, meta_json, version])
                case SessionRenamed(session_id=sid, name=name):
                    await conn.execute(_RENAMED, [name, at, version, sid, version])
                case SessionDeleted(session_id=sid):
                    await conn.execute(_DELETED, [at, at, version, sid, version])
