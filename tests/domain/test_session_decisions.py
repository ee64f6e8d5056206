"""A session's own settings: given events / when a command / then events. No database."""

from __future__ import annotations

import msgspec
import pytest

from app.domain import decisions as d
from app.domain.events import (
    AssistantMessageCompleted,
    MessagePosted,
    SessionDeleted,
    SessionForked,
    SessionSettingsChanged,
    SessionStarted,
    TurnRequested,
)
from app.domain.session import SessionState, fold
from app.eventstore import Event

TEXT = [{"type": "text", "text": "hi"}]


def given(*events: Event) -> SessionState:
    return fold(list(events))


def at_version(state: SessionState, version: int) -> SessionState:
    return msgspec.structs.replace(state, version=version)


def a_session_with_an_exchange() -> list[Event]:
    return [SessionStarted(session_id="s", created_by="a", name="Chat"),
            MessagePosted(session_id="s", message_id="m1", parts=TEXT, author_id="a"),
            TurnRequested(session_id="s", turn_id="t1", message_id="m1", robot_id="r9"),
            AssistantMessageCompleted(turn_id="t1", message_id="a1", parts=TEXT,
                                      robot_id="r9", robot_name="R", model="local/echo"),
            MessagePosted(session_id="s", message_id="m2", parts=TEXT, author_id="a")]


def settings(**changes: object) -> d.ChangeSettings:
    return d.ChangeSettings(session_id="s", changes=changes)


def test_a_settings_change_records_only_what_changes() -> None:
    state = given(*a_session_with_an_exchange(),
                  SessionSettingsChanged(session_id="s", situation="On call"))
    assert d.change_settings(state, settings(situation="On call", token_budget=500)) == [
        SessionSettingsChanged(session_id="s", token_budget=500)]


def test_a_change_that_changes_nothing_appends_nothing() -> None:
    assert d.change_settings(given(*a_session_with_an_exchange()), settings(name="Chat")) == []


def test_settings_of_a_missing_or_deleted_session_are_refused() -> None:
    with pytest.raises(d.SessionNotFound):
        d.change_settings(given(), settings(name="x"))
    with pytest.raises(d.SessionNotFound):
        d.change_settings(given(*a_session_with_an_exchange(), SessionDeleted(session_id="s")),
                          settings(name="x"))


def test_deleting_is_idempotent_and_a_session_that_never_was_is_not_found() -> None:
    state = given(*a_session_with_an_exchange())
    events = d.delete_session(state, d.DeleteSession(session_id="s"))
    assert events == [SessionDeleted(session_id="s")]
    assert d.delete_session(fold(events, state), d.DeleteSession(session_id="s")) == []
    with pytest.raises(d.SessionNotFound):
        d.delete_session(given(), d.DeleteSession(session_id="s"))


def fork(source: SessionState, at: str = "a1") -> d.ForkSession:
    return d.ForkSession(source_id="s", source=source, at_message_id=at, new_session_id="f",
                         requested_by="b")


def test_a_fork_copies_history_up_to_the_message_and_keeps_the_robot() -> None:
    source = at_version(given(*a_session_with_an_exchange()), 5)
    events = d.fork_session(given(), fork(source))
    assert events[:2] == [
        SessionStarted(session_id="f", created_by="b", name="Chat"),
        SessionForked(session_id="f", from_session_id="s", at_message_id="a1", at_version=5,
                      robot_id="r9")]
    assert [e.message_id for e in events[2:]] == ["m1", "a1"]  # type: ignore[attr-defined]
    assert fold(events).robot_id == "r9"


def test_a_fork_at_an_unknown_message_or_of_a_deleted_session_is_refused() -> None:
    with pytest.raises(d.UnknownMessage):
        d.fork_session(given(), fork(given(*a_session_with_an_exchange()), "nope"))
    with pytest.raises(d.SessionNotFound):
        d.fork_session(given(), fork(given(*a_session_with_an_exchange(),
                                           SessionDeleted(session_id="s"))))


def test_a_fork_never_writes_over_a_session_that_exists() -> None:
    taken = given(SessionStarted(session_id="f"))
    with pytest.raises(d.SessionExists):
        d.fork_session(taken, fork(given(*a_session_with_an_exchange())))


def test_a_system_template_that_does_not_parse_is_refused_with_its_line() -> None:
    from app.domain.templates import TemplateError

    with pytest.raises(TemplateError) as refused:
        d.change_settings(given(*a_session_with_an_exchange()),
                          settings(system_template="Hi\n{{ robot.name "))
    assert refused.value.line == 2
