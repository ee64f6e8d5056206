"""When a session is summarised and which messages the summary covers: given a session's
events, when a worker plans a summary, then what it summarises (or that it need not)."""

from __future__ import annotations

from app.domain.events import SessionSettingsChanged
from tests.workers.summaries_support import (
    SYSTEM,
    adaptive,
    exchanges,
    given,
    question,
    summarised,
)
from workers.turns.summary_plan import INSTRUCTION, plan_summary, summary_request, transcript


def ids(plan: object) -> list[str]:
    return [e.message_id for e in plan.entries]  # type: ignore[attr-defined]


def test_a_session_below_80_percent_of_its_budget_is_not_summarised() -> None:
    state = given(adaptive(200), *exchanges(4))  # 6 + 4 x 34 = 142 of 200
    assert plan_summary(state, SYSTEM) is None


def test_past_80_percent_the_oldest_exchanges_are_summarised_and_the_newest_kept() -> None:
    state = given(adaptive(200), *exchanges(5))  # 6 + 5 x 34 = 176 of 200

    plan = plan_summary(state, SYSTEM)

    # What stays must fit in half the budget beside the system prompt and the summary's
    # 50 tokens: the last exchange (34 tokens).
    assert plan is not None
    assert ids(plan) == ["q0", "r0", "q1", "r1", "q2", "r2", "q3", "r3"]
    assert (plan.first_message_id, plan.last_message_id, plan.messages) == ("q0", "r3", 8)
    assert plan.previous is None and plan.max_tokens == 50


def test_only_adaptive_sessions_with_a_budget_are_summarised() -> None:
    truncating = SessionSettingsChanged(session_id="s", token_budget=200,
                                        context_overflow="truncate")
    unbounded = SessionSettingsChanged(session_id="s", context_overflow="adaptive")
    assert plan_summary(given(truncating, *exchanges(8)), SYSTEM) is None
    assert plan_summary(given(unbounded, *exchanges(8)), SYSTEM) is None
    assert plan_summary(given(*exchanges(8)), SYSTEM) is None


def test_the_system_prompt_counts_towards_the_budget() -> None:
    state = given(adaptive(200), *exchanges(4))  # 142 with a short playbook
    assert plan_summary(state, SYSTEM + " Keep the peace." * 6) is not None  # 165


def test_a_question_whose_turn_has_not_finished_is_neither_counted_nor_summarised() -> None:
    state = given(adaptive(200), *exchanges(4), *question(4, words=200))
    assert plan_summary(state, SYSTEM) is None
    running = given(adaptive(200), *exchanges(5), *question(5, words=200))
    plan = plan_summary(running, SYSTEM)
    assert plan is not None and "q5" not in ids(plan) and plan.last_message_id == "r3"


def test_a_later_summary_covers_what_came_after_the_last_one_and_builds_on_it() -> None:
    state = given(adaptive(200), *exchanges(5), summarised("r3", 8, "S1"),
                  *exchanges(4, start=5))

    plan = plan_summary(state, SYSTEM)

    assert plan is not None
    assert ids(plan) == ["q4", "r4", "q5", "r5", "q6", "r6", "q7", "r7"]
    assert (plan.first_message_id, plan.last_message_id, plan.messages) == ("q0", "r7", 16)
    assert plan.previous == "S1"
    assert transcript(plan).splitlines()[:2] == ["Summary so far: S1", "User: q4 " + "word " * 10]


def test_a_summary_set_by_hand_is_what_the_next_one_builds_on() -> None:
    by_hand = SessionSettingsChanged(session_id="s", summary="Mods agreed on a rota.")
    state = given(adaptive(200), *exchanges(5), summarised("r3", 8), by_hand,
                  *exchanges(4, start=5))
    plan = plan_summary(state, SYSTEM)
    assert plan is not None and plan.previous == "Mods agreed on a rota."
    assert transcript(plan).startswith("Summary so far: Mods agreed on a rota.\n")


def test_a_reply_with_tool_calls_is_summarised_whole_with_its_question() -> None:
    # Each exchange is 51 tokens: a question (17), a call and its result (26), text (8).
    state = given(adaptive(300), *exchanges(5, tools=30))

    plan = plan_summary(state, SYSTEM)

    assert plan is not None and plan.last_message_id == "r3"
    lines = transcript(plan).splitlines()
    assert [line.split(" ")[:3] for line in lines if "robot_list" in line] == [
        ["Assistant", "called", "robot_list({})"], ["Tool", "robot_list", "answered:"]] * 4


def test_a_cut_that_would_open_with_a_reply_takes_the_reply_too() -> None:
    # Only the last reply (34 tokens) would fit what may stay; alone it would open the
    # conversation with a reply, so it is summarised with its question.
    plan = plan_summary(given(adaptive(200), *exchanges(4, tools=30)), SYSTEM)
    assert plan is not None and ids(plan)[-2:] == ["q3", "r3"] and plan.messages == 8


def test_the_model_is_asked_for_a_summary_of_a_transcript_without_tools() -> None:
    plan = plan_summary(given(adaptive(200), *exchanges(5)), SYSTEM)
    assert plan is not None

    request = summary_request(plan, "echo")

    assert request.system == INSTRUCTION and request.tools == []
    assert [m.role for m in request.messages] == ["user"]
    assert request.messages[0].text == transcript(plan)
    assert request.max_tokens == plan.max_tokens
