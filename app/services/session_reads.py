"""Reading sessions for the API: listings, one session now (from the read models, once they
include the caller's writes) or as it was at a version (folded from the log), and a
session's raw event history.

Both ways of reading one session give the same rows (SessionRow, MessageRow), so the API
shows them through one mapping; for the latest version the two must agree, and a test
holds them to it.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from psycopg_pool import AsyncConnectionPool

from app.adapters.accounts import profiles
from app.bootstrap import Services
from app.domain.answer_metadata import answer_metadata, finish_reason_metadata
from app.domain.events import (
    AssistantMessageCompleted,
    MessagePosted,
    SessionDeleted,
    SessionRenamed,
    SessionSettingsChanged,
    SessionStarted,
    TurnCompleted,
    session_stream,
)
from app.domain.session import SessionState, fold, reply_id
from app.eventstore import EventStore, RecordedEvent
from app.readmodels.messages import MessageRow, UnknownCursor, page_messages
from app.readmodels.session_listing import ListQuery, list_sessions, page_sessions
from app.readmodels.sessions import SessionRow, get_session
from app.readmodels.waiting import READ_MODELS, wait_for

Pool = AsyncConnectionPool[Any]


class SessionPage(msgspec.Struct, frozen=True, kw_only=True):
    """A session and a page of its messages, in chronological order."""

    session: SessionRow
    messages: list[MessageRow]
    next_before: str | None  # the cursor for older messages; None at the start of history
    total: int  # the session's message count


class VersionBeyondLatest(Exception):
    def __init__(self, version: int, latest: int) -> None:
        super().__init__(f"as_of={version} is beyond the session's latest version {latest}")


class NotAtVersion(Exception):
    """The stream has events up to the version, but no live session there (not started
    yet, or deleted)."""

    def __init__(self, session_id: str, version: int) -> None:
        super().__init__(f"session {session_id} did not exist at version {version}")


class EventPage(msgspec.Struct, frozen=True, kw_only=True):
    records: list[RecordedEvent]
    next_after: int | None  # the version to read on from; None: no more events


async def listed(pool: Pool, query: ListQuery) -> tuple[list[SessionRow], int]:
    """A page of live sessions and the listing's total."""
    async with pool.connection() as conn:
        return await list_sessions(conn, query)


async def listed_page(pool: Pool, query: ListQuery) -> list[SessionRow]:
    """A page of live sessions, without the total."""
    async with pool.connection() as conn:
        return await page_sessions(conn, query)


async def caught_up(services: Services, session_id: str) -> None:
    """Read your own writes: wait until projections include the stream's last event."""
    head = await services.store.stream_head(session_stream(session_id))
    if head is not None:
        await wait_for(services.pool, head, READ_MODELS,
                       services.settings.read_your_writes_timeout_s)


async def current(services: Services, session_id: str, *, before: str | None = None,
                  limit: int = 50) -> SessionPage | None:
    """The session now, its projections caught up with the log first (read your own
    writes). None when unknown or deleted; UnknownCursor for a `before` not in it."""
    await caught_up(services, session_id)
    return await from_read_model(services.pool, session_id, before=before, limit=limit)


async def from_read_model(pool: Pool, session_id: str, *, before: str | None,
                          limit: int) -> SessionPage | None:
    """The session from the read models as they are. None when unknown or deleted;
    UnknownCursor for a bad `before`."""
    async with pool.connection() as conn:
        row = await get_session(conn, session_id)
        if row is None:
            return None
        page, next_before, total = await page_messages(conn, session_id, before=before,
                                                       limit=limit)
    return SessionPage(session=row, messages=page, next_before=next_before, total=total)


async def as_of(services: Services, session_id: str, version: int, *, before: str | None,
                limit: int) -> SessionPage | None:
    """The session as it was at `version`, folded from the log. None when the stream is
    empty; raises VersionBeyondLatest, NotAtVersion, UnknownCursor."""
    records = await services.store.read_stream(session_stream(session_id),
                                               up_to_version=version)
    if not records:
        return None
    if records[-1].stream_version < version:
        raise VersionBeyondLatest(version, records[-1].stream_version)
    found = await from_log(services.pool, records, before=before, limit=limit)
    if found is None:
        raise NotAtVersion(session_id, version)
    return found


async def history(store: EventStore, session_id: str, *, after: int,
                  limit: int) -> EventPage | None:
    """Up to `limit` of the session's events after version `after`, in order. None when the
    session has no events at all."""
    records = await store.read_stream(session_stream(session_id), after, limit + 1)
    if not records and after == 0:
        return None
    page = records[:limit]
    return EventPage(records=page,
                     next_after=page[-1].stream_version if len(records) > limit else None)


# The events that change what a session's `updated` time shows.
_TOUCHES = (SessionStarted, SessionRenamed, SessionDeleted, SessionSettingsChanged,
            MessagePosted, AssistantMessageCompleted)


async def from_log(pool: Pool, records: list[RecordedEvent], *, before: str | None,
                   limit: int) -> SessionPage | None:
    """The session as it was after `records` (a stream prefix), in the read models' rows.
    None when it did not exist then (or was deleted); UnknownCursor for a bad `before`."""
    state = fold([r.event for r in records])
    if not state.exists or state.deleted:
        return None
    written_at = {_message_id(r): r.recorded_at for r in records if _message_id(r)}
    answered = _answer_metadata(records)
    ids = [state.created_by, *(m.author_id for m in state.messages)]
    people = await profiles(pool, [uuid.UUID(i) for i in ids if i])
    messages = []
    for m in state.messages:
        author, joined = people.get(uuid.UUID(m.author_id), (None, None)) if m.author_id else (
            None, None)
        # Only replies show a robot, as in the messages read model.
        shown = m.robot_id is not None and m.role == "assistant"
        messages.append(MessageRow(
            id=m.id, role=m.role, parts=m.parts, created_at=written_at[m.id],
            robot_id=m.robot_id if shown else None, robot_name=m.robot_name if shown else None,
            author=author, author_joined=joined, metadata=answered.get(m.id)))
    page, next_before = _page(messages, before, limit)
    return SessionPage(session=_session_row(records, state, people), messages=page,
                       next_before=next_before, total=len(messages))


def _session_row(records: list[RecordedEvent], state: SessionState,
                 people: dict[uuid.UUID, tuple[Any, Any]]) -> SessionRow:
    creator, joined = (people.get(uuid.UUID(state.created_by), (None, None))
                       if state.created_by else (None, None))
    s = state.settings
    return SessionRow(
        id=records[0].stream_id.removeprefix("session-"), name=state.name,
        created_at=records[0].recorded_at,
        updated_at=max(r.recorded_at for r in records if isinstance(r.event, _TOUCHES)),
        metadata=s.metadata, situation=s.situation, system_template=s.system_template,
        render_templates=s.render_templates, token_budget=s.token_budget,
        context_overflow=s.context_overflow,
        recall_options=msgspec.to_builtins(s.recall_options) if s.recall_options else None,
        summary=s.summary, active_robot_id=state.robot_id, forked_from=state.forked_from,
        version=records[-1].stream_version, created_by=creator, creator_joined=joined,
        auto_run_tools=s.auto_run_tools, forward_tool_calls=s.forward_tool_calls,
        waiting_on=_waiting_on(state))


def _waiting_on(state: SessionState) -> list[dict[str, Any]]:
    turn = state.active_turn
    if turn is None or turn.status != "waiting":
        return []
    return [msgspec.to_builtins(call) for call in turn.awaiting]


def _answer_metadata(records: list[RecordedEvent]) -> dict[str, dict[str, Any]]:
    """Each answer's metadata as projections/messages.py writes it."""
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        match r.event:
            case AssistantMessageCompleted(message_id=mid, model=model, usage=usage):
                out[mid] = answer_metadata(model, usage)
            case TurnCompleted(turn_id=tid, finish_reason=reason) if reply_id(tid) in out:
                out[reply_id(tid)] |= finish_reason_metadata(reason)
    return out


def _message_id(record: RecordedEvent) -> str | None:
    if isinstance(record.event, MessagePosted | AssistantMessageCompleted):
        return record.event.message_id
    return None


def _page(messages: list[MessageRow], before: str | None,
          limit: int) -> tuple[list[MessageRow], str | None]:
    end = len(messages)
    if before is not None:
        end = next((i for i, m in enumerate(messages) if m.id == before), -1)
        if end < 0:
            raise UnknownCursor(before)
    start = max(0, end - limit)
    return messages[start:end], (messages[start].id if start > 0 else None)
