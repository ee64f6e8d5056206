"""What a prompt holds when history outgrows the token budget: given a session's events
(summaries among them), when the worker builds a turn's prompt, then its system prompt and
messages, and how many messages it left out."""

from __future__ import annotations

from app.adapters.llm import PromptMessage
from app.domain.events import SessionSettingsChanged, SessionSummarised
from app.domain.session import SessionState
from tests.workers.summaries_support import (
    ROBOT,
    SYSTEM,
    adaptive,
    exchanges,
    given,
    question,
    summarised,
)
from workers.turns.prompt import SUMMARY_HEADING, Built, build
from workers.turns.summary_plan import plan_summary


def prompt_for(state: SessionState, turn_id: str) -> Built:
    turn = state.turn(turn_id)
    assert turn is not None
    return build(state, turn, ROBOT, "echo")


def heads(messages: list[PromptMessage]) -> list[str]:
    """Each message's first word, or its role when it has no text."""
    return [m.text.split()[0] if m.text else m.role for m in messages]


def test_with_a_summary_the_prompt_holds_it_then_the_messages_after_it() -> None:
    state = given(adaptive(200), *exchanges(5), summarised("r3", 8, "S1"), *question(5))

    request, truncated = prompt_for(state, "t5")

    assert request.system == f"{SYSTEM}\n\n{SUMMARY_HEADING}\nS1"
    assert heads(request.messages) == ["q4", "r4", "q5"]
    assert truncated == 0


def test_a_summary_set_by_hand_wins_until_the_next_automatic_one() -> None:
    by_hand = SessionSettingsChanged(session_id="s", summary="Mods agreed on a rota.")
    before = [adaptive(200), *exchanges(5), summarised("r3", 8, "S1"), by_hand]

    request, _ = prompt_for(given(*before, *question(5)), "t5")
    assert request.system.endswith(f"{SUMMARY_HEADING}\nMods agreed on a rota.")
    assert "S1" not in request.system and heads(request.messages) == ["q4", "r4", "q5"]

    later = given(*before, *exchanges(1, start=5), summarised("r4", 10, "S2"), *question(6))
    request, _ = prompt_for(later, "t6")
    assert request.system.endswith(f"{SUMMARY_HEADING}\nS2") and "rota" not in request.system
    assert heads(request.messages) == ["q5", "r5", "q6"]


def test_without_a_summary_adaptive_truncates_as_truncate_does_and_counts_what_it_left_out(
) -> None:
    truncating = SessionSettingsChanged(session_id="s", token_budget=100,
                                        context_overflow="truncate")
    adaptive_turn = prompt_for(given(adaptive(100), *exchanges(5), *question(5)), "t5")
    truncate_turn = prompt_for(given(truncating, *exchanges(5), *question(5)), "t5")

    # 6 (system) + 5 x 17 fit in 100: the newest five of the eleven messages.
    assert heads(adaptive_turn.request.messages) == ["q3", "r3", "q4", "r4", "q5"]
    assert adaptive_turn == truncate_turn
    assert adaptive_turn.history_truncated == 6


def test_the_system_prompt_counts_against_the_budget() -> None:
    budget = SessionSettingsChanged(session_id="s", token_budget=60,
                                    context_overflow="truncate")
    plain = prompt_for(given(budget, *exchanges(2), *question(2)), "t2")
    situated = prompt_for(given(budget, SessionSettingsChanged(
        session_id="s", situation="the raid " * 13), *exchanges(2), *question(2)), "t2")

    assert (heads(plain.request.messages), plain.history_truncated) == (["q1", "r1", "q2"], 2)
    assert (heads(situated.request.messages), situated.history_truncated) == (["q2"], 4)


def test_truncate_and_no_overflow_policy_leave_a_summary_out() -> None:
    summarised_before = [adaptive(100), *exchanges(5), summarised("r3", 8, "S1")]
    truncating = SessionSettingsChanged(session_id="s", context_overflow="truncate")
    request, truncated = prompt_for(given(*summarised_before, truncating, *question(5)), "t5")
    assert request.system == SYSTEM  # and the budget is fitted from the whole history
    assert (heads(request.messages), truncated) == (["q3", "r3", "q4", "r4", "q5"], 6)

    unbounded = SessionSettingsChanged(session_id="s", context_overflow=None, token_budget=None)
    request, truncated = prompt_for(given(*summarised_before, unbounded, *question(5)), "t5")
    assert request.system == SYSTEM and len(request.messages) == 11 and truncated == 0


def test_a_system_template_that_shows_the_summary_places_it_itself() -> None:
    template = SessionSettingsChanged(
        session_id="s", system_template="{{ robot.playbook }} Notes: {{ session.summary }}")
    state = given(adaptive(200), template, *exchanges(5), summarised("r3", 8, "S1"),
                  *question(5))
    assert prompt_for(state, "t5").request.system == "Be fair. Notes: S1"


def test_a_system_template_that_only_mentions_a_summary_still_gets_it() -> None:
    template = SessionSettingsChanged(
        session_id="s", system_template="{{ robot.playbook }} Give a short summary at the end.")
    state = given(adaptive(200), template, *exchanges(5), summarised("r3", 8, "S1"),
                  *question(5))
    assert prompt_for(state, "t5").request.system.endswith(f"{SUMMARY_HEADING}\nS1")


def test_a_tool_call_and_its_result_are_summarised_together_or_kept_together() -> None:
    events = [adaptive(300), *exchanges(5, tools=30)]
    plan = plan_summary(given(*events), SYSTEM)
    assert plan is not None
    made = SessionSummarised(session_id="s", summary="S1", first_message_id="q0",
                             last_message_id=plan.last_message_id, messages=plan.messages,
                             model="local/echo")

    request, _ = prompt_for(given(*events, made, *question(5)), "t5")

    calls = [c.call_id for m in request.messages for c in m.tool_calls]
    results = [r.call_id for m in request.messages for r in m.tool_results]
    assert calls == results == ["c4"]
    assert [m.role for m in request.messages] == ["user", "assistant", "tool", "assistant",
                                                  "user"]
