"""One session as the API shows it: Storyden's RobotSession with Julep's options, from the
rows app/services/session_reads.py reads (the read models now, or the log folded up to a
version for `as_of`). Both ways give the same rows, so they show through this one mapping."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from psycopg_pool import AsyncConnectionPool

from app.api.files import shown_part
from app.api.profiles import ProfileReference, profile_reference
from app.readmodels.messages import MessageRow
from app.services import session_reads
from app.services.session_reads import SessionPage

UNTITLED = "New conversation"


class RobotReference(msgspec.Struct, kw_only=True):
    id: str
    name: str


class RobotSessionMessage(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    role: str
    parts: list[dict[str, Any]]
    created_at: datetime
    robot: RobotReference | None = None
    author: ProfileReference | None = None
    metadata: dict[str, Any] | None = None


class MessageList(msgspec.Struct, kw_only=True, omit_defaults=True):
    page_size: int
    results: int
    messages: list[RobotSessionMessage]
    next_before: str | None = None


class RobotSessionOut(msgspec.Struct, kw_only=True, omit_defaults=True,
                      rename={"created": "createdAt", "updated": "updatedAt"}):
    id: str
    created: datetime
    updated: datetime
    name: str
    created_by: ProfileReference | None
    message_list: MessageList
    render_templates: bool
    metadata: dict[str, Any]
    # Julep's tool options: what they do is in app/domain/waits.py and the README.
    auto_run_tools: bool
    forward_tool_calls: bool
    active_robot_id: str | None = None
    situation: str | None = None
    system_template: str | None = None
    token_budget: int | None = None
    context_overflow: str | None = None
    recall_options: dict[str, Any] | None = None
    summary: str | None = None
    forked_from: str | None = None
    # Ours: the tool calls its active turn waits on (an approval, a client's output).
    waiting_on: list[dict[str, Any]] = []


def session_out(page: SessionPage, limit: int) -> RobotSessionOut:
    """`page` in the API's shape; `limit` is the page size asked for."""
    row = page.session
    creator = (profile_reference(row.created_by, row.creator_joined)
               if row.created_by and row.creator_joined else None)
    return RobotSessionOut(
        id=row.id, created=row.created_at, updated=row.updated_at, name=row.name or UNTITLED,
        created_by=creator, active_robot_id=row.active_robot_id, situation=row.situation,
        system_template=row.system_template, render_templates=row.render_templates,
        token_budget=row.token_budget, context_overflow=row.context_overflow,
        recall_options=row.recall_options, metadata=row.metadata, summary=row.summary,
        forked_from=row.forked_from, auto_run_tools=row.auto_run_tools,
        forward_tool_calls=row.forward_tool_calls, waiting_on=row.waiting_on,
        message_list=MessageList(page_size=limit, results=page.total,
                                 messages=[_message(m) for m in page.messages],
                                 next_before=page.next_before))


async def from_read_model(pool: AsyncConnectionPool[Any], session_id: str, *,
                          before: str | None, limit: int) -> RobotSessionOut | None:
    """The session from the read models as they are (no wait for projections). None when
    unknown or deleted; UnknownCursor for a bad `before`. bench.reads times this."""
    page = await session_reads.from_read_model(pool, session_id, before=before, limit=limit)
    return session_out(page, limit) if page else None


def _message(m: MessageRow) -> RobotSessionMessage:
    return RobotSessionMessage(
        id=m.id, role=m.role, parts=storyden_parts(m.parts), created_at=m.created_at,
        robot=RobotReference(id=m.robot_id, name=m.robot_name or "")
        if m.robot_id else None,
        author=profile_reference(m.author, m.author_joined)
        if m.author and m.author_joined else None, metadata=m.metadata)


def storyden_parts(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A message's parts in Storyden's vocabulary: the log and the stream keep the AI SDK's
    `step-start` boundaries between steps, which Storyden's part types do not have. A
    stored file's part points at the route that serves it (app/api/files.py)."""
    return [shown_part(p) if p.get("type") == "file" else p
            for p in parts if p.get("type") != "step-start"]
