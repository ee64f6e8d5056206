"""What the OpenAI and Anthropic wire encoders share: frames, parsed requests, the protocol."""

from __future__ import annotations

import json
from typing import Any, Protocol

import msgspec
from msgspec import Struct

from app.adapters.llm.local_model.script import Plan, Prompt


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


def prompt_of(messages: list[dict[str, Any]], extra: str, max_tokens: object) -> Prompt:
    """The last user message's text, the word count of everything, and the token cap."""
    texts = [text_of(m.get("content")) for m in messages]
    users = [text_of(m.get("content")) for m in messages if m.get("role") == "user"]
    words = len(extra.split()) + sum(len(t.split()) for t in texts)
    if max_tokens is not None and not isinstance(max_tokens, int):
        raise BadRequest("max_tokens: an integer is expected")
    return Prompt(last_user_text=users[-1] if users else "", input_words=words,
                  max_tokens=max_tokens)


def arguments_json(text: str) -> Any:
    """Parse a scripted tool call's arguments; a script may hold invalid JSON on purpose."""
    try:
        return json.loads(text or "{}")
    except ValueError:
        return {}
