"""The session rules, given events / when a command / then events. No database."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain import decisions as d
from app.domain.events import (
    AssistantMessageCompleted,
    MessagePosted,
    SessionStarted,
    TurnCancelled,
    TurnCancelRequested,
    TurnCompleted,
    TurnFailed,
    TurnRequested,
    TurnStarted,
)
from app.domain.session import SessionState, fold
from app.eventstore import Event

TEXT = [{"type": "text", "text": "hi"}]


def post(message_id: str = "m1", turn_id: str = "t1", **kw: Any) -> d.PostMessage:
    return d.PostMessage(session_id="s", message_id=message_id, parts=TEXT, robot_id="r",
                         author_id="a", new_turn_id=turn_id, **kw)


def started(turn_id: str = "t1", attempt: int = 1) -> TurnStarted:
    return TurnStarted(turn_id=turn_id, attempt=attempt, worker_id="w", robot_id="r",
                       robot_name="R", model="local/echo", playbook_digest="x")


def start(turn_id: str = "t1", lapsed_attempt: int | None = None) -> d.StartTurn:
    return d.StartTurn(turn_id=turn_id, worker_id="w2", robot_id="r", robot_name="R",
                       model="local/echo", playbook_digest="x", lapsed_attempt=lapsed_attempt)


def finish(turn_id: str = "t1", attempt: int = 1, outcome: str = "completed") -> d.FinishTurn:
    return d.FinishTurn(turn_id=turn_id, attempt=attempt, outcome=outcome, message_id="a1",
                        parts=[{"type": "text", "text": "yo"}], robot_id="r", robot_name="R",
                        model="local/echo")


def given(*events: Event) -> SessionState:
    return fold(list(events))


def runs_next(state: SessionState) -> str | None:
    """The turn the reactions hand to a worker after these events, if any."""
    turn = state.next_to_run
    return turn.turn_id if turn is not None else None


def cancel(turn_id: str = "t1") -> d.CancelTurn:
    return d.CancelTurn(turn_id=turn_id, requested_by="a")


def first_turn() -> list[Event]:
    return [SessionStarted(session_id="s", created_by="a"),
            MessagePosted(session_id="s", message_id="m1", parts=TEXT, author_id="a"),
            TurnRequested(session_id="s", turn_id="t1", message_id="m1", robot_id="r",
                          requested_by="a")]


def test_the_first_message_starts_the_session_and_requests_a_turn() -> None:
    events = d.post_message(given(), post())
    assert events == first_turn()
    assert runs_next(given(*events)) == "t1"


def test_posting_the_same_message_again_attaches_to_its_turn() -> None:
    state = given(*first_turn())
    assert d.post_message(state, post(turn_id="t-other")) == []
    assert state.turn_for_message("m1").turn_id == "t1"  # type: ignore[union-attr]


def test_a_second_message_while_a_turn_is_active_is_rejected_by_default() -> None:
    with pytest.raises(d.TurnActive) as raised:
        d.post_message(given(*first_turn(), started()), post("m2", "t2"))
    assert raised.value.turn_id == "t1"


def test_enqueue_queues_the_turn_behind_the_active_one() -> None:
    state = given(*first_turn())
    events = d.post_message(state, post("m2", "t2", multitask="enqueue"))
    assert [type(e) for e in events] == [MessagePosted, TurnRequested]
    assert runs_next(fold(events, state)) == "t1"


def test_interrupt_cancels_a_running_turn_and_queues_the_new_one() -> None:
    state = given(*first_turn(), started())
    events = d.post_message(state, post("m2", "t2", multitask="interrupt"))
    assert [type(e) for e in events] == [MessagePosted, TurnCancelRequested, TurnRequested]
    assert runs_next(fold(events, state)) is None  # runs once the worker has stopped t1


def test_interrupt_of_a_turn_not_yet_started_ends_it_and_runs_the_new_one() -> None:
    state = given(*first_turn())
    events = d.post_message(state, post("m2", "t2", multitask="interrupt"))
    assert TurnCancelled(turn_id="t1", attempt=0, reason="interrupt") in events
    assert runs_next(fold(events, state)) == "t2"


def test_a_deleted_session_takes_no_messages() -> None:
    from app.domain.events import SessionDeleted

    with pytest.raises(d.SessionGone):
        d.post_message(given(*first_turn(), SessionDeleted(session_id="s")), post("m2"))


def test_a_worker_starts_a_requested_turn_as_attempt_one() -> None:
    assert d.start_turn(given(*first_turn()), start()) == [
        TurnStarted(turn_id="t1", attempt=1, worker_id="w2", robot_id="r", robot_name="R",
                    model="local/echo", playbook_digest="x")]


def test_a_running_turn_with_a_live_lease_is_left_alone() -> None:
    assert d.start_turn(given(*first_turn(), started()), start()) == []


def test_a_running_turn_whose_worker_died_is_retried_as_the_next_attempt() -> None:
    events = d.start_turn(given(*first_turn(), started()), start(lapsed_attempt=1))
    assert isinstance(events[0], TurnStarted) and events[0].attempt == 2


def test_a_claim_that_lost_the_race_leaves_the_winners_attempt_alone() -> None:
    # It saw the turn requested (no lease to check); on retrying after the conflict the
    # turn is running as the winner's attempt 1, which it never found lapsed.
    assert d.start_turn(given(*first_turn(), started(attempt=1)), start()) == []
    # Nor may a lapse seen of attempt 1 take over attempt 2, started since.
    state = given(*first_turn(), started(attempt=1), started(attempt=2))
    assert d.start_turn(state, start(lapsed_attempt=1)) == []


def test_a_turn_abandoned_too_often_fails() -> None:
    state = given(*first_turn(), started(attempt=1), started(attempt=2), started(attempt=3))
    [event] = d.start_turn(state, start(lapsed_attempt=3))
    assert isinstance(event, TurnFailed) and "3 times" in event.error


def test_a_queued_turn_waits_behind_the_active_one() -> None:
    state = given(*first_turn(),
                  MessagePosted(session_id="s", message_id="m2", parts=TEXT),
                  TurnRequested(session_id="s", turn_id="t2", message_id="m2", robot_id="r"))
    assert d.start_turn(state, start("t2")) == []
    state = fold([started(), *d.finish_turn(fold([started()], state), finish())], state)
    assert isinstance(d.start_turn(state, start("t2"))[0], TurnStarted)


def test_finishing_appends_the_message_and_exactly_one_terminal_event() -> None:
    events = d.finish_turn(given(*first_turn(), started()), finish())
    assert [type(e) for e in events] == [AssistantMessageCompleted, TurnCompleted]
    state = fold(events, given(*first_turn(), started()))
    assert state.turn("t1").status == "completed"  # type: ignore[union-attr]
    assert [m.role for m in state.messages] == ["user", "assistant"]


def test_a_stale_attempt_cannot_finish() -> None:
    with pytest.raises(d.StaleAttempt):
        d.finish_turn(given(*first_turn(), started(attempt=1), started(attempt=2)), finish())
    with pytest.raises(d.StaleAttempt):
        d.finish_turn(given(*first_turn(), started(), TurnCompleted(
            turn_id="t1", attempt=1, finish_reason="stop")), finish())


def test_cancel_of_a_finished_turn_changes_nothing_and_cancel_is_idempotent() -> None:
    running = given(*first_turn(), started())
    assert d.cancel_turn(running, cancel()) == [
        TurnCancelRequested(turn_id="t1", requested_by="a")]
    requested_twice = fold(d.cancel_turn(running, cancel()), running)
    assert d.cancel_turn(requested_twice, cancel()) == []
    done = fold(d.finish_turn(running, finish()), running)
    assert d.cancel_turn(done, cancel()) == []
    with pytest.raises(d.UnknownTurn):
        d.cancel_turn(done, cancel("nope"))


def test_a_turn_cancelled_before_a_worker_claimed_it_ends_at_claim() -> None:
    state = given(*first_turn(), started(), TurnCancelRequested(turn_id="t1"))
    assert d.start_turn(state, start(lapsed_attempt=1)) == [
        TurnCancelled(turn_id="t1", attempt=1)]


def test_the_sweeper_gives_up_an_unfinished_turn_once() -> None:
    running = given(*first_turn(), started())
    events = d.give_up_turn(running, d.GiveUpTurn(turn_id="t1", reason="lost"))
    assert events == [TurnFailed(turn_id="t1", attempt=1, error="lost")]
    assert d.give_up_turn(fold(events, running), d.GiveUpTurn(turn_id="t1", reason="x")) == []
