"""Earlier tool calls and their results reach the model in each provider's native form.

What the SDK put on the wire is read back from the local model server's record of requests.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.adapters.llm import (
    Finished,
    ModelRequest,
    PromptMessage,
    PromptToolCall,
    PromptToolResult,
    ToolSpec,
)
from app.adapters.llm.local_model import LocalModelServer, Script
from tests.providers.conftest import MakeProvider
from tests.providers.support import HISTORY, MODEL_OF, NOW, collect

CLOCK = ToolSpec(name="current_time", description="Now.", input_schema={"type": "object"})
def request(kind: str, messages: list[PromptMessage]) -> ModelRequest:
    return ModelRequest(model=MODEL_OF[kind], system="", messages=messages, tools=[CLOCK])


async def sent_messages(kind: str, server: LocalModelServer, make_provider: MakeProvider,
                        messages: list[PromptMessage]) -> list[dict[str, Any]]:
    server.set_default(Script(text="Fine."))
    events = await collect(make_provider(kind), request(kind, messages))
    assert events[-1] == Finished("stop")  # the server took the request as it is
    [seen] = server.completions()
    sent: list[dict[str, Any]] = seen.body["messages"]
    return sent


@pytest.mark.parametrize("kind", ["openai", "openai-compatible"])
async def test_openai_sends_tool_calls_and_one_tool_message_per_result(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    sent = await sent_messages(kind, server, make_provider, HISTORY)

    assert sent == [
        {"role": "user", "content": "What time is it, and find the wiki?"},
        {"role": "assistant", "content": "Let me check.", "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "current_time", "arguments": '{"tz": "UTC"}'}},
            {"id": "call_2", "type": "function",
             "function": {"name": "search", "arguments": '{"query": "wiki'}},
            {"id": "call_3", "type": "function",
             "function": {"name": "search", "arguments": "[1, 2]"}},
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": NOW},
        {"role": "tool", "tool_call_id": "call_2", "content": "the arguments were not JSON"},
        {"role": "tool", "tool_call_id": "call_3", "content": "[]"},
        {"role": "user", "content": "Thanks. And tomorrow?"},
    ]


async def test_anthropic_sends_tool_use_and_merges_results_into_the_next_user_message(
    server: LocalModelServer, make_provider: MakeProvider
) -> None:
    sent = await sent_messages("anthropic", server, make_provider, HISTORY)

    assert sent == [
        {"role": "user", "content": "What time is it, and find the wiki?"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "call_1", "name": "current_time", "input": {"tz": "UTC"}},
            {"type": "tool_use", "id": "call_2", "name": "search", "input": {}},  # broken JSON
            {"type": "tool_use", "id": "call_3", "name": "search", "input": {}},  # not an object
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": NOW, "is_error": False},
            {"type": "tool_result", "tool_use_id": "call_2",
             "content": "the arguments were not JSON", "is_error": True},
            {"type": "tool_result", "tool_use_id": "call_3", "content": "[]", "is_error": False},
            {"type": "text", "text": "Thanks. And tomorrow?"},
        ]},
    ]


async def test_a_conversation_ending_in_tool_results_in_both_forms(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    # A tool step in the middle of a turn: the assistant called without a word, the
    # results are the last thing said.
    history = [
        PromptMessage("user", "Time?"),
        PromptMessage("assistant", tool_calls=[PromptToolCall("c1", "current_time", "{}")]),
        PromptMessage("tool", tool_results=[PromptToolResult("c1", "current_time", NOW)]),
    ]

    sent = await sent_messages(kind, server, make_provider, history)

    if kind == "anthropic":
        assert sent[1:] == [
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "c1", "name": "current_time", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "c1", "content": NOW,
                 "is_error": False}]},
        ]
    else:
        assert sent[1:] == [
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function",
                 "function": {"name": "current_time", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": NOW},
        ]


async def test_two_tool_steps_in_one_turn_stay_in_order(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    history = [
        PromptMessage("user", "Time twice?"),
        PromptMessage("assistant", tool_calls=[PromptToolCall("c1", "current_time", "{}")]),
        PromptMessage("tool", tool_results=[PromptToolResult("c1", "current_time", "one")]),
        PromptMessage("assistant", "Again.",
                      tool_calls=[PromptToolCall("c2", "current_time", "{}")]),
        PromptMessage("tool", tool_results=[PromptToolResult("c2", "current_time", "two")]),
    ]

    sent = await sent_messages(kind, server, make_provider, history)

    roles = [m["role"] for m in sent]
    if kind == "anthropic":
        # Results with no user text after them are a user message of their own.
        assert roles == ["user", "assistant", "user", "assistant", "user"]
        assert [b["tool_use_id"] for b in sent[2]["content"] + sent[4]["content"]] == ["c1", "c2"]
        assert sent[3]["content"][0] == {"type": "text", "text": "Again."}
    else:
        assert roles == ["user", "assistant", "tool", "assistant", "tool"]
        assert [sent[2]["content"], sent[4]["content"]] == ["one", "two"]
        assert sent[3]["content"] == "Again."


async def test_plain_messages_are_sent_as_plain_text_as_before(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    history = [PromptMessage("user", "hi"), PromptMessage("assistant", "hello"),
               PromptMessage("user", "bye")]

    sent = await sent_messages(kind, server, make_provider, history)

    assert sent == [{"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "hello"},
                    {"role": "user", "content": "bye"}]
