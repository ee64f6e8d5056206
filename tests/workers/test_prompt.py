"""The prompt: system template or playbook, and history fitted to the token budget."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain.events import (
    AssistantMessageCompleted,
    MessagePosted,
    SessionSettingsChanged,
    SessionStarted,
    TurnRequested,
)
from app.domain.robots import Robot
from app.domain.session import fold
from workers.turns.prompt import PromptError, build_request

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ROBOT = Robot(id=uuid.uuid4(), name="Mod", description="moderates", playbook="Be fair.",
              model=None, tools=[], meta={}, author_id=None, created_at=NOW, updated_at=NOW)


def session(*settings: SessionSettingsChanged, words: int = 10, count: int = 6) -> Any:
    events: list[Any] = [SessionStarted(session_id="s", name="Night shift")]
    events += settings
    for i in range(count):
        text = f"m{i} " + "word " * words
        events.append(MessagePosted(session_id="s", message_id=f"m{i}",
                                    parts=[{"type": "text", "text": text}]))
    events.append(TurnRequested(session_id="s", turn_id="t", message_id="m3", robot_id="r"))
    state = fold(events)
    return state, state.turn("t")


def test_without_options_the_playbook_is_the_system_prompt_and_history_stops_at_the_turn(
) -> None:
    state, turn = session()
    request = build_request(state, turn, ROBOT, "echo")
    assert request.system == "Be fair."
    assert [m.text.split()[0] for m in request.messages] == ["m0", "m1", "m2", "m3"]


def test_a_situation_follows_the_playbook() -> None:
    state, turn = session(SessionSettingsChanged(session_id="s", situation="A raid is on."))
    assert build_request(state, turn, ROBOT, "x").system == "Be fair.\n\nSituation: A raid is on."


def test_a_system_template_is_rendered_with_the_robot_and_session() -> None:
    template = ("{{ robot.name }} on {{ session.name }}: {{ session.situation }}"
                " {{ robot.playbook }}")
    state, turn = session(SessionSettingsChanged(
        session_id="s", situation="calm", system_template=template))
    assert build_request(state, turn, ROBOT, "x").system == "Mod on Night shift: calm Be fair."
    raw, turn = session(SessionSettingsChanged(session_id="s", system_template=template,
                                               render_templates=False))
    assert build_request(raw, turn, ROBOT, "x").system == template


def test_truncate_keeps_the_newest_messages_that_fit_the_budget() -> None:
    state, turn = session(SessionSettingsChanged(session_id="s", token_budget=40,
                                                 context_overflow="truncate"), words=10)
    kept = [m.text.split()[0] for m in build_request(state, turn, ROBOT, "x").messages]
    assert kept[-1] == "m3" and "m0" not in kept and 1 <= len(kept) < 4


def test_over_budget_without_an_overflow_policy_is_a_clear_error() -> None:
    state, turn = session(SessionSettingsChanged(session_id="s", token_budget=40), words=10)
    with pytest.raises(PromptError, match="token_budget of 40"):
        build_request(state, turn, ROBOT, "x")


def test_a_template_that_fails_to_render_is_a_clear_error() -> None:
    state, turn = session(SessionSettingsChanged(session_id="s",
                                                 system_template="{{ 1 / 0 }}"))
    with pytest.raises(PromptError, match="system_template failed to render"):
        build_request(state, turn, ROBOT, "x")


def a_reply_with_a_tool_call(output_words: int) -> AssistantMessageCompleted:
    return AssistantMessageCompleted(
        turn_id="t1", message_id="msg-t1", robot_id="r", robot_name="R", model="local/echo",
        parts=[{"type": "step-start"},
               {"type": "dynamic-tool", "toolCallId": "c-t1", "toolName": "robot_list",
                "state": "output-available", "input": {},
                "output": {"robots": "x " * output_words}},
               {"type": "step-start"}, {"type": "text", "text": "There are robots."}])


def two_questions(*settings: SessionSettingsChanged, output_words: int = 40) -> Any:
    """q1 answered with a tool call and text, then q2 asked: the state and q2's turn."""
    state = fold([
        SessionStarted(session_id="s"), *settings,
        MessagePosted(session_id="s", message_id="q1",
                      parts=[{"type": "text", "text": "question 1"}]),
        TurnRequested(session_id="s", turn_id="t1", message_id="q1", robot_id="r"),
        a_reply_with_a_tool_call(output_words),
        MessagePosted(session_id="s", message_id="q2",
                      parts=[{"type": "text", "text": "question 2"}]),
        TurnRequested(session_id="s", turn_id="t2", message_id="q2", robot_id="r")])
    return state, state.turn("t2")


def test_a_reply_goes_to_the_model_as_its_calls_then_their_results_then_its_text() -> None:
    request = build_request(*two_questions(), ROBOT, "echo")
    assert [m.role for m in request.messages] == ["user", "assistant", "tool", "assistant",
                                                  "user"]
    assert request.messages[1].tool_calls[0].call_id == "c-t1"
    assert request.messages[2].tool_results[0].call_id == "c-t1"
    assert request.messages[3].text == "There are robots."


def test_a_budget_that_cannot_hold_a_reply_drops_it_whole_never_its_call_alone() -> None:
    budget = SessionSettingsChanged(session_id="s", token_budget=30,
                                    context_overflow="truncate")
    request = build_request(*two_questions(budget), ROBOT, "echo")
    assert [(m.role, m.text) for m in request.messages] == [("user", "question 2")]
    # A budget that holds the reply keeps the call with its result.
    roomy = SessionSettingsChanged(session_id="s", token_budget=60,
                                   context_overflow="truncate")
    kept = build_request(*two_questions(roomy, output_words=4), ROBOT, "echo")
    assert [m.role for m in kept.messages] == ["user", "assistant", "tool", "assistant",
                                               "user"]
