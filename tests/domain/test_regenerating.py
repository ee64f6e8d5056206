"""Regenerate and message ids: given events / when a command / then events. No database."""

from __future__ import annotations

import pytest

from app.domain import decisions as d
from app.domain.events import (
    AssistantMessageCompleted,
    MessagePosted,
    SessionStarted,
    TurnCompleted,
    TurnFailed,
    TurnRequested,
    TurnStarted,
)
from app.domain.session import SessionState, fold, reply_id
from app.eventstore import Event

HI = [{"type": "text", "text": "hi"}]


def given(*events: Event) -> SessionState:
    return fold(list(events))


def exchange(n: int, *, finished: bool = True) -> list[Event]:
    """Question m<n> and turn t<n>, answered unless `finished` is False."""
    events: list[Event] = [
        MessagePosted(session_id="s", message_id=f"m{n}", parts=HI, author_id="a"),
        TurnRequested(session_id="s", turn_id=f"t{n}", message_id=f"m{n}", robot_id="r",
                      requested_by="a")]
    if finished:
        events += [AssistantMessageCompleted(turn_id=f"t{n}", message_id=reply_id(f"t{n}"),
                                             parts=HI, robot_id="r", robot_name="R",
                                             model="local/echo"),
                   TurnCompleted(turn_id=f"t{n}", attempt=1, finish_reason="stop")]
    return events


def session(*more: Event) -> SessionState:
    return given(SessionStarted(session_id="s", created_by="a"), *exchange(1), *exchange(2),
                 *more)


def again(message_id: str | None, multitask: str = "reject") -> d.Regenerate:
    return d.Regenerate(session_id="s", message_id=message_id, robot_id="r",
                        requested_by="a", new_turn_id="t9", multitask=multitask)  # type: ignore[arg-type]


def test_the_latest_answer_is_answered_again_by_a_new_turn() -> None:
    for named in (None, "m2", reply_id("t2")):  # the latest, its question, or the answer
        assert d.regenerate(session(), again(named)) == [TurnRequested(
            session_id="s", turn_id="t9", message_id="m2", robot_id="r", requested_by="a",
            regenerates="t2")]


def test_the_new_turn_replaces_the_old_answer_in_the_messages() -> None:
    state = fold(d.regenerate(session(), again(None)), session())
    assert [m.id for m in state.messages] == ["m1", reply_id("t1"), "m2"]
    assert state.turn_for_message("m2").turn_id == "t9"  # type: ignore[union-attr]
    answered = fold(exchange(9)[2:], state)  # the new answer comes in
    assert [m.id for m in answered.messages] == ["m1", reply_id("t1"), "m2", reply_id("t9")]
    assert answered.message(reply_id("t2")) is None


def test_an_older_answer_is_refused_with_a_word_about_forking() -> None:
    for named in ("m1", reply_id("t1")):
        with pytest.raises(d.NotLatestAnswer, match="fork"):
            d.regenerate(session(), again(named))


def test_a_failed_answer_never_stored_can_be_regenerated_by_its_id() -> None:
    failed = given(SessionStarted(session_id="s", created_by="a"), *exchange(1, finished=False),
                   TurnStarted(turn_id="t1", attempt=1, worker_id="w", robot_id="r",
                               robot_name="R", model="local/echo", playbook_digest="x"),
                   TurnFailed(turn_id="t1", attempt=1, error="boom"))
    assert d.regenerate(failed, again(reply_id("t1")))[0].message_id == "m1"  # type: ignore[attr-defined]


def test_a_running_answer_is_regenerated_only_with_interrupt() -> None:
    running = session(*exchange(3, finished=False))
    with pytest.raises(d.TurnActive):
        d.regenerate(running, again(None))
    events = d.regenerate(running, again(None, "interrupt"))
    assert [type(e).__name__ for e in events] == ["TurnCancelled", "TurnRequested"]


def test_unknown_messages_and_sessions_are_refused() -> None:
    with pytest.raises(d.UnknownMessage):
        d.regenerate(session(), again("nope"))
    with pytest.raises(d.SessionNotFound):
        d.regenerate(given(), again(None))


def post(message_id: str, parts: list[dict[str, str]]) -> d.PostMessage:
    return d.PostMessage(session_id="s", message_id=message_id, parts=parts, robot_id="r",
                         author_id="a", new_turn_id="t9")


def test_a_message_posted_again_unchanged_is_a_retry() -> None:
    assert d.post_message(session(), post("m2", HI)) == []


def test_a_message_id_posted_with_other_content_is_taken() -> None:
    with pytest.raises(d.MessageIdTaken, match="m2"):
        d.post_message(session(), post("m2", [{"type": "text", "text": "something else"}]))


def test_an_answers_id_is_no_question_id() -> None:
    with pytest.raises(d.MessageIdTaken):
        d.post_message(session(), post(reply_id("t1"), HI))
