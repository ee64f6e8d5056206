"""Sessions read model: one row per session, from the session streams."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from app.accounts import Account, Role
from app.domain.events import (
    AssistantMessageCompleted,
    MessagePosted,
    SessionDeleted,
    SessionRenamed,
    SessionStarted,
)
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
_TOUCHED = "UPDATE sessions SET updated_at = %s, version = %s WHERE id = %s AND version < %s"
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
                case MessagePosted() | AssistantMessageCompleted():
                    sid = rec.stream_id.removeprefix("session-")
                    await conn.execute(_TOUCHED, [at, version, sid, version])


class SessionRow(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str | None
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any]
    created_by: Account | None
    creator_joined: datetime | None


_LIST = """
SELECT s.id, s.name, s.created_at, s.updated_at, s.metadata,
       a.id, a.handle, a.name, a.roles, a.created_at, count(*) OVER ()
FROM sessions s LEFT JOIN accounts a ON a.id = s.created_by
WHERE s.deleted_at IS NULL AND (%(account)s::uuid IS NULL OR s.created_by = %(account)s::uuid)
ORDER BY s.created_at DESC, s.id DESC
LIMIT %(limit)s OFFSET %(offset)s
"""


async def list_sessions(
    conn: Conn, *, limit: int, offset: int, account_id: uuid.UUID | None = None
) -> tuple[list[SessionRow], int]:
    """A page of live sessions, newest first, and the total count of the listing."""
    cur = await conn.execute(_LIST, {"account": account_id, "limit": limit, "offset": offset})
    rows = await cur.fetchall()
    total = rows[0][-1] if rows else await _count(conn, account_id)
    return [_session_row(r) for r in rows], total


async def _count(conn: Conn, account_id: uuid.UUID | None) -> int:
    cur = await conn.execute(
        "SELECT count(*) FROM sessions WHERE deleted_at IS NULL"
        " AND (%s::uuid IS NULL OR created_by = %s::uuid)", [account_id, account_id]
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


def _session_row(r: Any) -> SessionRow:
    creator = None
    if r[5] is not None:
        creator = Account(id=r[5], handle=r[6], name=r[7], roles=tuple(Role(x) for x in r[8]))
    return SessionRow(
        id=r[0], name=r[1], created_at=r[2], updated_at=r[3], metadata=r[4],
        created_by=creator, creator_joined=r[9],
    )
