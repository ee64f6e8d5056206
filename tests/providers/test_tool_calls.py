"""Tool calls streamed by the model, through each adapter's real SDK and wire format."""

from __future__ import annotations

import json

from app.adapters.llm import (
    Finished,
    ModelEvent,
    TextDelta,
    ToolInputDelta,
    ToolInputEnded,
    ToolInputStarted,
    ToolSpec,
)
from app.adapters.llm.local_model import LocalModelServer, Script, ScriptedToolCall
from tests.providers.conftest import MakeProvider
from tests.providers.support import collect, of_type, request_for

SEARCH = ToolSpec(name="search", description="Search the team wiki.",
                  input_schema={"type": "object", "properties": {"query": {"type": "string"}}})


def calls_of(events: list[ModelEvent]) -> dict[str, tuple[str, list[str], str | None]]:
    """call id -> (name, argument deltas, arguments at the end); checks each call's order."""
    calls: dict[str, tuple[str, list[str], str | None]] = {}
    for event in events:
        if isinstance(event, ToolInputStarted):
            assert event.call_id not in calls, f"{event.call_id} started twice"
            calls[event.call_id] = (event.name, [], None)
        elif isinstance(event, ToolInputDelta):
            name, deltas, ended = calls[event.call_id]
            assert ended is None, f"{event.call_id} had a delta after it ended"
            deltas.append(event.arguments_delta)
        elif isinstance(event, ToolInputEnded):
            name, deltas, ended = calls[event.call_id]
            assert ended is None and event.name == name
            calls[event.call_id] = (name, deltas, event.arguments)
    return calls


async def test_a_single_tool_call_with_no_text(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    server.set_default(Script(text="", tool_calls=(
        ScriptedToolCall(name="search", arguments='{"query": "robots"}', call_id="call_a"),)))

    events = await collect(make_provider(kind), request_for(kind, tools=[SEARCH]))

    assert of_type(events, TextDelta) == []
    assert calls_of(events) == {
        "call_a": ("search", ['{"que', 'ry": ', '"robo', 'ts"}'], '{"query": "robots"}')}
    assert events[-1] == Finished("tool-calls")


async def test_parallel_calls_keep_their_ids_names_and_arguments(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    server.set_default(Script(text="Three at once.", tool_calls=(
        ScriptedToolCall(name="search", arguments='{"query": "a"}', call_id="c1"),
        ScriptedToolCall(name="current_time", arguments="{}", call_id="c2", pieces=1),
        ScriptedToolCall(name="search", arguments='{"query": "b"}', call_id="c3", pieces=2))))

    events = await collect(make_provider(kind), request_for(kind, tools=[SEARCH]))

    calls = calls_of(events)
    assert list(calls) == ["c1", "c2", "c3"]
    assert {i: (name, "".join(d), end) for i, (name, d, end) in calls.items()} == {
        "c1": ("search", '{"query": "a"}', '{"query": "a"}'),
        "c2": ("current_time", "{}", "{}"),
        "c3": ("search", '{"query": "b"}', '{"query": "b"}'),
    }
    assert len(calls["c3"][1]) == 2
    first_call = next(i for i, e in enumerate(events) if isinstance(e, ToolInputStarted))
    assert all(not isinstance(e, TextDelta) for e in events[first_call:])  # text came first
    assert events[-1] == Finished("tool-calls")


async def test_arguments_split_into_many_fragments_arrive_whole(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    # One character a fragment, through escapes and characters outside ASCII.
    arguments = json.dumps({"query": 'say "hi" \\ to the café 🤖', "tags": ["a", "b"]})
    server.set_default(Script(text="", tool_calls=(
        ScriptedToolCall(name="search", arguments=arguments, call_id="c1",
                         pieces=len(arguments)),)))

    events = await collect(make_provider(kind), request_for(kind, tools=[SEARCH]))

    deltas = of_type(events, ToolInputDelta)
    assert len(deltas) == len(arguments)
    assert "".join(d.arguments_delta for d in deltas) == arguments
    assert of_type(events, ToolInputEnded) == [ToolInputEnded("c1", "search", arguments)]


async def test_invalid_json_arguments_arrive_intact(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    broken = '{"query": "unterminated, "limit": 3,'
    server.set_default(Script(text="", tool_calls=(
        ScriptedToolCall(name="search", arguments=broken, call_id="c1", pieces=3),
        ScriptedToolCall(name="search", arguments="not json at all", call_id="c2"))))

    events = await collect(make_provider(kind), request_for(kind, tools=[SEARCH]))

    assert of_type(events, ToolInputEnded) == [ToolInputEnded("c1", "search", broken),
                                               ToolInputEnded("c2", "search", "not json at all")]
    assert events[-1] == Finished("tool-calls")


async def test_tools_offered_are_sent_in_the_native_form(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    clock = ToolSpec(name="current_time", description="Now.", input_schema={"type": "object"})

    await collect(make_provider(kind), request_for(kind, tools=[SEARCH, clock]))

    tools = server.completions()[0].body["tools"]
    if kind == "anthropic":
        assert tools == [
            {"name": "search", "description": SEARCH.description,
             "input_schema": SEARCH.input_schema},
            {"name": "current_time", "description": "Now.", "input_schema": {"type": "object"}}]
    else:
        assert tools == [
            {"type": "function", "function": {"name": "search", "description": SEARCH.description,
                                              "parameters": SEARCH.input_schema}},
            {"type": "function", "function": {"name": "current_time", "description": "Now.",
                                              "parameters": {"type": "object"}}}]
