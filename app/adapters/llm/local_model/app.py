"""The local model as a raw ASGI app: routes, script playback, pacing and failure modes.

Routes: `POST /v1/chat/completions` (OpenAI), `POST /v1/messages` (Anthropic) and
`GET /v1/models` (Anthropic's shape when the request carries `anthropic-version`, else
OpenAI's); the `/v1` may be missing or doubled, so either base URL works for either SDK.
Recent requests are recorded in `requests`, so tests can count retries. Requests that ask to
name a conversation (`Prompt.asks_for_name`: the service's own side call beside a session's
first turns) are recorded apart, in `naming_requests`, and never take a queued script (those
answer a conversation's requests, one each, in order): a test that scripts a conversation or
counts its requests sees the same whether sessions get named or not.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import msgspec
from msgspec import Struct

from app.adapters.llm.local_model.anthropic_wire import AnthropicWire
from app.adapters.llm.local_model.book import ScriptBook
from app.adapters.llm.local_model.openai_wire import OpenAIWire
from app.adapters.llm.local_model.plan import plan_reply
from app.adapters.llm.local_model.script import DEFAULT_MODEL, PRESETS, Script
from app.adapters.llm.local_model.wire import BadRequest, Frame, Wire, WireRequest, encode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

OPENAI = OpenAIWire()
ANTHROPIC = AnthropicWire()
_ID_PREFIX = {"openai": "chatcmpl-local-", "anthropic": "msg_local_"}

# Set in the request's task when it cuts a stream on purpose, so uvicorn's complaint about
# the unfinished response (logged in that same task) is not reported as a server error.
_cutting_on_purpose = contextvars.ContextVar("cutting_on_purpose", default=False)


class _QuietPlannedCuts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _cutting_on_purpose.get()


_uvicorn_log = logging.getLogger("uvicorn.error")
if not any(isinstance(f, _QuietPlannedCuts) for f in _uvicorn_log.filters):
    _uvicorn_log.addFilter(_QuietPlannedCuts())


class ReceivedRequest(Struct, frozen=True):
    """A request as the server saw it; `body` is the decoded JSON (None if there was none)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class LocalModelApp:
    """ASGI app answering as OpenAI and Anthropic would, following the scripts in `book`."""

    def __init__(self, book: ScriptBook | None = None, models: list[str] | None = None,
                 keep_requests: int = 10_000) -> None:
        self.book = book or ScriptBook()
        self.models = models or [DEFAULT_MODEL, *PRESETS]
        # The latest requests only, so a long benchmark run does not grow without bound.
        self.requests: deque[ReceivedRequest] = deque(maxlen=keep_requests)
        self.naming_requests: deque[ReceivedRequest] = deque(maxlen=keep_requests)
        self.request_count = 0
        self._in_flight: set[asyncio.Event] = set()
        self._closing = False
        self._ids = itertools.count(1)

    @property
    def in_flight(self) -> int:
        """Completion requests being answered right now (streaming, pausing or hanging)."""
        return len(self._in_flight)

    def close(self) -> None:
        """End every request in flight now: hanging ones return, streams are cut."""
        self._closing = True
        for gone in self._in_flight:
            gone.set()

    def reopen(self) -> None:
        """Answer requests again after `close` (a server started anew)."""
        self._closing = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        raw = await read_body(receive)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"], _normal_path(scope["path"])
        try:
            body = msgspec.json.decode(raw) if raw else None
        except msgspec.DecodeError:
            body = raw.decode("utf-8", "replace")
        received = ReceivedRequest(method, path, headers, body)
        if method == "POST" and path == "/v1/chat/completions":
            await self._complete(OPENAI, received, receive, send)
        elif method == "POST" and path == "/v1/messages":
            await self._complete(ANTHROPIC, received, receive, send)
        else:
            self._record(received)
            wire = ANTHROPIC if "anthropic-version" in headers else OPENAI
            if method == "GET" and path == "/v1/models":
                await _json(send, 200, wire.models(self.models))
            else:
                await _json(send, 404, wire.error(404, f"no route for {method} {path}"))

    def _record(self, received: ReceivedRequest, *, naming: bool = False) -> None:
        if naming:
            self.naming_requests.append(received)
            return
        self.requests.append(received)
        self.request_count += 1

    async def _complete(self, wire: Wire, received: ReceivedRequest, receive: Receive,
                        send: Send) -> None:
        try:
            request = wire.parse(received.body)
        except BadRequest as exc:
            self._record(received)
            await _json(send, 400, wire.error(400, str(exc)))
            return
        naming = request.prompt.asks_for_name
        self._record(received, naming=naming)
        script, limited = ((self.book.standing(request.model), False) if naming
                           else self.book.take(request.model))
        gone = asyncio.Event()
        if self._closing:
            gone.set()
        self._in_flight.add(gone)
        watcher = asyncio.create_task(_watch_disconnect(receive, gone))
        try:
            await self._answer(wire, request, script, limited, send, gone)
        finally:
            self._in_flight.discard(gone)
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)

    async def _answer(self, wire: Wire, request: WireRequest, script: Script, limited: bool,
                      send: Send, gone: asyncio.Event) -> None:
        if script.hang:
            await gone.wait()  # never answer; return once the client or the server goes
            return
        if limited:
            await _json(send, 429, wire.error(429, "rate limit reached for the local model"),
                        _retry_after(script.retry_after_s))
            return
        if script.fail_status is not None:
            await _json(send, script.fail_status, wire.error(script.fail_status,
                                                             script.fail_message))
            return
        plan = plan_reply(script, request.prompt)
        ident = f"{_ID_PREFIX[wire.name]}{next(self._ids)}"
        if request.stream:
            await _stream(send, wire.frames(plan, request, ident), script, gone)
        elif await _pause(gone, script.time_to_first_token_s):
            await _json(send, 200, wire.message(plan, request, ident))


async def _stream(send: Send, frames: list[Frame], script: Script, gone: asyncio.Event) -> None:
    """Send SSE frames, pacing token frames; return early (cutting the stream) when told to."""
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache"),
    ]})
    interval = 1.0 / script.tokens_per_second if script.tokens_per_second > 0 else 0.0
    sent = 0
    for frame in frames:
        if frame.token:
            if script.cut_after is not None and sent >= script.cut_after:
                _cutting_on_purpose.set(True)
                return  # uvicorn then closes the connection: the body never completes
            delay = script.time_to_first_token_s if sent == 0 else interval
            if not await _pause(gone, delay):
                _cutting_on_purpose.set(True)
                return
            sent += 1
        await send({"type": "http.response.body", "body": frame.data, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _pause(gone: asyncio.Event, seconds: float) -> bool:
    """Wait `seconds`; False if the client or the server went away meanwhile."""
    if seconds > 0.05:
        try:
            await asyncio.wait_for(gone.wait(), seconds)
        except TimeoutError:
            return True
        return False
    if seconds > 0:
        await asyncio.sleep(seconds)  # cheaper than wait_for per token at high rates
    return not gone.is_set()


async def _watch_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


def _normal_path(path: str) -> str:
    """`/v1/...` whether the client's base URL had `/v1` once, twice or not at all."""
    path = "/" + path.strip("/")
    while path.startswith("/v1/v1/"):
        path = path[3:]
    return path if path.startswith("/v1/") else "/v1" + path


async def read_body(receive: Receive) -> bytes:
    """A request's whole body (what arrived of it, if the client went away)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _json(send: Send, status: int, payload: object,
                extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = encode(payload)
    headers = [(b"content-type", b"application/json"), (b"request-id", b"req_local"),
               (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _retry_after(seconds: float) -> list[tuple[bytes, bytes]]:
    # `retry-after` is whole seconds by the HTTP spec; both SDKs prefer `retry-after-ms`.
    return [(b"retry-after", str(math.ceil(max(seconds, 0))).encode()),
            (b"retry-after-ms", str(round(max(seconds, 0) * 1000)).encode())]


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
