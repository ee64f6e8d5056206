"""What the OpenAI and Anthropic wire encoders share: frames, parsed requests, the protocol."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any, Protocol

import msgspec
from msgspec import Struct

from app.adapters.llm.local_model.conversation import FileKind, Prompt, SeenFile
from app.adapters.llm.local_model.plan import Plan


class Frame(Struct, frozen=True):
    """One chunk of a response body. `token` frames are paced and counted for `cut_after`."""

    data: bytes
    token: bool = False


class WireRequest(Struct, frozen=True):
    model: str
    stream: bool
    include_usage: bool
    prompt: Prompt


class BadRequest(Exception):
    """The request body is not what the real API accepts; answered with a 400."""


class Wire(Protocol):
    """One API dialect: how requests are read and answers, errors and model lists written."""

    name: str

    def parse(self, body: object) -> WireRequest: ...
    def frames(self, plan: Plan, request: WireRequest, ident: str) -> list[Frame]: ...
    def message(self, plan: Plan, request: WireRequest, ident: str) -> dict[str, Any]: ...
    def error(self, status: int, message: str) -> dict[str, Any]: ...
    def models(self, ids: list[str]) -> dict[str, Any]: ...


def encode(value: object) -> bytes:
    return msgspec.json.encode(value)


def text_of(content: object) -> str:
    """The text of a message's content: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p.get("text") for p in content if isinstance(p, dict)]
        return "\n".join(t for t in texts if isinstance(t, str))
    return ""


def decoded_base64(data: object, field: str) -> bytes:
    """A file's base64 bytes; a 400 as the real APIs answer one that is not base64."""
    if not isinstance(data, str):
        raise BadRequest(f"{field}: base64 data is required")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{field}: the data is not valid base64") from None


def file_at(kind: FileKind, url: object, field: str) -> SeenFile:
    """A file sent as a URL (OpenAI's dialect): a base64 `data:` URL, or an http(s) one."""
    if not isinstance(url, str):
        raise BadRequest(f"{field}: a URL is required")
    if url.startswith("data:"):
        head, comma, payload = url.partition(",")
        if not comma or not head.endswith(";base64"):
            raise BadRequest(f"{field}: a data URL must be base64 (data:<type>;base64,...)")
        return SeenFile(kind=kind, media_type=head[5:].split(";")[0],
                        size=len(decoded_base64(payload, field)))
    if url.startswith(("https://", "http://")):
        return SeenFile(kind=kind, url=url)
    raise BadRequest(f"{field}: a data: or http(s): URL is expected")


def require_dict(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def require_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise BadRequest("messages: a list of message objects is required")
    return messages


def require_model(body: dict[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("model: a model name is required")
    return model


def require_max_tokens(value: object) -> int | None:
    if value is not None and not isinstance(value, int):
        raise BadRequest("max_tokens: an integer is expected")
    return value


def tool_names(body: dict[str, Any],
               name_of: Callable[[dict[str, Any]], object]) -> tuple[str, ...]:
    """The names of the tools the request offers; `name_of` finds the name in one of the
    dialect's tool objects. Nameless ones are left out: nothing could call them."""
    tools = body.get("tools")
    if tools is None:
        return ()
    if not isinstance(tools, list):
        raise BadRequest("tools: a list of tools is expected")
    names = (string(name_of(t)) for t in tools if isinstance(t, dict))
    return tuple(name for name in names if name)


def string(value: object) -> str:
    """A field that should be a string; a client's odd value must not cost it a 400 here."""
    return value if isinstance(value, str) else ""


def arguments_json(text: str) -> Any:
    """Parse a scripted tool call's arguments; a script may hold invalid JSON on purpose."""
    try:
        return json.loads(text or "{}")
    except ValueError:
        return {}
