"""A stream rebuilt from the log assembles the stored message and ends like a live one."""

from __future__ import annotations

from app.adapters.streams.replay import stream_from_message
from app.domain.session import Turn


def turn(status: str, error: str | None = None) -> Turn:
    return Turn(turn_id="t", message_id="m", robot_id="r", status=status,  # type: ignore[arg-type]
                error=error, finish_reason="stop" if status == "completed" else None)


def test_a_completed_turn_replays_whole_parts_then_finishes() -> None:
    parts = [{"type": "reasoning", "text": "hmm"}, {"type": "text", "text": "Hi there"}]
    out = stream_from_message("msg-t", parts, turn("completed"))
    assert [p["type"] for p in out] == [
        "start", "start-step", "reasoning-start", "reasoning-delta", "reasoning-end",
        "text-start", "text-delta", "text-end", "finish-step", "finish"]
    assert out[0] == {"type": "start", "messageId": "msg-t"}
    assert out[6]["delta"] == "Hi there" and out[5]["id"] == out[7]["id"] == "msg-t-1"


def test_failed_and_cancelled_turns_end_as_the_live_stream_does() -> None:
    failed = stream_from_message("m", [], turn("failed", "model down"))
    assert failed[-1] == {"type": "error", "errorText": "model down"}
    assert "finish-step" not in [p["type"] for p in failed]
    cancelled = stream_from_message("m", [{"type": "text", "text": "par"}], turn("cancelled"))
    assert [p["type"] for p in cancelled][-2:] == ["text-end", "abort"]
