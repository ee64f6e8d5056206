"""The part that ends a turn's stream, the same whether it is sent live or rebuilt from
the log: `finish` for a completed turn, `error` for a failed one, `abort` for a cancelled
one."""

from __future__ import annotations

from typing import Any

from app.domain.events import TurnCancelled, TurnCompleted, TurnFailed
from app.domain.session import Turn


def ending(turn: Turn) -> dict[str, Any]:
    """The ending of a finished turn, from the session's state."""
    if turn.status == "completed":
        return {"type": "finish", "finishReason": turn.finish_reason or "stop"}
    if turn.status == "failed":
        return {"type": "error", "errorText": turn.error or "the turn failed"}
    return {"type": "abort"}


def ending_of(event: TurnCompleted | TurnFailed | TurnCancelled) -> dict[str, Any]:
    """The ending a terminal event sends live (it equals `ending` of the turn it ends)."""
    match event:
        case TurnCompleted(finish_reason=reason):
            return {"type": "finish", "finishReason": reason}
        case TurnFailed(error=error):
            return {"type": "error", "errorText": error}
    return {"type": "abort"}
