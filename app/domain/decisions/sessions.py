"""A session's own settings: change them, delete the session, fork it at a message."""

from __future__ import annotations

from typing import Any

import msgspec

from app.domain.decisions.errors import SessionExists, SessionNotFound, UnknownMessage
from app.domain.events import (
    AssistantMessageCompleted,
    MessagePosted,
    SessionDeleted,
    SessionForked,
    SessionSettingsChanged,
    SessionStarted,
)
from app.domain.session import Message, SessionSettings, SessionState
from app.domain.templates import check_template
from app.eventstore import Event


class ChangeSettings(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    changes: dict[str, Any]  # SessionSettingsChanged's fields; None clears a setting


def change_settings(state: SessionState, cmd: ChangeSettings) -> list[Event]:
    """Record only what actually changes; an empty or no-op change appends nothing.
    Raises SessionNotFound, and TemplateError for a system template that does not parse (a
    broken one never reaches a turn)."""
    if not state.exists or state.deleted:
        raise SessionNotFound(cmd.session_id)
    if isinstance(template := cmd.changes.get("system_template"), str):
        check_template(template)
    current = {"name": state.name, **msgspec.structs.asdict(state.settings)}
    changed = {k: v for k, v in cmd.changes.items() if current.get(k) != v}
    if not changed:
        return []
    return [SessionSettingsChanged(session_id=cmd.session_id, **changed)]


class DeleteSession(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str


def delete_session(state: SessionState, cmd: DeleteSession) -> list[Event]:
    """Idempotent. Raises SessionNotFound for a session that never existed."""
    if not state.exists:
        raise SessionNotFound(cmd.session_id)
    if state.deleted:
        return []
    return [SessionDeleted(session_id=cmd.session_id)]


class ForkSession(msgspec.Struct, frozen=True, kw_only=True):
    source_id: str
    source: SessionState  # the source session as the fork was asked for
    at_message_id: str
    new_session_id: str
    requested_by: str | None


def fork_session(state: SessionState, cmd: ForkSession) -> list[Event]:
    """The new session's (`state`) first events: where it came from, its settings, and
    copies of the source's messages up to and including `at_message_id` (nothing after it).
    Raises SessionNotFound, UnknownMessage, SessionExists."""
    source = cmd.source
    if state.exists:
        raise SessionExists(cmd.new_session_id)
    if not source.exists or source.deleted:
        raise SessionNotFound(cmd.source_id)
    if source.message(cmd.at_message_id) is None:
        raise UnknownMessage(cmd.at_message_id)
    new_id = cmd.new_session_id
    events: list[Event] = [
        SessionStarted(session_id=new_id, created_by=cmd.requested_by, name=source.name,
                       metadata=source.settings.metadata),
        SessionForked(session_id=new_id, from_session_id=cmd.source_id,
                      at_message_id=cmd.at_message_id, at_version=source.version,
                      robot_id=source.robot_id),
    ]
    settings = {k: v for k, v in msgspec.structs.asdict(source.settings).items()
                if k != "metadata" and v != getattr(SessionSettings(), k)}
    made = source.summarised
    if made is not None and settings.get("summary") == made.summary:
        del settings["summary"]  # it may tell of messages the fork has not: it makes its own
    if settings:
        events.append(SessionSettingsChanged(session_id=new_id, **settings))
    for message in source.messages:
        events.append(_copy(message, new_id))
        if message.id == cmd.at_message_id:
            break
    return events


def _copy(message: Message, session_id: str) -> Event:
    if message.role == "user":
        return MessagePosted(session_id=session_id, message_id=message.id, parts=message.parts,
                             author_id=message.author_id)
    return AssistantMessageCompleted(
        turn_id=message.turn_id or "", message_id=message.id, parts=message.parts,
        robot_id=message.robot_id or "", robot_name=message.robot_name or "",
        model=message.model or "")
