"""The turns bench.sessions times, each beside the model read directly with the same history.

A pipeline turn is a POST /robots/chat/sse read to its `[DONE]`; the direct read is the same
model asked through the worker's own provider adapter (the OpenAI SDK sends the request, the
adapter decodes the stream, as a worker's does) with the system prompt and every earlier
question and answer of the session, as the worker sends them. What is left is what the
pipeline adds: the API, the log, arq, Redis, the relay, SSE, and the session's length.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from app.adapters.llm.base import ModelRequest, PromptMessage
from app.adapters.llm.events import TextDelta
from app.adapters.llm.openai_adapter import OpenAIAdapter
from bench.harness.figures import note
from bench.harness.sse import Connection, chat_body, text_delta

MAX_TOKENS = 4096  # what a worker asks for (workers/turns/prompt.py)

T = TypeVar("T")


@dataclass(frozen=True)
class Timing:
    ttft_ms: float
    whole_ms: float


@dataclass
class Paired:
    """Pipeline and direct timings, sample by sample (taken side by side)."""

    pipeline: list[Timing] = field(default_factory=list)
    direct: list[Timing] = field(default_factory=list)

    def added(self, which: Callable[[Timing], float]) -> list[float]:
        return [which(p) - which(d) for p, d in zip(self.pipeline, self.direct, strict=True)]


@dataclass
class Conversation:
    """One session as its client knows it: the questions asked and the answers streamed."""

    session_id: str
    exchanges: list[tuple[str, str]] = field(default_factory=list)

    def question(self) -> str:
        return f"Question {len(self.exchanges) + 1}: what comes next in this long chat?"

    def history(self, question: str) -> list[PromptMessage]:
        """What the worker sends for `question`: every exchange before it, then it."""
        earlier = [m for q, a in self.exchanges
                   for m in (PromptMessage(role="user", text=q),
                             PromptMessage(role="assistant", text=a))]
        return [*earlier, PromptMessage(role="user", text=question)]


def _ms(start_ns: int, end_ns: int) -> float:
    return (end_ns - start_ns) / 1e6


_start_part = msgspec.json.Decoder(dict[str, object])


async def pipeline_turn(conn: Connection, session_id: str,
                        question: str) -> tuple[Timing, str, str]:
    """One turn through the API: its timing, the answer streamed, and the turn's id."""
    began = time.monotonic_ns()
    first = last = 0
    answer: list[str] = []
    turn_id = ""
    body = chat_body(session_id, f"m-{uuid.uuid4().hex[:12]}", question)
    async for at, data in conn.stream("/robots/chat/sse", body):
        last = at
        if not turn_id and b'"type":"start"' in data:
            turn_id = str(_start_part.decode(data).get("messageId", "")).removeprefix("msg-")
        delta = text_delta(data)
        if delta is not None:
            first = first or at
            answer.append(delta)
    if not first:
        raise RuntimeError(f"a turn in session {session_id} streamed no text")
    return Timing(_ms(began, first), _ms(began, last)), "".join(answer), turn_id


async def direct_turn(client: OpenAIAdapter, system: str,
                      history: list[PromptMessage]) -> Timing:
    request = ModelRequest(model="echo", system=system, messages=history,
                           max_tokens=MAX_TOKENS)
    began = time.monotonic_ns()
    first = 0
    async for event in client.stream(request):
        if not first and isinstance(event, TextDelta) and event.text:
            first = time.monotonic_ns()
    end = time.monotonic_ns()
    if not first:
        raise RuntimeError("the model streamed no text")
    return Timing(_ms(began, first), _ms(began, end))


async def grow(conn: Connection, long: Conversation, exchanges: int) -> float:
    """Exchange after exchange through the API until the session has `exchanges`; the
    seconds it took."""
    began = last = time.perf_counter()
    while len(long.exchanges) < exchanges:
        question = long.question()
        _, answer, _ = await pipeline_turn(conn, long.session_id, question)
        long.exchanges.append((question, answer))
        if time.perf_counter() - last >= 15:
            last = time.perf_counter()
            note(f"growing the session: {len(long.exchanges):,}/{exchanges:,} exchanges")
    return time.perf_counter() - began


@dataclass
class Sampled:
    long: Paired = field(default_factory=Paired)
    fresh: Paired = field(default_factory=Paired)
    long_turn_ids: list[str] = field(default_factory=list)
    fresh_turn_ids: list[str] = field(default_factory=list)


async def _in_order(pipeline_first: bool, pipeline: Coroutine[Any, Any, T],
                    direct: Coroutine[Any, Any, Timing]) -> tuple[T, Timing]:
    """The pipeline turn and its direct read, in the order given (alternated by the caller,
    so that drift on the machine touches both alike)."""
    if pipeline_first:
        done = await pipeline
        return done, await direct
    read = await direct
    return await pipeline, read


async def _metered(turn: Coroutine[Any, Any, T], meter: Callable[[bool], None]) -> T:
    meter(True)
    try:
        return await turn
    finally:
        meter(False)


async def sample(conn: Connection, client: OpenAIAdapter, system: str, long: Conversation,
                 samples: int, meter: Callable[[bool], None]) -> Sampled:
    """`samples` turns in the long session (each one more exchange of it) and as many in
    fresh sessions, interleaved, each beside its direct read. `meter(True)` is called right
    before each long pipeline turn and `meter(False)` right after (CPU meters)."""
    out = Sampled()
    for i in range(samples):
        question = long.question()
        (timing, answer, turn_id), direct = await _in_order(
            i % 2 == 0, _metered(pipeline_turn(conn, long.session_id, question), meter),
            direct_turn(client, system, long.history(question)))
        long.exchanges.append((question, answer))
        out.long.pipeline.append(timing)
        out.long.direct.append(direct)
        out.long_turn_ids.append(turn_id)
        await asyncio.sleep(0.01)  # let the turn's tail (lease release, projector) settle
        fresh = Conversation(f"fresh-{uuid.uuid4().hex}")
        question = fresh.question()
        (timing, _, turn_id), direct = await _in_order(
            i % 2 == 1, pipeline_turn(conn, fresh.session_id, question),
            direct_turn(client, system, fresh.history(question)))
        out.fresh.pipeline.append(timing)
        out.fresh.direct.append(direct)
        out.fresh_turn_ids.append(turn_id)
        await asyncio.sleep(0.01)
    return out
