"""The part that ends a turn's stream, the same whether it is sent live or rebuilt from
the log: `finish` for a completed turn (and for one that now waits on answers), `error`
for a failed one, `abort` for a cancelled one."""

from __future__ import annotations

from typing import Any

from app.domain.answer_metadata import (
    SDK_FINISH_REASONS,
    answer_metadata,
    finish_reason_metadata,
)
from app.domain.session import Turn
from app.domain.steps import total_usage


def _finish(turn: Turn, reason: str) -> dict[str, Any]:
    """With the answer's model and usage so far as the message's metadata."""
    return {"type": "finish",
            "finishReason": reason if reason in SDK_FINISH_REASONS else "other",
            "messageMetadata": {**answer_metadata(turn.model, total_usage(turn.steps)),
                                **finish_reason_metadata(reason)}}


def ending(turn: Turn) -> dict[str, Any]:
    """The ending of a finished turn, from the session's state: the reactions send it live
    once the terminal event has committed, the replay sends it rebuilt from the log."""
    if turn.status == "completed":
        return _finish(turn, turn.finish_reason or "stop")
    if turn.status == "waiting":  # on the calls the stream showed: the client answers them
        return _finish(turn, "tool-calls")
    if turn.status == "failed":
        return {"type": "error", "errorText": turn.error or "the turn failed"}
    return {"type": "abort"}
