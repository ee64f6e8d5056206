"""The local model server for bench.tools: each turn answered as its question says, every
completion request stamped with the moments that bound a tool round trip.

    python -m bench.tools.scripted_model --port N

A user message carrying `steps=N tokens=K` (and a tag of its own, `run=<id>`) gets N model
steps: the first N-1 call `current_time` with `{}` and no text, the last answers K words.
Which step a request is comes from the tool results after that message, so the pipeline
and the direct baseline are scripted alike, and concurrent turns cannot take each other's
scripts. Any other request is the local model's own answer (`--tokens` words).

Each completion request gets a `Stamp` (CLOCK_MONOTONIC ns, this process's reading):

- `received_ns`: its body was fully read (the request is with the model);
- `first_ns`: its first output frame (text or a tool call) was handed to the server;
- `last_ns`: its last frame (the end of the chunked body) was handed to the server.

Each is taken just before the frame goes to uvicorn's `send`, which writes it to the socket
without waiting: a stamp taken after `send` returns can come late (this process descheduled
on a busy machine) and would shorten the round trip; one taken before lengthens it by the
microseconds of one write.

So a tool round trip is `received_ns` of step N+1 minus `last_ns` of step N: the time the
caller took from the end of one step to the next request, with no clock but this one.
`GET /bench/stamps` returns the stamps so far and forgets them.
"""

from __future__ import annotations

import argparse
import re
import time
from typing import Any

import msgspec
import uvicorn

from app.adapters.llm.local_model.app import (
    LocalModelApp,
    Message,
    Receive,
    Scope,
    Send,
    read_body,
)
from app.adapters.llm.local_model.book import ScriptBook
from app.adapters.llm.local_model.habits import CLOCK_TOOL
from app.adapters.llm.local_model.script import (
    DEFAULT_TOKENS,
    Script,
    ScriptedToolCall,
    default_reply,
)

STAMPS_PATH = "/bench/stamps"
_ORDER = re.compile(r"\brun=(\S+) steps=(\d+) tokens=(\d+)")
_CALL = Script(text="", tool_calls=(ScriptedToolCall(name=CLOCK_TOOL, arguments="{}"),))


class Stamp(msgspec.Struct):
    tag: str  # the turn's `run=` tag; "" for requests without one
    step: int  # 1 for the question, then one more per tool result after it
    received_ns: int
    first_ns: int = 0
    last_ns: int = 0


def question(tag: str, steps: int, tokens: int) -> str:
    """The user message that scripts a turn of `steps` model steps and a `tokens`-word
    answer (the scripts follow the tag, so it must be unique per turn)."""
    return f"Tool bench: run={tag} steps={steps} tokens={tokens}"


def order_of(body: Any) -> tuple[str, int, Script] | None:
    """(tag, step, the script answering it) for a scripted chat completion, else None."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return None
    messages = [m for m in body["messages"] if isinstance(m, dict)]
    asked = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    content = messages[asked].get("content") if asked >= 0 else None
    text = content if isinstance(content, str) else ""
    found = _ORDER.search(text)
    if found is None:
        return None
    tag, steps, tokens = found.group(1), int(found.group(2)), int(found.group(3))
    step = 1 + sum(1 for m in messages[asked + 1:] if m.get("role") == "tool")
    script = _CALL if step < steps else Script(text=default_reply(text, tokens))
    return tag, step, script


def _carries_output(body: bytes) -> bool:
    """A chunk with text (non-empty `content`) or a tool call: the step's first output."""
    if b'"tool_calls"' in body:
        return True
    at = body.find(b'"content":"')
    return at >= 0 and body[at + 11 : at + 12] != b'"'


class ScriptedApp:
    """The local model app behind a door that scripts and stamps each request."""

    def __init__(self, app: LocalModelApp) -> None:
        self.app = app
        self.stamps: list[Stamp] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            if scope["type"] == "http" and scope["path"] == STAMPS_PATH:
                await self._send_stamps(send)
                return
            await self.app(scope, receive, send)
            return
        raw = await read_body(receive)
        stamp = Stamp("", 0, time.monotonic_ns())
        try:
            body = msgspec.json.decode(raw) if raw else None
        except msgspec.DecodeError:
            body = None
        order = order_of(body)
        if order is not None:
            stamp.tag, stamp.step, script = order
            # Taken by the very next request for this model: the app reads the body below
            # without waiting, so no other request can come in between.
            self.app.book.enqueue_for_model(str(body["model"]), script)  # type: ignore[index]
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        async def stamped(message: Message) -> None:
            chunk = message.get("body")
            if (not stamp.first_ns and message["type"] == "http.response.body"
                    and isinstance(chunk, bytes) and _carries_output(chunk)):
                stamp.first_ns = time.monotonic_ns()
            if message["type"] == "http.response.body" and not message.get("more_body"):
                stamp.last_ns = time.monotonic_ns()
            await send(message)

        await self.app(scope, replay, stamped)
        self.stamps.append(stamp)

    async def _send_stamps(self, send: Send) -> None:
        body = msgspec.json.encode(self.stamps)
        self.stamps = []
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tools.scripted_model")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--tokens", type=int, default=DEFAULT_TOKENS)
    parser.add_argument("--tokens-per-second", type=float, default=0.0)
    parser.add_argument("--ttft", type=float, default=0.0)
    args = parser.parse_args(argv)
    default = Script(tokens=args.tokens, tokens_per_second=args.tokens_per_second,
                     time_to_first_token_s=args.ttft)
    app = ScriptedApp(LocalModelApp(ScriptBook(default)))
    uvicorn.run(app, host=args.host, port=args.port, lifespan="off", ws="none",
                access_log=False, log_level="warning", timeout_graceful_shutdown=1)


if __name__ == "__main__":
    main()
