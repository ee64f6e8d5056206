"""The OpenAI chat completions dialect, byte for byte as api.openai.com streams it.

Stream: a role chunk, one chunk per token (`reasoning_content` as vLLM/DeepSeek send it, then
`content`), tool calls (a header chunk with id and name, then `function.arguments` pieces), a
chunk with `finish_reason`, a usage chunk with no choices when `stream_options.include_usage`
is set, and `data: [DONE]`.
"""

from __future__ import annotations

import time
from typing import Any

from app.adapters.llm.local_model.conversation import (
    AssistantSaid,
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
    encode,
    file_at,
    require_dict,
    require_max_tokens,
    require_messages,
    require_model,
    string,
    text_of,
    tool_names,
)

_ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error",
                403: "permission_denied", 404: "invalid_request_error", 429: "requests"}


class OpenAIWire:
    name = "openai"

    def parse(self, body: object) -> WireRequest:
        data = require_dict(body)
        options = data.get("stream_options")
        if options is not None and not isinstance(options, dict):
            raise BadRequest("stream_options: an object is expected")
        limit = data.get("max_completion_tokens", data.get("max_tokens"))
        messages = require_messages(data)
        system = [text_of(m.get("content")) for m in messages
                  if m.get("role") in ("system", "developer")]
        return WireRequest(
            model=require_model(data),
            stream=data.get("stream") is True,
            include_usage=bool(options and options.get("include_usage")),
            prompt=prompt_of(said_in(messages), tools=tool_names(data, _tool_name),
                             system=" ".join(system), max_tokens=require_max_tokens(limit)),
        )

    def frames(self, plan: Plan, request: WireRequest, ident: str) -> list[Frame]:
        chunk = _Chunker(ident, request)
        frames = [chunk({"role": "assistant", "content": "", "refusal": None})]
        frames += [chunk({"reasoning_content": t}, token=True) for t in plan.reasoning]
        frames += [chunk({"content": t}, token=True) for t in plan.text]
        for index, call in enumerate(plan.tool_calls):
            head = {"index": index, "id": call.call_id, "type": "function",
                    "function": {"name": call.name, "arguments": ""}}
            frames.append(chunk({"tool_calls": [head]}))
            frames += [
                chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]},
                      token=True)
                for piece in call.pieces
            ]
        frames.append(chunk({}, finish=plan.finish_reason))
        if request.include_usage:
            frames.append(chunk.usage(usage(plan)))
        frames.append(Frame(b"data: [DONE]\n\n"))
        return frames

    def message(self, plan: Plan, request: WireRequest, ident: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": plan.full_text or None,
                                   "refusal": None}
        if plan.reasoning:
            message["reasoning_content"] = "".join(plan.reasoning)
        if plan.tool_calls:
            message["tool_calls"] = [
                {"id": c.call_id, "type": "function",
                 "function": {"name": c.name, "arguments": "".join(c.pieces)}}
                for c in plan.tool_calls
            ]
        return {
            "id": ident, "object": "chat.completion", "created": int(time.time()),
            "model": request.model, "system_fingerprint": "fp_local",
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": plan.finish_reason}],
            "usage": usage(plan),
        }

    def error(self, status: int, message: str) -> dict[str, Any]:
        kind = _ERROR_TYPES.get(status, "server_error")
        code = "rate_limit_exceeded" if status == 429 else None
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}

    def models(self, ids: list[str]) -> dict[str, Any]:
        return {"object": "list", "data": [
            {"id": i, "object": "model", "created": 1_700_000_000, "owned_by": "local"}
            for i in ids
        ]}


def said_in(messages: list[dict[str, Any]]) -> list[Said]:
    """The conversation: user and assistant messages (with their `tool_calls`) and one `tool`
    message per result. System and developer messages are instructions, not said."""
    said: list[Said] = []
    for message in messages:
        role, content = message.get("role"), message.get("content")
        if role == "user":
            said.append(UserSaid(text_of(content), _files(content)))
        elif role == "assistant":
            said.append(AssistantSaid(text_of(content), _calls(message.get("tool_calls"))))
        elif role == "tool":
            said.append(ToolAnswered(string(message.get("tool_call_id")), text_of(content)))
    return said


def _files(content: object) -> tuple[SeenFile, ...]:
    """The images (`image_url` parts) and files (`file` parts, their `file_data` a data:
    URL) of a user message's content."""
    parts = [p for p in content if isinstance(p, dict)] if isinstance(content, list) else []
    seen = []
    for part in parts:
        if part.get("type") == "image_url":
            image = part.get("image_url")
            seen.append(file_at("image", image.get("url") if isinstance(image, dict) else None,
                                "image_url.url"))
        elif part.get("type") == "file":
            file = part.get("file")
            data = file.get("file_data") if isinstance(file, dict) else None
            seen.append(file_at("document", data, "file.file_data"))
    return tuple(seen)


def _tool_name(tool: dict[str, Any]) -> object:
    kind = tool.get("function") or tool.get("custom")  # function tools, and custom ones
    return kind.get("name") if isinstance(kind, dict) else None


def _calls(calls: object) -> dict[str, str]:
    if not isinstance(calls, list):
        return {}
    named = [(c.get("id"), c.get("function")) for c in calls if isinstance(c, dict)]
    return {string(i): string(f.get("name")) for i, f in named if isinstance(f, dict)}


def usage(plan: Plan) -> dict[str, Any]:
    return {
        "prompt_tokens": plan.input_tokens,
        "completion_tokens": plan.output_tokens,
        "total_tokens": plan.input_tokens + plan.output_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": len(plan.reasoning), "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0,
        },
    }


class _Chunker:
    """Builds `chat.completion.chunk` frames that share the completion's id and model."""

    def __init__(self, ident: str, request: WireRequest) -> None:
        self._base: dict[str, Any] = {
            "id": ident, "object": "chat.completion.chunk", "created": int(time.time()),
            "model": request.model, "service_tier": "default", "system_fingerprint": "fp_local",
        }
        self._include_usage = request.include_usage

    def __call__(self, delta: dict[str, Any], *, finish: str | None = None,
                 token: bool = False) -> Frame:
        chunk = {**self._base, "choices": [
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if self._include_usage:
            chunk["usage"] = None  # OpenAI sends an explicit null until the last chunk
        return Frame(b"data: " + encode(chunk) + b"\n\n", token=token)

    def usage(self, usage: dict[str, Any]) -> Frame:
        return Frame(b"data: " + encode({**self._base, "choices": [], "usage": usage}) + b"\n\n")

