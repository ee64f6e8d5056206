"""Regenerating: the session's latest question answered again by a new turn.

The new answer takes the old one's place in the session's messages; the old one stays in
the log (and so in the session's event history). Only the latest exchange is regenerated:
later messages were written to the old answer, so answering an earlier question again is a
fork (decisions/sessions.py), which keeps both conversations whole.
"""

from __future__ import annotations

import msgspec

from app.domain.decisions.errors import (
    NotLatestAnswer,
    SessionGone,
    SessionNotFound,
    UnknownMessage,
)
from app.domain.decisions.turns import make_room
from app.domain.events import Multitask, TurnRequested
from app.domain.session import SessionState, turn_of_reply
from app.eventstore import Event


class Regenerate(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    # The answer to replace, or the question it answers; None: the latest answer.
    message_id: str | None
    robot_id: str
    requested_by: str | None
    new_turn_id: str
    multitask: Multitask = "reject"


def regenerate(state: SessionState, cmd: Regenerate) -> list[Event]:
    """A turn answering the latest question again. Raises SessionNotFound, SessionGone,
    UnknownMessage, NotLatestAnswer, TurnActive, TurnWaiting."""
    if not state.exists:
        raise SessionNotFound(cmd.session_id)
    if state.deleted:
        raise SessionGone(cmd.session_id)
    latest = state.turns[-1] if state.turns else None
    if latest is None:
        raise UnknownMessage(cmd.message_id or "to regenerate: no question was asked yet")
    if cmd.message_id is not None and cmd.message_id != latest.message_id:
        asked = question_of(state, cmd.message_id)
        if asked != latest.message_id:
            raise NotLatestAnswer(cmd.message_id, latest.message_id)
    # Queued behind the answer it replaces, a regenerate would replace it before it came:
    # 'enqueue' is refused as 'reject' is.
    multitask = "reject" if cmd.multitask == "enqueue" else cmd.multitask
    events = make_room(latest, multitask, cmd.requested_by)
    events.append(TurnRequested(
        session_id=cmd.session_id, turn_id=cmd.new_turn_id, message_id=latest.message_id,
        robot_id=cmd.robot_id, requested_by=cmd.requested_by, multitask=cmd.multitask,
        regenerates=latest.turn_id))
    return events


def question_of(state: SessionState, message_id: str) -> str:
    """The question a message is or answers. Raises UnknownMessage."""
    message = state.message(message_id)
    if message is None:  # an answer not stored (a turn that failed first), or replaced
        turn_id = turn_of_reply(message_id)
        turn = state.turn(turn_id) if turn_id is not None else None
        if turn is None:
            raise UnknownMessage(message_id)
        return turn.message_id
    if message.role == "user":
        return message.id
    turn = state.turn(message.turn_id) if message.turn_id else None
    if turn is None:  # a fork's copy of an answer: its question is in another session
        raise NotLatestAnswer(message_id, None)
    return turn.message_id
