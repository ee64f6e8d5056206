"""Pure parts of tool support: reading tool history in both dialects, the local model's own
tool habits, per-model script queues, and Anthropic's `tool_use` input."""

from __future__ import annotations

from typing import Any

import pytest

from app.adapters.llm.local_model import Prompt, Script, ScriptedToolCall, SeenToolResult
from app.adapters.llm.local_model.anthropic_wire import AnthropicWire
from app.adapters.llm.local_model.book import ScriptBook
from app.adapters.llm.local_model.habits import habit_for, quote_result
from app.adapters.llm.local_model.openai_wire import OpenAIWire
from app.adapters.llm.local_model.plan import plan_reply
from app.adapters.llm.local_model.wire import BadRequest
from tests.providers.support import NOW


def openai_prompt(messages: list[dict[str, Any]], tools: object = None) -> Prompt:
    body: dict[str, Any] = {"model": "m", "messages": messages}
    if tools is not None:
        body["tools"] = tools
    return OpenAIWire().parse(body).prompt


def anthropic_prompt(messages: list[dict[str, Any]], tools: object = None) -> Prompt:
    body: dict[str, Any] = {"model": "m", "max_tokens": 10, "messages": messages}
    if tools is not None:
        body["tools"] = tools
    return AnthropicWire().parse(body).prompt


def test_openai_tool_history_is_read_with_names_from_the_calls() -> None:
    prompt = openai_prompt([
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "time?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "current_time",
                                                          "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": NOW}]},
    ], tools=[{"type": "function", "function": {"name": "current_time"}},
              {"type": "custom", "custom": {"name": "grep"}}])

    assert prompt == Prompt(last_user_text="time?", input_words=5, tools=("current_time", "grep"),
                            last_speaker="tool", said=3,
                            tool_results=(SeenToolResult("c1", "current_time", NOW),))
    assert prompt.ends_with_tool_results


def test_anthropic_results_alone_are_not_the_user_speaking() -> None:
    prompt = anthropic_prompt([
        {"role": "user", "content": [{"type": "text", "text": "time?"}]},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "t1", "name": "current_time", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "is_error": True,
             "content": [{"type": "text", "text": "clock"}, {"type": "text", "text": "broke"}]}]},
    ], tools=[{"name": "current_time", "input_schema": {"type": "object"}}])

    assert prompt.last_user_text == "time?"
    assert prompt.last_speaker == "tool"
    assert prompt.tools == ("current_time",)
    assert prompt.tool_results == (SeenToolResult("t1", "current_time", "clock\nbroke", True),)


def test_anthropic_results_then_text_is_the_user_speaking_after_them() -> None:
    prompt = anthropic_prompt([
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": "done"},
            {"type": "text", "text": "Now what?"}]},
    ])

    assert (prompt.last_user_text, prompt.last_speaker, prompt.tool_results) == (
        "Now what?", "user", ())
    assert prompt.said == 2


@pytest.mark.parametrize("messages", [
    [{"role": "tool", "content": None}],
    [{"role": "assistant", "tool_calls": "oops"}, {"role": "tool", "tool_call_id": 7}],
    [{"role": "assistant", "tool_calls": [{"id": "c", "function": None}, "x"]}],
    [{"role": "function", "name": "f", "content": "old style"}],
])
def test_odd_openai_tool_shapes_are_read_not_refused(messages: list[dict[str, Any]]) -> None:
    tools = [{"type": "function"}, "x", {"function": {}}, {"function": {"name": "ok"}}]
    assert openai_prompt(messages, tools).tools == ("ok",)  # nameless tools are no tools


@pytest.mark.parametrize("content", [
    [{"type": "tool_result"}],
    [{"type": "tool_result", "tool_use_id": "t", "content": {"odd": 1}, "is_error": "yes"}],
    [{"type": "tool_use"}, "text", 3],
])
def test_odd_anthropic_tool_shapes_are_read_not_refused(content: list[Any]) -> None:
    prompt = anthropic_prompt([{"role": "user", "content": content},
                               {"role": "assistant", "content": content}],
                              tools=[{"input_schema": {}}, 1, {"name": "ok"}])
    assert (prompt.tools, prompt.last_speaker) == (("ok",), "assistant")


def test_tools_must_be_a_list() -> None:
    with pytest.raises(BadRequest, match="tools"):
        openai_prompt([], tools={"name": "x"})
    with pytest.raises(BadRequest, match="tools"):
        anthropic_prompt([], tools="current_time")


def _asked(text: str, tools: tuple[str, ...] = ("current_time",), said: int = 1) -> Prompt:
    return Prompt(last_user_text=text, input_words=1, tools=tools, last_speaker="user",
                  said=said)


def test_asked_the_time_with_the_tool_on_offer_it_calls_the_tool() -> None:
    habit = habit_for(_asked("what's the time, robot?", said=3))
    assert habit is not None
    assert habit.text == ""
    assert habit.tool_calls == (
        ScriptedToolCall(name="current_time"),)


@pytest.mark.parametrize("prompt", [
    _asked("what time is it?", tools=("search",)),
    _asked("overtime and timetables"),
    Prompt(last_user_text="time?", input_words=1, tools=("current_time",),
           last_speaker="assistant"),
    Prompt(last_user_text="time?", input_words=1),
])
def test_no_habit_without_tool_word_or_the_users_turn(prompt: Prompt) -> None:
    assert habit_for(prompt) is None


def test_tool_results_at_the_end_are_quoted_in_order() -> None:
    results = (SeenToolResult("c1", "current_time", f" {NOW}\n"),
               SeenToolResult("c2", "search", "no index", is_error=True),
               SeenToolResult("c3", "", ""))
    prompt = Prompt(last_user_text="time?", input_words=1, tools=("current_time",),
                    last_speaker="tool", tool_results=results)

    habit = habit_for(prompt)

    assert habit is not None and habit.tool_calls == ()
    assert habit.text == (f"The current_time tool answered: {NOW}. "
                          "The search tool failed: no index. "
                          "The unknown tool answered with nothing.")
    assert quote_result(results[0]) == f"The current_time tool answered: {NOW}."


def test_a_plan_from_a_habit_is_a_bare_call_finishing_with_tool_calls() -> None:
    plan = plan_reply(Script(), _asked("time please"))
    assert (plan.text, plan.finish_reason) == ((), "tool_calls")
    assert [(c.call_id, c.name, "".join(c.pieces)) for c in plan.tool_calls] == [
        ("call_local_1_0", "current_time", "{}")]


def test_scripted_answers_and_scripted_calls_leave_habits_out() -> None:
    asked = _asked("time please")
    assert plan_reply(Script(text="No."), asked).full_text == "No."
    scripted = plan_reply(Script(tool_calls=(ScriptedToolCall(name="x"),)), asked)
    assert [c.name for c in scripted.tool_calls] == ["x"]
    assert scripted.full_text.startswith("Hello! You said: time please.")


def test_a_quote_is_cut_at_max_tokens_like_any_answer() -> None:
    prompt = Prompt(last_user_text="", input_words=1, max_tokens=3, last_speaker="tool",
                    tool_results=(SeenToolResult("c", "current_time", NOW),))
    plan = plan_reply(Script(), prompt)
    assert (plan.full_text, plan.finish_reason) == ("The current_time tool", "length")


def test_model_queues_come_after_the_global_queue_and_before_standing_scripts() -> None:
    book = ScriptBook(Script(text="default"))
    book.by_model["a"] = Script(text="standing")
    book.enqueue_for_model("a", Script(text="a1"), Script(text="a2"))
    book.enqueue_for_model("b", Script(text="b1"))
    book.enqueue(Script(text="global"))

    answers = [book.take(m)[0].text for m in ["b", "a", "b", "a", "a", "a"]]

    assert answers == ["global", "a1", "b1", "a2", "standing", "standing"]
    assert (book.queued, book.queued_for("a"), book.queued_for("b")) == (0, 0, 0)


def test_a_model_queue_rate_limits_like_the_global_one() -> None:
    book = ScriptBook()
    book.enqueue_for_model("a", Script(text="late", rate_limit=2), Script(text="next"))
    answers = [book.take("a") for _ in range(4)]
    assert [(s.text, limited) for s, limited in answers] == [
        ("late", True), ("late", True), ("late", False), ("next", False)]


def test_reset_forgets_model_queues() -> None:
    book = ScriptBook()
    book.enqueue_for_model("a", Script(text="a1"))
    book.reset()
    assert book.queued_for("a") == 0
    assert book.take("a")[0] == Script()
