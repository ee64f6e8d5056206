"""Each adapter, through its real SDK, against the local model server: what streams out."""

from __future__ import annotations

import asyncio
import json

from app.adapters.llm import (
    Finished,
    ReasoningDelta,
    TextDelta,
    ToolInputDelta,
    ToolInputEnded,
    ToolInputStarted,
    ToolSpec,
    UsageReported,
)
from app.adapters.llm.local_model import LocalModelServer, Script, ScriptedToolCall, default_reply
from tests.providers.conftest import MakeProvider
from tests.providers.support import (
    MODEL_OF,
    collect,
    of_type,
    reasoning_of,
    request_for,
    text_of,
)

SEARCH = ToolSpec(name="search", description="Search the team wiki.",
                  input_schema={"type": "object", "properties": {"query": {"type": "string"}},
                                "required": ["query"]})


async def test_text_streams_word_by_word_then_usage_then_finish(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    server.set_default(Script(text="The quick brown fox jumps.", input_tokens=11,
                              output_tokens=7))

    events = await collect(make_provider(kind), request_for(kind))

    assert [e.text for e in of_type(events, TextDelta)] == [
        "The", " quick", " brown", " fox", " jumps."]
    assert events[-2:] == [UsageReported(input_tokens=11, output_tokens=7), Finished("stop")]
    assert len(of_type(events, Finished)) == 1


async def test_default_reply_follows_the_prompt(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    events = await collect(make_provider(kind), request_for(kind, "Where is the meeting?"))

    assert text_of(events) == default_reply("Where is the meeting?")
    assert text_of(events).startswith("Hello! You said: Where is the meeting?.")


async def test_request_carries_system_messages_model_and_limits(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    await collect(make_provider(kind), request_for(kind, "Hi", system="You are Robo.",
                                                   max_tokens=77))

    [seen] = server.completions()
    body = seen.body
    assert body["model"] == MODEL_OF[kind]
    assert body["stream"] is True
    if kind == "anthropic":
        assert body["system"] == "You are Robo."
        assert body["messages"] == [{"role": "user", "content": "Hi"}]
        assert body["max_tokens"] == 77
    else:
        assert body["messages"] == [{"role": "system", "content": "You are Robo."},
                                    {"role": "user", "content": "Hi"}]
        assert body["stream_options"] == {"include_usage": True}
        limit = "max_completion_tokens" if kind == "openai" else "max_tokens"
        assert body[limit] == 77
        assert {"max_tokens", "max_completion_tokens", "tools"} & body.keys() == {limit}
    # The Anthropic SDK sends `x-api-key` or, since 2.x, a bearer token.
    assert "test-key" in (seen.headers.get("authorization", "") + seen.headers.get("x-api-key", ""))


async def test_tool_call_arguments_stream_in_pieces(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    arguments = '{"query": "robots", "limit": 3}'
    server.set_default(Script(text="Let me look.", tool_calls=(
        ScriptedToolCall(name="search", arguments=arguments, call_id="call_7", pieces=4),)))

    events = await collect(make_provider(kind), request_for(kind, tools=[SEARCH]))

    calls = [e for e in events if isinstance(e, ToolInputStarted | ToolInputDelta | ToolInputEnded)]
    assert calls[0] == ToolInputStarted(call_id="call_7", name="search")
    deltas = of_type(calls, ToolInputDelta)
    assert len(deltas) == 4
    assert "".join(d.arguments_delta for d in deltas) == arguments
    assert calls[-1] == ToolInputEnded(call_id="call_7", name="search", arguments=arguments)
    assert text_of(events) == "Let me look."
    assert events[-1] == Finished("tool-calls")
    tools = server.completions()[0].body["tools"]
    if kind == "anthropic":
        assert tools == [{"name": "search", "description": "Search the team wiki.",
                          "input_schema": SEARCH.input_schema}]
    else:
        assert tools == [{"type": "function", "function": {
            "name": "search", "description": "Search the team wiki.",
            "parameters": SEARCH.input_schema}}]


async def test_two_tool_calls_end_in_order(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    server.set_default(Script(text="", tool_calls=(
        ScriptedToolCall(name="search", arguments='{"query": "a"}', call_id="c1"),
        ScriptedToolCall(name="clock", arguments="", call_id="c2"))))

    events = await collect(make_provider(kind), request_for(kind, tools=[SEARCH]))

    order = [(type(e).__name__, e.call_id) for e in events
             if isinstance(e, ToolInputStarted | ToolInputEnded)]
    assert order == [("ToolInputStarted", "c1"), ("ToolInputEnded", "c1"),
                     ("ToolInputStarted", "c2"), ("ToolInputEnded", "c2")]
    ended = of_type(events, ToolInputEnded)
    assert [json.loads(e.arguments) for e in ended] == [{"query": "a"}, {}]


async def test_reasoning_streams_before_the_text(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    server.set_default(Script(reasoning="First, think it through.", text="The answer."))

    events = await collect(make_provider(kind), request_for(kind))

    assert reasoning_of(events) == "First, think it through."
    assert len(of_type(events, ReasoningDelta)) == 4
    assert text_of(events) == "The answer."
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert all(isinstance(e, ReasoningDelta) for e in events[:first_text])


async def test_max_tokens_cuts_the_answer_with_finish_length(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    server.set_default(Script(text="one two three four five six seven"))

    events = await collect(make_provider(kind), request_for(kind, max_tokens=3))

    assert text_of(events) == "one two three"
    assert events[-1] == Finished("length")


async def test_usage_counts_words_when_not_scripted(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    server.set_default(Script(text="a b c"))

    events = await collect(make_provider(kind), request_for(kind, "four words right here",
                                                            system="sys two"))

    assert of_type(events, UsageReported) == [UsageReported(input_tokens=6, output_tokens=3)]


async def test_list_models(kind: str, server: LocalModelServer,
                           make_provider: MakeProvider) -> None:
    provider = make_provider(kind)

    models = await provider.list_models()

    assert [m.id for m in models] == server.app.models
    assert {m.provider for m in models} == {provider.name}
    names = {m.id: m.name for m in models}
    assert names["echo"] == ("Local echo" if kind == "anthropic" else "echo")


async def test_stopping_early_releases_the_stream(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    server.set_default(Script(tokens=200, tokens_per_second=100))
    provider = make_provider(kind)

    events = provider.stream(request_for(kind))
    async for _ in events:
        break
    await events.aclose()  # type: ignore[attr-defined]

    for _ in range(100):
        if server.in_flight == 0:
            break
        await asyncio.sleep(0.01)
    assert server.in_flight == 0


async def test_concurrent_streams_do_not_mix(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    provider = make_provider(kind)
    prompts = [f"question number {i}" for i in range(12)]

    results = await asyncio.gather(*(collect(provider, request_for(kind, p)) for p in prompts))

    assert [text_of(events) for events in results] == [default_reply(p) for p in prompts]
