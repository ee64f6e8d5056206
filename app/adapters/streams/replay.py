"""A finished turn's stream rebuilt from the log, for when its Redis buffer has expired."""

from __future__ import annotations

from typing import Any

from app.adapters.streams.endings import ending
from app.domain.events import Part
from app.domain.session import Turn


def stream_from_message(message_id: str, parts: list[Part], turn: Turn) -> list[dict[str, Any]]:
    """UI stream parts that assemble to the stored message: whole parts, no token deltas."""
    out: list[dict[str, Any]] = [{"type": "start", "messageId": message_id},
                                 {"type": "start-step"}]
    for i, part in enumerate(parts):
        kind, pid = part.get("type"), f"{message_id}-{i}"
        if kind in ("text", "reasoning"):
            out += [{"type": f"{kind}-start", "id": pid},
                    {"type": f"{kind}-delta", "id": pid, "delta": part.get("text", "")},
                    {"type": f"{kind}-end", "id": pid}]
    # The live stream closes a completed turn's step before its ending (workers/turns).
    if turn.status == "completed":
        out.append({"type": "finish-step"})
    out.append(ending(turn))
    return out
