"""Reading the sessions read model (written by projections/sessions.py): one session's row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from app.domain.accounts import Account, Role
from app.eventstore.store import Conn


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
    auto_run_tools: bool = True
    forward_tool_calls: bool = False
    # The calls its active turn waits on ({call_id, name, kind, approval_id}), if it waits.
    waiting_on: list[dict[str, Any]] = []


# A SessionRow's columns, from `sessions s` and `accounts a` (its creator, left-joined).
SESSION_COLUMNS = """
s.id, s.name, s.created_at, s.updated_at, s.metadata, s.situation, s.system_template,
s.render_templates, s.token_budget, s.context_overflow, s.recall_options, s.summary,
s.active_robot_id, s.forked_from, s.version, a.id, a.handle, a.name, a.roles, a.created_at,
s.auto_run_tools, s.forward_tool_calls,
(SELECT t.awaiting FROM turns t WHERE t.session_id = s.id AND t.status = 'waiting' LIMIT 1)
"""


async def get_session(conn: Conn, session_id: str) -> SessionRow | None:
    """A live session's row, or None (unknown or deleted)."""
    cur = await conn.execute(
        f"SELECT {SESSION_COLUMNS} FROM sessions s LEFT JOIN accounts a ON a.id = s.created_by"
        " WHERE s.id = %s AND s.deleted_at IS NULL", [session_id])
    row = await cur.fetchone()
    return session_row(row) if row else None


def session_row(r: Sequence[Any]) -> SessionRow:
    """A SessionRow from SESSION_COLUMNS' values."""
    creator = None
    if r[15] is not None:
        creator = Account(id=r[15], handle=r[16], name=r[17], roles=tuple(Role(x) for x in r[18]))
    return SessionRow(
        id=r[0], name=r[1], created_at=r[2], updated_at=r[3], metadata=r[4], situation=r[5],
        system_template=r[6], render_templates=r[7], token_budget=r[8], context_overflow=r[9],
        recall_options=r[10], summary=r[11], active_robot_id=r[12], forked_from=r[13],
        version=r[14], created_by=creator, creator_joined=r[19], auto_run_tools=r[20],
        forward_tool_calls=r[21], waiting_on=r[22] or [],
    )
