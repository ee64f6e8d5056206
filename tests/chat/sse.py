"""Read an AI SDK UI message stream the way a client does: frames of `id:` and `data:`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec


class Frame(msgspec.Struct, frozen=True):
    id: str | None
    data: Any  # the part (dict), or "[DONE]"

    @property
    def seq(self) -> int:
        assert self.id is not None
        return int(self.id.rsplit(":", 1)[1])


async def frames(response: httpx.Response) -> AsyncIterator[Frame]:
    event_id: str | None = None
    async for line in response.aiter_lines():
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            raw = line[6:]
            yield Frame(event_id, raw if raw == "[DONE]" else json.loads(raw))
        elif line == "":
            event_id = None


async def read_all(response: httpx.Response) -> list[Frame]:
    return [f async for f in frames(response)]


def text_of(parts: list[Frame]) -> str:
    return "".join(f.data["delta"] for f in parts
                   if isinstance(f.data, dict) and f.data.get("type") == "text-delta")


def chat_body(session_id: str, message_id: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"id": session_id, "trigger": "submit-message",
            "messages": [{"id": message_id, "role": "user",
                          "parts": [{"type": "text", "text": text}]}], **extra}
