"""Sessions read model: one row per session, from the session streams."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import msgspec

from app.accounts import Account, Role
from app.domain.events import (
    AssistantMessageCompleted,
    MessagePosted,
    SessionDeleted,
    SessionForked,
    SessionRenamed,
    SessionSettingsChanged,
    SessionStarted,
    TurnRequested,
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
                case SessionSettingsChanged(session_id=sid):
                    await _settings_changed(conn, rec.event, at, version)
                case SessionForked(session_id=sid, from_session_id=source):
                    await conn.execute(_set("forked_from"), [source, version, sid, version])
                case TurnRequested(session_id=sid, robot_id=rid):
                    await conn.execute(_set("active_robot_id"), [rid, version, sid, version])


_JSON_COLUMNS = frozenset({"recall_options", "metadata"})


def _set(column: str) -> str:
    return (f"UPDATE sessions SET {column} = %s, version = %s"
            " WHERE id = %s AND version < %s")


async def _settings_changed(conn: Conn, event: SessionSettingsChanged, at: datetime,
                            version: int) -> None:
    changes = event.changes()
    columns = [f"{k} = %s::jsonb" if k in _JSON_COLUMNS else f"{k} = %s" for k in changes]
    values = [msgspec.json.encode(v).decode() if k in _JSON_COLUMNS and v is not None else v
              for k, v in changes.items()]
    await conn.execute(
        f"UPDATE sessions SET {', '.join(columns)}, updated_at = %s, version = %s"
        " WHERE id = %s AND version < %s", [*values, at, version, event.session_id, version])


class SessionRow(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str | None
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any]
    situation: str | None
    system_template: str | None
    render_templates: bool
    token_budget: int | None
    context_overflow: str | None
    recall_options: dict[str, Any] | None
    summary: str | None
    active_robot_id: str | None
    forked_from: str | None
    version: int
    created_by: Account | None
    creator_joined: datetime | None


class ListQuery(msgspec.Struct, frozen=True, kw_only=True):
    limit: int
    offset: int = 0
    sort_by: Literal["created_at", "updated_at"] = "created_at"
    direction: Literal["asc", "desc"] = "desc"
    account_id: uuid.UUID | None = None
    metadata: dict[str, Any] = {}  # every key must match (JSON containment)


_SELECT = """
SELECT s.id, s.name, s.created_at, s.updated_at, s.metadata, s.situation, s.system_template,
       s.render_templates, s.token_budget, s.context_overflow, s.recall_options, s.summary,
       s.active_robot_id, s.forked_from, s.version,
       a.id, a.handle, a.name, a.roles, a.created_at
FROM sessions s LEFT JOIN accounts a ON a.id = s.created_by
"""


def _where(query: ListQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = ["s.deleted_at IS NULL"]
    params: list[Any] = []
    if query.account_id is not None:
        clauses.append("s.created_by = %s")
        params.append(query.account_id)
    if query.metadata:
        clauses.append("s.metadata @> %s::jsonb")
        params.append(msgspec.json.encode(query.metadata).decode())
    return " AND ".join(clauses), params


async def list_sessions(conn: Conn, query: ListQuery) -> tuple[list[SessionRow], int]:
    """A page of live sessions and the total count of the listing."""
    where, params = _where(query)
    # Both names come from a Literal, never from the request's raw text.
    order = f"s.{query.sort_by} {query.direction}, s.id {query.direction}"
    cur = await conn.execute(f"{_SELECT} WHERE {where} ORDER BY {order} LIMIT %s OFFSET %s",
                             [*params, query.limit, query.offset])
    rows = [_session_row(r) for r in await cur.fetchall()]
    count = await (await conn.execute(f"SELECT count(*) FROM sessions s WHERE {where}",
                                      params)).fetchone()
    return rows, int(count[0]) if count else 0


async def get_session(conn: Conn, session_id: str) -> SessionRow | None:
    """A live session's row, or None (unknown or deleted)."""
    cur = await conn.execute(f"{_SELECT} WHERE s.id = %s AND s.deleted_at IS NULL",
                             [session_id])
    row = await cur.fetchone()
    return _session_row(row) if row else None


def _session_row(r: Any) -> SessionRow:
    creator = None
    if r[15] is not None:
        creator = Account(id=r[15], handle=r[16], name=r[17], roles=tuple(Role(x) for x in r[18]))
    return SessionRow(
        id=r[0], name=r[1], created_at=r[2], updated_at=r[3], metadata=r[4], situation=r[5],
        system_template=r[6], render_templates=r[7], token_budget=r[8], context_overflow=r[9],
        recall_options=r[10], summary=r[11], active_robot_id=r[12], forked_from=r[13],
        version=r[14], created_by=creator, creator_joined=r[19],
    )
