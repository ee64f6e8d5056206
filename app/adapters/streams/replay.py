"""A finished turn's stream rebuilt from the log, for when its Redis buffer has expired."""

from __future__ import annotations

from typing import Any

from app.adapters.streams.endings import ending
from app.domain.events import Part
from app.domain.session import Turn


def stream_from_message(message_id: str, parts: list[Part], turn: Turn) -> list[dict[str, Any]]:
    """UI stream parts that assemble to the stored message: whole parts, no token deltas,
    each step between start-step and finish-step, as the live stream sent them."""
    out: list[dict[str, Any]] = [{"type": "start", "messageId": message_id}]
    in_step = False
    for i, part in enumerate(parts):
        kind, pid = part.get("type"), f"{message_id}-{i}"
        if kind == "step-start" or not in_step:
            if in_step:
                out.append({"type": "finish-step"})
            out.append({"type": "start-step"})
            in_step = True
        if kind in ("text", "reasoning"):
            out += [{"type": f"{kind}-start", "id": pid},
                    {"type": f"{kind}-delta", "id": pid, "delta": part.get("text", "")},
                    {"type": f"{kind}-end", "id": pid}]
        elif kind == "dynamic-tool":
            out += _tool(part)
    if not in_step:
        out.append({"type": "start-step"})
    # The live stream closes a completed turn's last step before its ending (workers/turns).
    if turn.status == "completed":
        out.append({"type": "finish-step"})
    out.append(ending(turn))
    return out


def _tool(part: Part) -> list[dict[str, Any]]:
    head = {"toolCallId": part["toolCallId"], "toolName": part["toolName"],
            "input": part.get("input") or {}, "dynamic": True}
    state = part.get("state")
    # A refused input (tool-input-error live) replays as input then error: the client's
    # part ends the same, in state output-error with the input and the error text.
    out: list[dict[str, Any]] = [{"type": "tool-input-available", **head}]
    if state == "output-available":
        out.append({"type": "tool-output-available", "toolCallId": part["toolCallId"],
                    "output": part.get("output") or {}, "dynamic": True})
    elif state == "output-error":
        out.append({"type": "tool-output-error", "toolCallId": part["toolCallId"],
                    "errorText": part.get("errorText", ""), "dynamic": True})
    return out

