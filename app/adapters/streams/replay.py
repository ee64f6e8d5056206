"""A finished turn's stream rebuilt from the log, for when its Redis buffer has expired."""

from __future__ import annotations

from typing import Any

from app.domain.events import Part


def stream_from_message(message_id: str, parts: list[Part], status: str,
                        error: str | None) -> list[dict[str, Any]]:
    """UI stream parts that assemble to the stored message: whole parts, no token deltas."""
    out: list[dict[str, Any]] = [{"type": "start", "messageId": message_id},
                                 {"type": "start-step"}]
    for i, part in enumerate(parts):
        kind, pid = part.get("type"), f"{message_id}-{i}"
        if kind in ("text", "reasoning"):
            out += [{"type": f"{kind}-start", "id": pid},
                    {"type": f"{kind}-delta", "id": pid, "delta": part.get("text", "")},
                    {"type": f"{kind}-end", "id": pid}]
    # The same endings the live stream sends (workers/ui_stream.py): only a completed turn
    # closes its step and finishes.
    if status == "failed":
        out.append({"type": "error", "errorText": error or "the turn failed"})
    elif status == "cancelled":
        out.append({"type": "abort"})
    else:
        out += [{"type": "finish-step"}, {"type": "finish", "finishReason": "stop"}]
    return out
