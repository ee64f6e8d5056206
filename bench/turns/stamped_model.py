"""The fake model server with a send time in every text delta, for bench.turns.

    python -m bench.turns.stamped_model --port N --tokens N --tokens-per-second R

The same app and options as `python -m app.adapters.llm.local_model`, with two differences:

- each streamed OpenAI chunk that carries text gets `@<CLOCK_MONOTONIC ns>;` in front of
  its content, taken the moment the chunk is handed to the server. A client on the same
  machine reading the same clock knows how long that token took to reach it;
- tokens are paced against a deadline (token n is due n/R after the first), not by a sleep
  per token: the app's per-token `asyncio.sleep(1/R)` cannot wait less than the event
  loop's timer tick (uvloop rounds to whole milliseconds, so under 1 ms it does not wait
  at all, and 5,000/s streams unpaced), and every late wake-up adds to the next.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import uvicorn

from app.adapters.llm.local_model.app import LocalModelApp, Message, Receive, Scope, Send
from app.adapters.llm.local_model.book import ScriptBook
from app.adapters.llm.local_model.script import DEFAULT_TOKENS, Script

_CONTENT = b'"content":"'


def parse_stamp(text: str) -> tuple[int, str] | None:
    """(send time in ns, the token) from a stamped delta, None if it carries no stamp."""
    if not text.startswith("@"):
        return None
    end = text.find(";")
    if end < 0 or not text[1:end].isdigit():
        return None
    return int(text[1:end]), text[end + 1 :]


def stamp(body: bytes) -> bytes:
    """The chunk with the send time before its (non-empty) content, else as it was."""
    at = body.find(_CONTENT)
    if at < 0:
        return body
    start = at + len(_CONTENT)
    if body[start : start + 1] == b'"':
        return body
    return body[:start] + b"@%d;" % time.monotonic_ns() + body[start:]


def carries_text(body: bytes) -> bool:
    at = body.find(_CONTENT)
    return at >= 0 and body[at + len(_CONTENT) : at + len(_CONTENT) + 1] != b'"'


class StampedApp:
    def __init__(self, app: LocalModelApp, tokens_per_second: float) -> None:
        self.app = app
        self.interval = 1 / tokens_per_second if tokens_per_second > 0 else 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        first = 0.0
        sent = 0

        async def stamped(message: Message) -> None:
            nonlocal first, sent
            body = message.get("body")
            if message["type"] == "http.response.body" and isinstance(body, bytes) \
                    and carries_text(body):
                if sent == 0:
                    first = time.monotonic()
                elif self.interval:
                    wait = first + sent * self.interval - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(max(wait, 0.001))
                sent += 1
                message = {**message, "body": stamp(body)}
            await send(message)

        await self.app(scope, receive, stamped)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.turns.stamped_model")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--tokens", type=int, default=DEFAULT_TOKENS)
    parser.add_argument("--tokens-per-second", type=float, default=0.0)
    parser.add_argument("--ttft", type=float, default=0.0)
    args = parser.parse_args(argv)
    default = Script(tokens=args.tokens, time_to_first_token_s=args.ttft)
    app = StampedApp(LocalModelApp(ScriptBook(default)), args.tokens_per_second)
    uvicorn.run(app, host=args.host, port=args.port, lifespan="off", ws="none",
                access_log=False, log_level="warning", timeout_graceful_shutdown=1)


if __name__ == "__main__":
    main()
