"""A stream rebuilt from the log assembles the stored message and ends like a live one."""

from __future__ import annotations

from app.adapters.streams.replay import stream_from_message
from app.domain.session import Turn


def turn(status: str, error: str | None = None) -> Turn:
    return Turn(turn_id="t", message_id="m", robot_id="r", status=status,  # type: ignore[arg-type]
                error=error, finish_reason="stop" if status == "completed" else None)


def types(parts: list[dict[str, object]]) -> list[object]:
    return [p["type"] for p in parts]


def test_a_completed_turn_replays_whole_parts_then_finishes() -> None:
    parts = [{"type": "step-start"}, {"type": "reasoning", "text": "hmm"},
             {"type": "text", "text": "Hi there"}]
    out = stream_from_message("msg-t", parts, turn("completed"))
    assert types(out) == [
        "start", "start-step", "reasoning-start", "reasoning-delta", "reasoning-end",
        "text-start", "text-delta", "text-end", "finish-step", "finish"]
    assert out[0] == {"type": "start", "messageId": "msg-t"}
    assert out[6]["delta"] == "Hi there" and out[5]["id"] == out[7]["id"] == "msg-t-2"


def test_each_step_and_its_tool_calls_replay_in_order() -> None:
    parts = [{"type": "step-start"},
             {"type": "dynamic-tool", "toolCallId": "c1", "toolName": "robot_get",
              "state": "output-available", "input": {"robot_id": "x"}, "output": {"ok": 1}},
             {"type": "dynamic-tool", "toolCallId": "c2", "toolName": "robot_get",
              "state": "output-error", "input": {}, "errorText": "the input is not valid"},
             {"type": "step-start"}, {"type": "text", "text": "Done."}]
    out = stream_from_message("m", parts, turn("completed"))
    assert types(out) == [
        "start", "start-step", "tool-input-available", "tool-output-available",
        "tool-input-available", "tool-output-error", "finish-step", "start-step",
        "text-start", "text-delta", "text-end", "finish-step", "finish"]
    assert out[3]["output"] == {"ok": 1} and out[2]["dynamic"] is True


def test_failed_and_cancelled_turns_end_as_the_live_stream_does() -> None:
    failed = stream_from_message("m", [], turn("failed", "model down"))
    assert failed[-1] == {"type": "error", "errorText": "model down"}
    assert "finish-step" not in types(failed)
    cancelled = stream_from_message("m", [{"type": "text", "text": "par"}], turn("cancelled"))
    assert types(cancelled)[-2:] == ["text-end", "abort"]


def test_a_finish_reason_the_protocol_lacks_goes_out_as_other_with_our_word() -> None:
    from app.adapters.streams.endings import ending

    limited = Turn(turn_id="t", message_id="m", robot_id="r", status="completed",
                   finish_reason="step-limit", model="local/echo")
    assert ending(limited) == {"type": "finish", "finishReason": "other", "messageMetadata": {
        "model": "local/echo", "usage": {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0},
        "finishReason": "step-limit"}}
    assert ending(turn("completed"))["finishReason"] == "stop"
