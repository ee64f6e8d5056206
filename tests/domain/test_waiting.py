"""Turns that wait on people and clients, given events / when a command / then events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain import decisions as d
from app.domain.events import (
    AwaitedCall,
    MessagePosted,
    SessionStarted,
    StepCompleted,
    ToolApprovalAnswered,
    ToolCall,
    ToolCallCompleted,
    TurnBeganWaiting,
    TurnCancelled,
    TurnRequested,
    TurnResumed,
    TurnStarted,
)
from app.domain.robots import ClientTool, Robot
from app.domain.session import SessionSettings, SessionState, fold
from app.domain.steps import message_parts, next_move
from app.domain.tool_catalog import catalog_of
from app.domain.waits import wait_policy, with_robot_rules
from app.eventstore import Event

DELETE = ToolCall(call_id="c1", name="robot_delete", arguments='{"robot_id": "x"}')
LOOKUP = ToolCall(call_id="c2", name="robot_get", arguments='{"robot_id": "x"}')
PICK = ToolCall(call_id="c3", name="pick_colour", arguments="{}")
APPROVAL = AwaitedCall(call_id="c1", name="robot_delete", kind="approval",
                       approval_id="approval-c1")
CLIENT = AwaitedCall(call_id="c3", name="pick_colour", kind="client")


def given(*events: Event) -> SessionState:
    return fold([SessionStarted(session_id="s"),
                 MessagePosted(session_id="s", message_id="m1", parts=[]),
                 TurnRequested(session_id="s", turn_id="t1", message_id="m1", robot_id="r"),
                 TurnStarted(turn_id="t1", attempt=1, worker_id="w", robot_id="r",
                             robot_name="R", model="m", playbook_digest="x"),
                 *events])


def step(*calls: ToolCall) -> StepCompleted:
    parts = [{"type": "dynamic-tool", "toolCallId": c.call_id, "toolName": c.name,
              "state": "input-available", "input": {}} for c in calls]
    return StepCompleted(turn_id="t1", attempt=1, step=1, parts=parts,
                         tool_calls=list(calls), finish_reason="tool-calls")


def waits_for(name: str) -> str | None:
    return {"robot_delete": "approval", "pick_colour": "client"}.get(name)  # type: ignore[return-value]


def waiting(*calls: AwaitedCall) -> TurnBeganWaiting:
    return TurnBeganWaiting(turn_id="t1", attempt=1, calls=list(calls))


def test_calls_that_need_nothing_run_before_the_turn_waits_on_the_others() -> None:
    state = given(step(DELETE, LOOKUP, PICK))
    turn = state.turn("t1")
    assert turn is not None
    move = next_move(turn, 10, lambda _: True, waits_for)
    assert move.kind == "run-tools" and move.to_run == [LOOKUP]
    done = given(step(DELETE, LOOKUP, PICK), ToolCallCompleted(
        turn_id="t1", attempt=1, call_id="c2", name="robot_get", outcome="output", output={}))
    turn = done.turn("t1")
    assert turn is not None
    assert next_move(turn, 10, lambda _: True, waits_for).awaited == [APPROVAL, CLIENT]


def test_a_waiting_turn_shows_its_calls_as_the_ai_sdk_does() -> None:
    state = given(step(DELETE, PICK), waiting(APPROVAL, CLIENT))
    turn = state.turn("t1")
    assert turn is not None and turn.status == "waiting" and not turn.finished
    parts = message_parts(turn)
    assert parts[0]["state"] == "approval-requested"
    assert parts[0]["approval"] == {"id": "approval-c1"}
    assert parts[1]["state"] == "input-available"  # the client's to run


def test_answering_every_call_records_the_answers_and_resumes_the_turn() -> None:
    state = given(step(DELETE, PICK), waiting(APPROVAL, CLIENT))
    events = d.answer_calls(state, d.AnswerCalls(turn_id="t1", answered_by="a", answers=[
        d.CallAnswer(call_id="c1", kind="approval", approval_id="approval-c1",
                     approved=False, reason="not today"),
        d.CallAnswer(call_id="c3", kind="output", output={"colour": "teal"})]))
    assert [type(e).__name__ for e in events] == [
        "ToolApprovalAnswered", "ToolCallCompleted", "ToolCallCompleted", "TurnResumed"]
    denied = events[1]
    assert isinstance(denied, ToolCallCompleted) and denied.outcome == "denied"
    assert denied.error == "denied by the user: not today"
    after = fold(events, state)
    turn = after.turn("t1")
    assert turn is not None
    assert (turn.status, turn.segment, turn.stream_id) == ("requested", 1, "t1~1")
    assert after.next_to_run is turn  # the reactions hand it to a worker again
    assert [p["state"] for p in message_parts(turn)] == ["output-denied", "output-available"]


def test_an_approved_call_runs_when_the_turn_resumes() -> None:
    state = given(step(DELETE), waiting(APPROVAL),
                  ToolApprovalAnswered(turn_id="t1", call_id="c1", approval_id="approval-c1",
                                       approved=True), TurnResumed(turn_id="t1"))
    turn = state.turn("t1")
    assert turn is not None
    assert next_move(turn, 10, lambda _: True, waits_for).to_run == [DELETE]
    assert message_parts(turn)[0]["state"] == "approval-responded"


def test_half_an_answer_is_refused_and_names_the_calls_still_waiting() -> None:
    state = given(step(DELETE, PICK), waiting(APPROVAL, CLIENT))
    with pytest.raises(d.PartlyAnswered) as refused:
        d.answer_calls(state, d.AnswerCalls(turn_id="t1", answers=[
            d.CallAnswer(call_id="c3", kind="output", output={})]))
    assert refused.value.still_waiting == ["c1"]


def test_an_answer_to_a_call_that_does_not_wait_changes_nothing_and_says_why() -> None:
    state = given(step(DELETE), waiting(APPROVAL))
    answer = d.CallAnswer(call_id="c1", kind="approval", approval_id="approval-c1",
                          approved=True)
    answered = fold(d.answer_calls(state, d.AnswerCalls(turn_id="t1", answers=[answer])),
                    state)
    with pytest.raises(d.NotWaiting, match="answered before"):
        d.answer_calls(answered, d.AnswerCalls(turn_id="t1", answers=[answer]))
    with pytest.raises(d.NotWaiting, match="no such call"):
        d.answer_calls(state, d.AnswerCalls(turn_id="t1", answers=[
            d.CallAnswer(call_id="nope", kind="output", output={})]))


def test_a_new_message_while_calls_wait_is_refused_or_interrupts_them() -> None:
    state = given(step(DELETE), waiting(APPROVAL))
    new = d.PostMessage(session_id="s", message_id="m2", parts=[], robot_id="r",
                        author_id="a", new_turn_id="t2")
    with pytest.raises(d.TurnWaiting) as refused:
        d.post_message(state, new)
    assert refused.value.call_ids == ["c1"]
    events = d.post_message(state, d.PostMessage(
        session_id="s", message_id="m2", parts=[], robot_id="r", author_id="a",
        new_turn_id="t2", multitask="interrupt"))
    denied = [e for e in events if isinstance(e, ToolCallCompleted)]
    assert [(e.call_id, e.outcome) for e in denied] == [("c1", "denied")]
    assert any(isinstance(e, TurnCancelled) for e in events)
    assert fold(events, state).next_to_run is not None  # the new message runs


def test_a_wait_past_its_time_denies_the_calls_and_the_turn_goes_on() -> None:
    state = given(step(DELETE, PICK), waiting(APPROVAL, CLIENT))
    events = d.expire_wait(state, d.ExpireWait(turn_id="t1"))
    assert [(e.call_id, e.outcome, e.error) for e in events
            if isinstance(e, ToolCallCompleted)] == [
        ("c1", "denied", "no answer in time"), ("c3", "error", "no answer in time")]
    assert isinstance(events[-1], TurnResumed)
    turn = fold(events, state).turn("t1")
    assert turn is not None
    assert message_parts(turn)[0]["approval"] == {
        "id": "approval-c1", "approved": False, "reason": "no answer in time"}
    assert d.expire_wait(fold(events, state), d.ExpireWait(turn_id="t1")) == []


def test_a_resumed_turn_counts_its_attempts_afresh() -> None:
    state = given(step(DELETE), waiting(APPROVAL), ToolApprovalAnswered(
        turn_id="t1", call_id="c1", approval_id="approval-c1", approved=True),
        TurnResumed(turn_id="t1"))
    claim = d.StartTurn(turn_id="t1", worker_id="w", robot_id="r", robot_name="R",
                        model="m", playbook_digest="x", max_attempts=1)
    events = d.start_turn(state, claim)
    assert [type(e).__name__ for e in events] == ["TurnStarted"]


def test_outputs_the_client_echoes_from_its_message_are_not_answers() -> None:
    # The client sends its whole assistant message back: a call the server already ran
    # shows up as output-available beside the approval that is the real answer.
    state = given(step(LOOKUP, DELETE), ToolCallCompleted(
        turn_id="t1", attempt=1, call_id="c2", name="robot_get", outcome="output",
        output={}), waiting(APPROVAL))
    events = d.answer_calls(state, d.AnswerCalls(turn_id="t1", answers=[
        d.CallAnswer(call_id="c2", kind="output", output={}),
        d.CallAnswer(call_id="c1", kind="approval", approval_id="approval-c1",
                     approved=True)]))
    assert [type(e).__name__ for e in events] == ["ToolApprovalAnswered", "TurnResumed"]
    with pytest.raises(d.NotWaiting, match="answers no call"):
        d.answer_calls(state, d.AnswerCalls(turn_id="t1", answers=[
            d.CallAnswer(call_id="c2", kind="output", output={})]))


def _robot(**fields: Any) -> Robot:
    return Robot(id=uuid.uuid4(), name="r", description="", playbook="", model=None,
                 tools=["current_time", "robot_delete", "robot_get"], meta={}, author_id=None,
                 created_at=datetime.now(UTC), updated_at=datetime.now(UTC), **fields)


def test_which_calls_wait_and_for_what() -> None:
    # Given a robot with a client tool, one tool marked for approval, and robot_delete
    robot = _robot(client_tools=[ClientTool(name="pick_colour")],
                   tools_requiring_approval=["robot_get"])
    catalog = with_robot_rules(catalog_of(robot.tools, {}), robot)
    # When the session runs its tools (Julep's defaults)
    runs = wait_policy(catalog, SessionSettings())
    # Then only the marked and the confirming tools wait for a person, the client's tool
    # for the client, and the rest run now
    assert [runs(n) for n in ("current_time", "robot_delete", "robot_get", "pick_colour")] == [
        None, "approval", "approval", "client"]
    # And with either of Julep's options every call is the client's
    for settings in (SessionSettings(auto_run_tools=False),
                     SessionSettings(forward_tool_calls=True)):
        waits = wait_policy(catalog, settings)
        assert {waits(n) for n in ("current_time", "robot_delete", "pick_colour")} == {
            "client"}
