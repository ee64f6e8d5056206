"""One model step's events become AI SDK UI stream parts and the step's message parts."""

from __future__ import annotations

from typing import Any

from app.adapters.llm import (
    Finished,
    ReasoningDelta,
    TextDelta,
    ToolInputDelta,
    ToolInputEnded,
    ToolInputStarted,
    UsageReported,
)
from app.domain.events import Usage
from app.domain.tool_input import parse_input
from app.domain.tools import TOOLS
from workers.turns.ui_stream import StepEncoder


def encoder() -> StepEncoder:
    return StepEncoder("t1-a1-s1", lambda name, args: parse_input(name, args, TOOLS))


def types(parts: list[dict[str, Any]]) -> list[str]:
    return [p["type"] for p in parts]


def test_text_and_reasoning_open_and_close_parts_in_order() -> None:
    enc = encoder()
    out: list[dict[str, Any]] = []
    for event in (ReasoningDelta("think"), ReasoningDelta("ing"), TextDelta("Hel"),
                  TextDelta("lo"), UsageReported(3, 2), Finished("stop")):
        out += enc.on_event(event)
    out += enc.close()
    assert types(out) == ["reasoning-start", "reasoning-delta", "reasoning-delta",
                          "reasoning-end", "text-start", "text-delta", "text-delta", "text-end"]
    assert out[4] == {"type": "text-start", "id": "t1-a1-s1-2"}
    assert enc.parts == [{"type": "step-start"}, {"type": "reasoning", "text": "thinking"},
                         {"type": "text", "text": "Hello"}]
    assert enc.usage == Usage(input_tokens=3, output_tokens=2)
    assert enc.finish_reason == "stop" and enc.tool_calls == []


def test_a_tool_call_streams_its_input_as_a_dynamic_tool_and_lands_in_the_step() -> None:
    enc = encoder()
    out = enc.on_event(TextDelta("Let me check."))
    out += enc.on_event(ToolInputStarted("c1", "robot_get"))
    out += enc.on_event(ToolInputDelta("c1", '{"robot_id":'))
    out += enc.on_event(ToolInputEnded("c1", "robot_get", '{"robot_id": "x"}'))
    out += enc.on_event(Finished("tool-calls"))
    assert types(out) == ["text-start", "text-delta", "text-end", "tool-input-start",
                          "tool-input-delta", "tool-input-available"]
    assert out[3] == {"type": "tool-input-start", "toolCallId": "c1", "toolName": "robot_get",
                      "dynamic": True}
    assert out[-1] == {"type": "tool-input-available", "toolCallId": "c1",
                       "toolName": "robot_get", "input": {"robot_id": "x"}, "dynamic": True}
    assert enc.parts[-1] == {"type": "dynamic-tool", "toolCallId": "c1",
                             "toolName": "robot_get", "state": "input-available",
                             "input": {"robot_id": "x"}}
    [call] = enc.tool_calls
    assert call.call_id == "c1" and call.input_error is None
    assert enc.finish_reason == "tool-calls"


def test_an_input_that_does_not_parse_or_fit_the_schema_is_a_tool_input_error() -> None:
    enc = encoder()
    bad_json = enc.on_event(ToolInputEnded("c1", "robot_get", '{"robot_id": '))
    wrong = enc.on_event(ToolInputEnded("c2", "robot_get", '{"id": "x"}'))
    unknown = enc.on_event(ToolInputEnded("c3", "launch_rockets", "{}"))
    assert [p["type"] for p in bad_json + wrong + unknown] == ["tool-input-error"] * 3
    assert "not valid JSON" in bad_json[0]["errorText"] and bad_json[0]["input"] == {}
    assert "robot_id" in wrong[0]["errorText"]
    assert "no tool named 'launch_rockets'" in unknown[0]["errorText"]
    assert [p["state"] for p in enc.parts[1:]] == ["output-error"] * 3
    assert all(c.input_error for c in enc.tool_calls)


def holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    return isinstance(value, list) and any(holds_nul(v) for v in value)


def test_a_nul_the_model_says_is_dropped_from_the_stream_and_the_step() -> None:
    # Given a model whose text, reasoning and tool arguments hold NUL characters
    enc = encoder()
    out = enc.on_event(ReasoningDelta("a\x00b"))
    out += enc.on_event(TextDelta("\x00"))  # nothing left: no empty part opens for it
    out += enc.on_event(TextDelta("c\x00d"))
    out += enc.on_event(ToolInputStarted("c1", "robot_get"))
    out += enc.on_event(ToolInputDelta("c1", '{"robot_id": "x\x00'))
    out += enc.on_event(ToolInputEnded("c1", "robot_get", '{"robot_id": "x\\u0000y"}'))
    # Then neither the stream nor the step holds one (PostgreSQL could not store it)
    assert not holds_nul(out) and not holds_nul(enc.parts)
    assert [p["delta"] for p in out if "delta" in p] == ["ab", "cd"]
    assert enc.parts[1:3] == [{"type": "reasoning", "text": "ab"}, {"type": "text", "text": "cd"}]
    assert out[-1]["input"] == {"robot_id": "xy"}
    assert "\x00" not in enc.tool_calls[0].arguments
