"""The Anthropic messages dialect, byte for byte as api.anthropic.com streams it.

Stream: `message_start`, then one content block per kind (thinking with `thinking_delta`s
and a `signature_delta`, text with `text_delta`s, each tool use with `input_json_delta`s),
each opened by `content_block_start` and closed by `content_block_stop`, a `ping` after the
first block opens, then `message_delta` (stop reason, cumulative usage) and `message_stop`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from app.adapters.llm.local_model.conversation import (
    AssistantSaid,
    FileKind,
    Said,
    SeenFile,
    ToolAnswered,
    UserSaid,
    prompt_of,
)
from app.adapters.llm.local_model.plan import Plan
from app.adapters.llm.local_model.wire import (
    BadRequest,
    Frame,
    WireRequest,
    arguments_json,
    decoded_base64,
    encode,
    require_dict,
    require_messages,
    require_model,
    string,
    text_of,
    tool_names,
)

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                "content_filter": "refusal"}
_TAKES = {"image": ("image/jpeg", "image/png", "image/gif", "image/webp"),
          "document": ("application/pdf",)}
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                429: "rate_limit_error", 529: "overloaded_error"}


class AnthropicWire:
    name = "anthropic"

    def parse(self, body: object) -> WireRequest:
        data = require_dict(body)
        if not isinstance(data.get("max_tokens"), int):
            raise BadRequest("max_tokens: Field required")
        return WireRequest(
            model=require_model(data),
            stream=data.get("stream") is True,
            include_usage=True,
            prompt=prompt_of(said_in(require_messages(data)),
                             tools=tool_names(data, lambda tool: tool.get("name")),
                             system=text_of(data.get("system")),
                             max_tokens=data["max_tokens"]),
        )

    def frames(self, plan: Plan, request: WireRequest, ident: str) -> list[Frame]:
        start: dict[str, Any] = {
            "id": ident, "type": "message", "role": "assistant", "model": request.model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": _usage(plan.input_tokens, 1),
        }
        frames = [_event("message_start", {"message": start})]
        for index, (opening, deltas, closing) in enumerate(_blocks(plan)):
            frames.append(_event("content_block_start", {"index": index,
                                                         "content_block": opening}))
            if index == 0:
                frames.append(_event("ping", {}))
            frames += [
                _event("content_block_delta", {"index": index, "delta": d}, token=True)
                for d in deltas
            ]
            if closing is not None:
                frames.append(_event("content_block_delta", {"index": index, "delta": closing}))
            frames.append(_event("content_block_stop", {"index": index}))
        frames.append(_event("message_delta", {
            "delta": {"stop_reason": STOP_REASONS[plan.finish_reason], "stop_sequence": None},
            "usage": _usage(plan.input_tokens, plan.output_tokens),
        }))
        frames.append(_event("message_stop", {}))
        return frames

    def message(self, plan: Plan, request: WireRequest, ident: str) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if plan.reasoning:
            thinking = "".join(plan.reasoning)
            content.append({"type": "thinking", "thinking": thinking,
                            "signature": _signature(thinking)})
        if plan.text:
            content.append({"type": "text", "text": plan.full_text})
        content += [
            {"type": "tool_use", "id": c.call_id, "name": c.name,
             "input": arguments_json("".join(c.pieces))}
            for c in plan.tool_calls
        ]
        return {"id": ident, "type": "message", "role": "assistant", "model": request.model,
                "content": content, "stop_reason": STOP_REASONS[plan.finish_reason],
                "stop_sequence": None, "usage": _usage(plan.input_tokens, plan.output_tokens)}

    def error(self, status: int, message: str) -> dict[str, Any]:
        kind = _ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message},
                "request_id": "req_local"}

    def models(self, ids: list[str]) -> dict[str, Any]:
        data = [{"type": "model", "id": i, "display_name": f"Local {i}",
                 "created_at": "2025-01-01T00:00:00Z"} for i in ids]
        return {"data": data, "has_more": False,
                "first_id": ids[0] if ids else None, "last_id": ids[-1] if ids else None}


def said_in(messages: list[dict[str, Any]]) -> list[Said]:
    """The conversation. Tool results arrive as `tool_result` blocks in a user message, before
    any text of the user's; a user message of results alone is not the user speaking."""
    said: list[Said] = []
    for message in messages:
        role, content = message.get("role"), message.get("content")
        blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
        if role == "assistant":
            calls = {string(b.get("id")): string(b.get("name"))
                     for b in blocks if b.get("type") == "tool_use"}
            said.append(AssistantSaid(text_of(content), calls))
        elif role == "user":
            results = [b for b in blocks if b.get("type") == "tool_result"]
            said += [ToolAnswered(string(b.get("tool_use_id")), text_of(b.get("content")),
                                  b.get("is_error") is True) for b in results]
            if not results or len(results) < len(blocks):
                said.append(UserSaid(text_of(content), tuple(
                    _file(b) for b in blocks if b.get("type") in ("image", "document"))))
    return said


def _file(block: dict[str, Any]) -> SeenFile:
    """An image or document block: its source base64 data of a type the API takes, a URL,
    or (a document) plain text."""
    kind: FileKind = "image" if block["type"] == "image" else "document"
    source = block.get("source")
    if not isinstance(source, dict):
        raise BadRequest(f"{kind}.source: Field required")
    if source.get("type") == "url":
        if not isinstance(source.get("url"), str):
            raise BadRequest(f"{kind}.source.url: Field required")
        return SeenFile(kind=kind, url=source["url"])
    if kind == "document" and source.get("type") == "text":
        return SeenFile(kind=kind, media_type="text/plain",
                        size=len(string(source.get("data")).encode()))
    media_type = string(source.get("media_type"))
    if source.get("type") != "base64" or media_type not in _TAKES[kind]:
        raise BadRequest(f"{kind}.source: a base64 source of type {', '.join(_TAKES[kind])}"
                         f" or a url source is expected")
    return SeenFile(kind=kind, media_type=media_type,
                    size=len(decoded_base64(source.get("data"), f"{kind}.source.data")))


_Block = tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]


def _blocks(plan: Plan) -> list[_Block]:
    """Each content block: its opening, its token deltas, an untimed closing delta."""
    blocks: list[_Block] = []
    if plan.reasoning:
        signature = {"type": "signature_delta", "signature": _signature("".join(plan.reasoning))}
        blocks.append(({"type": "thinking", "thinking": "", "signature": ""},
                       [{"type": "thinking_delta", "thinking": t} for t in plan.reasoning],
                       signature))
    if plan.text or not plan.tool_calls:
        blocks.append(({"type": "text", "text": ""},
                       [{"type": "text_delta", "text": t} for t in plan.text], None))
    for call in plan.tool_calls:
        blocks.append(({"type": "tool_use", "id": call.call_id, "name": call.name,
                                    "input": {}},
                       [{"type": "input_json_delta", "partial_json": p} for p in call.pieces],
                       None))
    return blocks


def _event(name: str, payload: dict[str, Any], *, token: bool = False) -> Frame:
    data = encode({"type": name, **payload})
    return Frame(b"event: " + name.encode() + b"\ndata: " + data + b"\n\n", token=token)


def _usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {"input_tokens": input_tokens, "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0, "output_tokens": output_tokens}


def _signature(thinking: str) -> str:
    # Real signatures are opaque; a digest keeps ours deterministic.
    return hashlib.sha256(thinking.encode()).hexdigest()
