"""One session as the API shows it (Storyden's RobotSession with Julep's options), built
either from the read models or by folding the log up to a version (`as_of`). For the
latest version the two must agree; a test holds them to it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from psycopg_pool import AsyncConnectionPool

from app.adapters.accounts import profiles
from app.api.profiles import ProfileReference, profile_reference
from app.domain.events import (
    AssistantMessageCompleted,
    MessagePosted,
    SessionDeleted,
    SessionRenamed,
    SessionSettingsChanged,
    SessionStarted,
)
from app.domain.session import fold
from app.eventstore import RecordedEvent
from app.readmodels.messages import MessageRow, UnknownCursor, page_messages
from app.readmodels.sessions import SessionRow, get_session

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
    active_robot_id: str | None = None
    situation: str | None = None
    system_template: str | None = None
    token_budget: int | None = None
    context_overflow: str | None = None
    recall_options: dict[str, Any] | None = None
    summary: str | None = None
    forked_from: str | None = None


async def from_read_model(pool: AsyncConnectionPool[Any], session_id: str, *,
                          before: str | None, limit: int) -> RobotSessionOut | None:
    """None when the session is unknown or deleted; UnknownCursor for a bad `before`."""
    async with pool.connection() as conn:
        row = await get_session(conn, session_id)
        if row is None:
            return None
        page, next_before, total = await page_messages(conn, session_id, before=before,
                                                       limit=limit)
    return _session(row, [_message(m) for m in page], next_before, total, limit)


def _session(row: SessionRow, messages: list[RobotSessionMessage], next_before: str | None,
             total: int, limit: int) -> RobotSessionOut:
    creator = (profile_reference(row.created_by, row.creator_joined)
               if row.created_by and row.creator_joined else None)
    return RobotSessionOut(
        id=row.id, created=row.created_at, updated=row.updated_at, name=row.name or UNTITLED,
        created_by=creator, active_robot_id=row.active_robot_id, situation=row.situation,
        system_template=row.system_template, render_templates=row.render_templates,
        token_budget=row.token_budget, context_overflow=row.context_overflow,
        recall_options=row.recall_options, metadata=row.metadata, summary=row.summary,
        forked_from=row.forked_from,
        message_list=MessageList(page_size=limit, results=total, messages=messages,
                                 next_before=next_before))


def _message(m: MessageRow) -> RobotSessionMessage:
    return RobotSessionMessage(
        id=m.id, role=m.role, parts=m.parts, created_at=m.created_at,
        robot=RobotReference(id=m.robot_id, name=m.robot_name or "")
        if m.robot_id else None,
        author=profile_reference(m.author, m.author_joined)
        if m.author and m.author_joined else None)


_TOUCHES = (SessionStarted, SessionRenamed, SessionDeleted, SessionSettingsChanged,
            MessagePosted, AssistantMessageCompleted)


async def from_log(pool: AsyncConnectionPool[Any], records: list[RecordedEvent], *,
                   before: str | None, limit: int) -> RobotSessionOut | None:
    """The session as it was after `records` (a stream prefix), folded from the log."""
    state = fold([r.event for r in records])
    if not state.exists or state.deleted:
        return None
    created = records[0].recorded_at
    updated = max(r.recorded_at for r in records if isinstance(r.event, _TOUCHES))
    written_at = {_message_id(r): r.recorded_at for r in records if _message_id(r)}
    ids = [state.created_by, *(m.author_id for m in state.messages)]
    people = await profiles(pool, [uuid.UUID(i) for i in ids if i])
    messages = []
    for m in state.messages:
        author = people.get(uuid.UUID(m.author_id)) if m.author_id else None
        messages.append(RobotSessionMessage(
            id=m.id, role=m.role, parts=m.parts, created_at=written_at[m.id],
            robot=RobotReference(id=m.robot_id, name=m.robot_name or "")
            if m.robot_id and m.role == "assistant" else None,
            author=profile_reference(*author) if author else None))
    page, next_before = _page(messages, before, limit)
    creator = people.get(uuid.UUID(state.created_by)) if state.created_by else None
    s = state.settings
    return RobotSessionOut(
        id=state_id(records), created=created, updated=updated, name=state.name or UNTITLED,
        created_by=profile_reference(*creator) if creator else None,
        active_robot_id=state.robot_id, situation=s.situation,
        system_template=s.system_template, render_templates=s.render_templates,
        token_budget=s.token_budget, context_overflow=s.context_overflow,
        recall_options=msgspec.to_builtins(s.recall_options) if s.recall_options else None,
        metadata=s.metadata, summary=s.summary, forked_from=state.forked_from,
        message_list=MessageList(page_size=limit, results=len(messages), messages=page,
                                 next_before=next_before))


def state_id(records: list[RecordedEvent]) -> str:
    return records[0].stream_id.removeprefix("session-")


def _message_id(record: RecordedEvent) -> str | None:
    if isinstance(record.event, MessagePosted | AssistantMessageCompleted):
        return record.event.message_id
    return None


def _page(messages: list[RobotSessionMessage], before: str | None,
          limit: int) -> tuple[list[RobotSessionMessage], str | None]:
    end = len(messages)
    if before is not None:
        end = next((i for i, m in enumerate(messages) if m.id == before), -1)
        if end < 0:
            raise UnknownCursor(before)
    start = max(0, end - limit)
    return messages[start:end], (messages[start].id if start > 0 else None)
