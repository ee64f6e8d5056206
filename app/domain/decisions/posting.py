"""Posting a user message: a new turn, a retry of an earlier post, or a refusal."""

from __future__ import annotations

import msgspec

from app.domain.decisions.errors import MessageIdTaken, SessionGone
from app.domain.decisions.turns import make_room
from app.domain.events import (
    MessagePosted,
    Multitask,
    Part,
    SessionStarted,
    TurnRequested,
)
from app.domain.session import SessionState
from app.eventstore import Event


class PostMessage(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    message_id: str
    parts: list[Part]
    robot_id: str
    author_id: str | None
    new_turn_id: str
    multitask: Multitask = "reject"


def post_message(state: SessionState, cmd: PostMessage) -> list[Event]:
    """The message and its turn; nothing when the same message was posted before (the
    caller attaches to that post's turn). Raises SessionGone, MessageIdTaken, TurnActive,
    TurnWaiting."""
    if state.deleted:
        raise SessionGone(cmd.session_id)
    if is_retry(state, cmd.message_id, cmd.parts):
        return []
    room = make_room(state.active_turn, cmd.multitask, cmd.author_id)
    events: list[Event] = []
    if not state.exists:
        events.append(SessionStarted(session_id=cmd.session_id, created_by=cmd.author_id))
    events.append(MessagePosted(session_id=cmd.session_id, message_id=cmd.message_id,
                                parts=cmd.parts, author_id=cmd.author_id))
    events.extend(room)
    events.append(TurnRequested(session_id=cmd.session_id, turn_id=cmd.new_turn_id,
                                message_id=cmd.message_id, robot_id=cmd.robot_id,
                                requested_by=cmd.author_id, multitask=cmd.multitask))
    return events


def is_retry(state: SessionState, message_id: str, parts: list[Part]) -> bool:
    """Whether posting `message_id` with `parts` repeats an earlier post. Raises
    MessageIdTaken when the id names another message (other content, or not a question)."""
    posted = state.message(message_id)
    if posted is None:
        return False
    if (posted.role != "user" or posted.parts != parts
            or state.turn_for_message(message_id) is None):
        raise MessageIdTaken(message_id)
    return True
