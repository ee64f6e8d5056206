"""The AI SDK UI message stream (v1) on the wire: headers and frames."""

from __future__ import annotations

from typing import Any

import msgspec

HEADERS = {
    "cache-control": "no-cache",
    "x-vercel-ai-ui-message-stream": "v1",
    "x-accel-buffering": "no",
}
MEDIA_TYPE = "text/event-stream"
KEEP_ALIVE = b": keep-alive\n\n"
# Internal part the worker publishes after the turn's terminal event has committed; the
# relay turns it into `data: [DONE]` and never shows it to the client.
DONE_TYPE = "x-robots-done"

_encoder = msgspec.json.Encoder()


def event_id(turn_id: str, seq: int) -> str:
    return f"{turn_id}:{seq}"


def frame(turn_id: str, seq: int, part: dict[str, Any] | bytes) -> bytes:
    data = part if isinstance(part, bytes) else _encoder.encode(part)
    return b"id: " + event_id(turn_id, seq).encode() + b"\ndata: " + data + b"\n\n"


def done_frame(turn_id: str, seq: int) -> bytes:
    return b"id: " + event_id(turn_id, seq).encode() + b"\ndata: [DONE]\n\n"


def parse_last_event_id(value: str | None, turn_id: str) -> int | None:
    """The sequence number in a `Last-Event-ID` that belongs to this turn, else None."""
    if not value:
        return None
    turn, _, seq = value.rpartition(":")
    return int(seq) if turn == turn_id and seq.isdigit() else None
