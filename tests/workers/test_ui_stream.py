"""Model events become UI stream parts, and the final message is what the deltas built."""

from __future__ import annotations

from app.adapters.llm.events import (
    Finished,
    ReasoningDelta,
    TextDelta,
    ToolInputDelta,
    ToolInputEnded,
    ToolInputStarted,
    UsageReported,
)
from workers.turns.ui_stream import UIStreamEncoder


def test_text_and_reasoning_open_and_close_parts_in_order() -> None:
    enc = UIStreamEncoder("msg-1", "t1-a1")
    out = enc.start()
    for event in (ReasoningDelta("think"), ReasoningDelta("ing"), TextDelta("Hel"),
                  TextDelta("lo"), UsageReported(3, 2), Finished("stop")):
        out += enc.on_event(event)
    out += enc.close("completed")
    assert [p["type"] for p in out] == [
        "start", "start-step", "reasoning-start", "reasoning-delta", "reasoning-delta",
        "reasoning-end", "text-start", "text-delta", "text-delta", "text-end", "finish-step"]
    assert out[0] == {"type": "start", "messageId": "msg-1"}
    assert out[6] == {"type": "text-start", "id": "t1-a1-2"}
    assert enc.finish_reason == "stop"
    assert enc.parts == [{"type": "reasoning", "text": "thinking"},
                         {"type": "text", "text": "Hello"}]
    assert enc.usage == (3, 2)


def test_a_tool_call_streams_its_input_and_lands_in_the_message() -> None:
    enc = UIStreamEncoder("m", "p")
    out = enc.on_event(TextDelta("Let me check."))
    out += enc.on_event(ToolInputStarted("c1", "current_time"))
    out += enc.on_event(ToolInputDelta("c1", '{"tz":'))
    out += enc.on_event(ToolInputEnded("c1", "current_time", '{"tz": "UTC"}'))
    out += enc.on_event(Finished("tool-calls"))
    assert [p["type"] for p in out] == ["text-start", "text-delta", "text-end",
                                        "tool-input-start", "tool-input-delta",
                                        "tool-input-available"]
    assert out[-1]["input"] == {"tz": "UTC"}
    assert enc.parts[-1] == {"type": "tool-current_time", "toolCallId": "c1",
                             "state": "input-available", "input": {"tz": "UTC"}}
    assert enc.finish_reason == "tool-calls"


def test_failure_and_cancel_close_the_open_part_and_leave_the_step_open() -> None:
    enc = UIStreamEncoder("m", "p")
    enc.on_event(TextDelta("partial"))
    assert enc.close("failed") == [{"type": "text-end", "id": "p-1"}]
    enc2 = UIStreamEncoder("m", "p")
    enc2.on_event(TextDelta("partial"))
    assert [p["type"] for p in enc2.close("cancelled")] == ["text-end"]
    assert enc2.parts == [{"type": "text", "text": "partial"}]
