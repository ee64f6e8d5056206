"""The local model with tools, over HTTP: its own `current_time` round trip, what it reads
of a conversation with tool results, and scripts queued for one model."""

from __future__ import annotations

import asyncio

import msgspec

from app.adapters.llm import (
    LOCAL_MODEL,
    Finished,
    ModelEvent,
    ModelRequest,
    PromptMessage,
    PromptToolCall,
    PromptToolResult,
    ProviderConfig,
    TextDelta,
    ToolInputEnded,
    ToolInputStarted,
    ToolSpec,
    build_provider,
)
from app.adapters.llm.local_model import (
    LocalModelServer,
    Prompt,
    Script,
    ScriptedToolCall,
    SeenToolResult,
    default_reply,
)
from app.adapters.llm.local_model.anthropic_wire import AnthropicWire
from app.adapters.llm.local_model.openai_wire import OpenAIWire
from tests.providers.conftest import MakeProvider
from tests.providers.support import (
    HISTORY,
    MODEL_OF,
    NOW,
    collect,
    of_type,
    request_for,
    text_of,
)

CLOCK = ToolSpec(name="current_time", description="The current time.",
                 input_schema={"type": "object", "properties": {}})


def ask(model: str, messages: list[PromptMessage],
        tools: list[ToolSpec] | None = None) -> ModelRequest:
    return ModelRequest(model=model, system="Be brief.", messages=messages,
                        tools=[CLOCK] if tools is None else tools)


def answered(question: str, call: ToolInputEnded, output: str) -> list[PromptMessage]:
    """The conversation after the model's call was run and gave `output`."""
    return [
        PromptMessage("user", question),
        PromptMessage("assistant", tool_calls=[
            PromptToolCall(call.call_id, call.name, call.arguments)]),
        PromptMessage("tool", tool_results=[PromptToolResult(call.call_id, call.name, output)]),
    ]


async def test_asked_the_time_it_calls_current_time_then_quotes_the_answer(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    provider = make_provider(kind)
    question = "What TIME is it?"

    first = await collect(provider, ask(MODEL_OF[kind], [PromptMessage("user", question)]))

    assert of_type(first, TextDelta) == []
    [call] = of_type(first, ToolInputEnded)
    assert call == ToolInputEnded("call_local_1_0", "current_time", "{}")
    assert of_type(first, ToolInputStarted) == [ToolInputStarted(call.call_id, call.name)]
    assert first[-1] == Finished("tool-calls")

    second = await collect(provider, ask(MODEL_OF[kind], answered(question, call, NOW)))

    assert text_of(second) == f"The current_time tool answered: {NOW}."
    assert of_type(second, ToolInputStarted) == []
    assert second[-1] == Finished("stop")


async def test_each_time_question_in_a_conversation_gets_its_own_call_id(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    first_call = ToolInputEnded("call_local_1_0", "current_time", "{}")
    history = [*answered("time?", first_call, NOW), PromptMessage("assistant", "It is noon."),
               PromptMessage("user", "And the time now?")]

    events = await collect(make_provider(kind), ask(MODEL_OF[kind], history))

    [call] = of_type(events, ToolInputEnded)
    assert call.name == "current_time" and call.call_id != first_call.call_id


async def test_without_the_tool_or_the_word_it_gives_the_default_reply(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    provider = make_provider(kind)
    search = ToolSpec(name="search", description="Search.", input_schema={"type": "object"})
    cases = [("What time is it?", [search]),  # no current_time on offer
             ("Sometimes I wonder.", [CLOCK]),  # "time" only inside another word
             ("Timely, timer, times.", [CLOCK])]

    for prompt, tools in cases:
        events = await collect(provider, ask(MODEL_OF[kind], [PromptMessage("user", prompt)],
                                             tools))
        assert text_of(events) == default_reply(prompt), prompt
        assert events[-1] == Finished("stop")


async def test_a_script_still_decides_when_one_is_set(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    server.set_default(Script(text="Scripted."))

    events = await collect(make_provider(kind),
                           ask(MODEL_OF[kind], [PromptMessage("user", "What time is it?")]))

    assert text_of(events) == "Scripted."
    assert of_type(events, ToolInputEnded) == []


async def test_the_local_provider_does_the_round_trip_offline() -> None:
    provider = build_provider(ProviderConfig(name="local", kind="local"))
    try:
        first = await collect(provider, ask(LOCAL_MODEL, [PromptMessage("user", "time?")]))
        [call] = of_type(first, ToolInputEnded)
        second = await collect(provider, ask(LOCAL_MODEL, answered("time?", call, NOW)))
    finally:
        await provider.aclose()

    assert (call.name, call.arguments, first[-1]) == ("current_time", "{}", Finished("tool-calls"))
    assert text_of(second) == f"The current_time tool answered: {NOW}."


async def test_both_dialects_of_one_history_read_the_same(
    server: LocalModelServer, make_provider: MakeProvider
) -> None:
    tail = [PromptMessage("assistant", "Once more.", tool_calls=[
                PromptToolCall("call_4", "current_time", "{}")]),
            PromptMessage("tool", tool_results=[
                PromptToolResult("call_4", "current_time", NOW, is_error=True)])]
    for kind in ("openai", "anthropic"):
        await collect(make_provider(kind), ask(MODEL_OF[kind], [*HISTORY, *tail]))
    openai_body, anthropic_body = (r.body for r in server.completions())

    from_openai = OpenAIWire().parse(openai_body).prompt
    from_anthropic = AnthropicWire().parse(anthropic_body).prompt

    # Said: 2 user messages, 2 assistant ones, 4 tool results. Words: system, texts, outputs.
    assert from_anthropic == Prompt(
        last_user_text="Thanks. And tomorrow?", input_words=28, max_tokens=1024,
        tools=("current_time",), last_speaker="tool",
        tool_results=(SeenToolResult("call_4", "current_time", NOW, is_error=True),), said=8)
    # OpenAI has no error flag: the same result, but not marked as one.
    assert from_openai == msgspec.structs.replace(
        from_anthropic, tool_results=(SeenToolResult("call_4", "current_time", NOW),))


def tool_step(call_id: str) -> Script:
    return Script(text="", tool_calls=(
        ScriptedToolCall(name="search", arguments='{"query": "x"}', call_id=call_id),))


async def test_a_models_queue_answers_its_requests_in_order_then_its_standing_script(
    server: LocalModelServer, make_provider: MakeProvider
) -> None:
    provider = make_provider("openai")
    server.enqueue_for_model("robot-a", tool_step("s1"), tool_step("s2"), Script(text="Done."))
    server.set_model_script("robot-a", Script(text="Standing."))

    async def answer(model: str, prompt: str = "go") -> list[ModelEvent]:
        return await collect(provider, request_for(model, prompt))

    first = await answer("robot-a")
    other = await answer("robot-b", "unrelated")  # another test's model: untouched
    second = await answer("robot-a")
    third = await answer("robot-a")
    after = await answer("robot-a")

    assert [e.call_id for e in of_type(first + second, ToolInputEnded)] == ["s1", "s2"]
    assert text_of(other) == default_reply("unrelated")
    assert text_of(third) == "Done."
    assert text_of(after) == "Standing."
    assert server.app.book.queued_for("robot-a") == 0


async def test_the_global_queue_comes_before_a_models_queue(
    server: LocalModelServer, make_provider: MakeProvider
) -> None:
    provider = make_provider("anthropic")
    server.enqueue_for_model("robot-a", Script(text="Mine."))
    server.enqueue(Script(text="Everyone's."))

    first = await collect(provider, request_for("robot-a"))
    second = await collect(provider, request_for("robot-a"))

    assert [text_of(first), text_of(second)] == ["Everyone's.", "Mine."]


async def test_a_models_queued_script_rate_limits_then_answers(
    server: LocalModelServer, make_provider: MakeProvider
) -> None:
    server.enqueue_for_model("robot-a", Script(text="Late.", rate_limit=2, retry_after_s=0.01),
                             Script(text="Next."))

    first = await collect(make_provider("openai"), request_for("robot-a"))
    second = await collect(make_provider("openai"), request_for("robot-a"))

    assert [text_of(first), text_of(second)] == ["Late.", "Next."]
    assert len(server.completions()) == 4  # two 429s, then one answer each


async def test_a_scripted_three_step_turn_while_other_requests_share_the_server(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    provider = make_provider(kind)
    server.enqueue_for_model("robot-a", tool_step("s1"), tool_step("s2"), Script(text="All done."))

    async def turn() -> list[list[ModelEvent]]:
        steps = []
        messages = [PromptMessage("user", "Do the thing.")]
        for _ in range(3):
            events = await collect(provider, ask("robot-a", messages))
            steps.append(events)
            calls = [PromptToolCall(e.call_id, e.name, e.arguments)
                     for e in of_type(events, ToolInputEnded)]
            messages += [PromptMessage("assistant", tool_calls=calls),
                         PromptMessage("tool", tool_results=[
                             PromptToolResult(c.call_id, c.name, "found") for c in calls])]
        return steps

    others = [collect(provider, request_for(kind, f"other {i}")) for i in range(10)]
    steps, *rest = await asyncio.gather(turn(), *others)

    assert [e.call_id for e in of_type(steps[0] + steps[1], ToolInputEnded)] == ["s1", "s2"]
    assert text_of(steps[2]) == "All done."
    assert [text_of(r) for r in rest] == [default_reply(f"other {i}") for i in range(10)]
