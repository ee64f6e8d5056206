"""The local model's pure parts: tokens, default replies, plans, script choice, wire bytes."""

from __future__ import annotations

import json

import pytest

from app.adapters.llm.local_model import Script, ScriptedToolCall, default_reply, split_tokens
from app.adapters.llm.local_model.anthropic_wire import AnthropicWire
from app.adapters.llm.local_model.book import ScriptBook
from app.adapters.llm.local_model.conversation import Prompt
from app.adapters.llm.local_model.openai_wire import OpenAIWire
from app.adapters.llm.local_model.plan import plan_reply
from app.adapters.llm.local_model.script import split_pieces
from app.adapters.llm.local_model.wire import BadRequest, WireRequest


@pytest.mark.parametrize("text", ["", "one", " lead and trail  ", "a\nb\t c", "   "])
def test_tokens_concatenate_back_to_the_text(text: str) -> None:
    assert "".join(split_tokens(text)) == text


def test_tokens_are_words_with_their_leading_space() -> None:
    assert split_tokens("Hello big  world") == ["Hello", " big", "  world"]


def test_pieces_split_evenly_and_losslessly() -> None:
    assert split_pieces('{"a": 1}', 3) == ['{"a', '": ', "1}"]
    assert split_pieces("ab", 5) == ["a", "b"]
    assert split_pieces("", 4) == []


def test_default_reply_quotes_the_prompt_and_has_the_asked_length() -> None:
    reply = default_reply("How are you?", tokens=12)
    assert reply.startswith("Hello! You said: How are you?. ")
    assert len(reply.split()) == 12
    assert reply == default_reply("How are you?", tokens=12)
    assert default_reply("Something else", tokens=12) != reply
    assert default_reply("", tokens=4) == "Hello! You said nothing."


def test_default_reply_quotes_only_the_start_of_a_long_prompt() -> None:
    prompt = " ".join(f"w{i}" for i in range(40))
    assert "w15 ..." in default_reply(prompt, tokens=50)
    assert "w16" not in default_reply(prompt, tokens=50)


def test_plan_caps_at_max_tokens_with_length() -> None:
    plan = plan_reply(Script(text="a b c d e"), Prompt("hi", input_words=1, max_tokens=2))
    assert plan.text == ("a", " b")
    assert plan.finish_reason == "length"
    assert (plan.input_tokens, plan.output_tokens) == (1, 2)


def test_plan_with_tools_finishes_with_tool_calls() -> None:
    script = Script(text="x", tool_calls=(ScriptedToolCall(name="t", arguments='{"k": 1}'),))
    plan = plan_reply(script, Prompt("hi", input_words=1))
    assert plan.finish_reason == "tool_calls"
    assert "".join(plan.tool_calls[0].pieces) == '{"k": 1}'
    assert plan.tool_calls[0].call_id == "call_local_0_0"


def test_unscripted_call_ids_differ_between_steps_of_a_conversation() -> None:
    script = Script(text="", tool_calls=(ScriptedToolCall(name="t"), ScriptedToolCall(name="u")))
    ids = [c.call_id for said in (1, 3) for c in
           plan_reply(script, Prompt("hi", input_words=1, said=said)).tool_calls]
    assert ids == ["call_local_1_0", "call_local_1_1", "call_local_3_0", "call_local_3_1"]


def test_book_order_is_queue_then_model_then_preset_then_default() -> None:
    book = ScriptBook(Script(text="default"))
    book.by_model["special"] = Script(text="special")
    book.enqueue(Script(text="queued"))
    assert book.take("special")[0].text == "queued"
    assert book.take("special")[0].text == "special"
    assert book.take("fake/hang")[0].hang
    assert book.take("echo")[0].text == "default"


def test_book_rate_limits_the_first_k_requests_then_moves_on() -> None:
    book = ScriptBook()
    book.enqueue(Script(text="late", rate_limit=2), Script(text="next"))
    answers = [book.take("m") for _ in range(4)]
    assert [(s.text, limited) for s, limited in answers] == [
        ("late", True), ("late", True), ("late", False), ("next", False)]


def test_book_default_rate_limit_counts_once() -> None:
    book = ScriptBook(Script(rate_limit=1))
    assert [book.take("m")[1] for _ in range(3)] == [True, False, False]


def _request(stream: bool = True, include_usage: bool = True) -> WireRequest:
    return WireRequest(model="m", stream=stream, include_usage=include_usage,
                       prompt=Prompt("hi", input_words=1))


def _sse_data(frames: list[bytes]) -> list[str]:
    return [line[6:] for f in frames for line in f.decode().split("\n")
            if line.startswith("data: ")]


def test_openai_frames_are_chunks_then_usage_then_done() -> None:
    plan = plan_reply(Script(text="Hi there", input_tokens=5), Prompt("x", 1))
    data = _sse_data([f.data for f in OpenAIWire().frames(plan, _request(), "chatcmpl-1")])
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1]) == \
        "Hi there"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["prompt_tokens"] == 5
    assert all(c["usage"] is None for c in chunks[:-1])


def test_openai_frames_without_include_usage_have_no_usage() -> None:
    plan = plan_reply(Script(text="Hi"), Prompt("x", 1))
    frames = OpenAIWire().frames(plan, _request(include_usage=False), "c")
    chunks = [json.loads(d) for d in _sse_data([f.data for f in frames])[:-1]]
    assert all("usage" not in c for c in chunks)


def test_anthropic_frames_follow_the_event_order() -> None:
    script = Script(reasoning="Hmm.", text="Yes.",
                    tool_calls=(ScriptedToolCall(name="t", arguments='{"a": 1}'),))
    plan = plan_reply(script, Prompt("x", 1))
    frames = AnthropicWire().frames(plan, _request(), "msg_1")
    names = [f.data.decode().split("\n")[0].removeprefix("event: ") for f in frames]
    assert names == [
        "message_start",
        "content_block_start", "ping", "content_block_delta", "content_block_delta",
        "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_stop",
        "content_block_start", *["content_block_delta"] * 4, "content_block_stop",
        "message_delta", "message_stop",
    ]
    delta = json.loads(_sse_data([frames[-2].data])[0])
    assert delta["delta"]["stop_reason"] == "tool_use"
    assert sum(f.token for f in frames) == 1 + 1 + 4  # thinking, text, argument pieces


def test_anthropic_requires_max_tokens() -> None:
    with pytest.raises(BadRequest):
        AnthropicWire().parse({"model": "m", "messages": []})


def test_non_stream_answers_are_whole_messages() -> None:
    plan = plan_reply(Script(text="All done."), Prompt("x", 1))
    openai_body = OpenAIWire().message(plan, _request(stream=False), "c")
    anthropic_body = AnthropicWire().message(plan, _request(stream=False), "m")
    assert openai_body["choices"][0]["message"]["content"] == "All done."
    assert anthropic_body["content"] == [{"type": "text", "text": "All done."}]
    assert anthropic_body["stop_reason"] == "end_turn"
