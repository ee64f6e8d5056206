"""Who may change a session or cancel its turns: given a session, when an account asks,
then it may or may not. No database."""

from __future__ import annotations

import uuid

import pytest

from app.domain.accounts import Account, Role
from app.domain.events import MessagePosted, SessionDeleted, SessionStarted, TurnRequested
from app.domain.session import SessionState, fold
from app.domain.session_access import (
    NotPermitted,
    check_cancel,
    check_change,
    may_cancel_turn,
    may_change_session,
)
from app.eventstore import Event

TEXT = [{"type": "text", "text": "hi"}]


def account(role: Role = Role.MEMBER) -> Account:
    return Account(id=uuid.uuid4(), handle=f"h-{uuid.uuid4().hex[:6]}", name="", roles=(role,))


CREATOR, POSTER, STRANGER, ADMIN = account(), account(), account(), account(Role.ADMIN)


def given(*events: Event) -> SessionState:
    return fold(list(events))


def a_session_with_a_turn_by(poster: Account, created_by: str | None = str(CREATOR.id)
                             ) -> SessionState:
    return given(
        SessionStarted(session_id="s", created_by=created_by, name="Chat"),
        MessagePosted(session_id="s", message_id="m1", parts=TEXT, author_id=str(poster.id)),
        TurnRequested(session_id="s", turn_id="t1", message_id="m1", robot_id="r",
                      requested_by=str(poster.id)))


def test_the_creator_and_managers_may_change_a_session_and_no_one_else() -> None:
    state = a_session_with_a_turn_by(POSTER)
    assert may_change_session(CREATOR, state)
    assert may_change_session(ADMIN, state)
    assert not may_change_session(POSTER, state)  # posting in it does not make it theirs
    assert not may_change_session(STRANGER, state)


def test_a_session_nobody_created_is_only_the_managers() -> None:
    state = a_session_with_a_turn_by(POSTER, created_by=None)
    assert may_change_session(ADMIN, state)
    assert not may_change_session(CREATOR, state)


def test_a_turn_may_be_cancelled_by_its_poster_the_creator_or_a_manager() -> None:
    state = a_session_with_a_turn_by(POSTER)
    turn = state.turn("t1")
    assert turn is not None
    assert [may_cancel_turn(a, state, turn) for a in (POSTER, CREATOR, ADMIN, STRANGER)] == [
        True, True, True, False]


def test_a_guest_may_not_change_a_session_it_did_not_create() -> None:
    guest = account(Role.GUEST)
    state = a_session_with_a_turn_by(POSTER)
    assert not may_change_session(guest, state)


def test_check_change_refuses_a_stranger_and_leaves_missing_sessions_to_the_decider() -> None:
    state = a_session_with_a_turn_by(POSTER)
    with pytest.raises(NotPermitted, match="creator"):
        check_change(STRANGER, state, "s", "change")
    check_change(CREATOR, state, "s", "change")
    check_change(STRANGER, given(), "s", "change")  # not there: the decider says 404
    check_change(STRANGER, given(SessionStarted(session_id="s", created_by=str(CREATOR.id)),
                                 SessionDeleted(session_id="s")), "s", "delete")


def test_check_cancel_refuses_a_stranger_and_leaves_unknown_turns_to_the_decider() -> None:
    state = a_session_with_a_turn_by(POSTER)
    with pytest.raises(NotPermitted, match="poster"):
        check_cancel(STRANGER, state, "s", "t1")
    check_cancel(POSTER, state, "s", "t1")
    check_cancel(STRANGER, state, "s", "no-such-turn")  # the decider says 404


def test_check_cancel_names_what_was_refused() -> None:
    state = a_session_with_a_turn_by(POSTER)
    with pytest.raises(NotPermitted, match="regenerate the answer of turn t1"):
        check_cancel(STRANGER, state, "s", "t1", "regenerate the answer of")
