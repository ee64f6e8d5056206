"""The part that ends a turn's stream, the same whether it is sent live or rebuilt from
the log: `finish` for a completed turn (and for one that now waits on answers), `error`
for a failed one, `abort` for a cancelled one."""

from __future__ import annotations

from typing import Any

from app.domain.session import Turn

# The finish reasons the AI SDK's `finish` chunk accepts; ours beyond them (step-limit) go
# out as "other", with our word in the message's metadata.
_SDK_REASONS = frozenset({"stop", "length", "content-filter", "tool-calls", "error", "other"})


def _finish(reason: str) -> dict[str, Any]:
    if reason in _SDK_REASONS:
        return {"type": "finish", "finishReason": reason}
    return {"type": "finish", "finishReason": "other",
            "messageMetadata": {"finishReason": reason}}


def ending(turn: Turn) -> dict[str, Any]:
    """The ending of a finished turn, from the session's state: the reactions send it live
    once the terminal event has committed, the replay sends it rebuilt from the log."""
    if turn.status == "completed":
        return _finish(turn.finish_reason or "stop")
    if turn.status == "waiting":  # on the calls the stream showed: the client answers them
        return _finish("tool-calls")
    if turn.status == "failed":
        return {"type": "error", "errorText": turn.error or "the turn failed"}
    return {"type": "abort"}
