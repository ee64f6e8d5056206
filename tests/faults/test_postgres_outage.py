"""PostgreSQL goes away for ten seconds while turns stream and clients keep asking."""

from __future__ import annotations

import asyncio
import time

import httpx

from app.adapters.llm.local_model import Script
from tests.chat.sse import text_of
from tests.faults.stack import ProcessStack
from tests.faults.test_redis_outage import WORDS, stored_text


async def _ask_until(stack: ProcessStack, stop: asyncio.Event,
                     answers: list[tuple[int, float, str]]) -> None:
    """Read the session list over and over: (status, seconds it took, problem type)."""
    async with stack.client(timeout=60) as client:
        while not stop.is_set():
            began = time.monotonic()
            try:
                response = await client.get("/robots/sessions")
            except httpx.TransportError as exc:
                answers.append((0, time.monotonic() - began, type(exc).__name__))
                continue
            kind = response.json().get("type", "") if response.status_code >= 400 else ""
            answers.append((response.status_code, time.monotonic() - began, kind))
            if response.status_code != 200:
                assert response.headers.get("retry-after", "").isdigit() or \
                    response.status_code != 503
            await asyncio.sleep(0.1)


async def test_ten_seconds_without_postgres(faulty: ProcessStack) -> None:
    robot = await faulty.robot(Script(text=WORDS, tokens_per_second=12))
    streaming = [asyncio.Event() for _ in range(3)]
    chats = [asyncio.create_task(faulty.chat(robot, streaming=s)) for s in streaming]
    for started in streaming:
        await asyncio.wait_for(started.wait(), 30)
    stop = asyncio.Event()
    answers: list[tuple[int, float, str]] = []
    asking = asyncio.create_task(_ask_until(faulty, stop, answers))
    await asyncio.sleep(0.3)
    await faulty.postgres.outage(10)
    outage_over = len(answers)
    # The service recovers by itself within seconds of the database's return.
    for _ in range(100):
        if answers[-1][0] == 200:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(asking, 60)
    during = answers[:outage_over]
    statuses = {status for status, _, _ in answers}
    assert statuses <= {200, 503}, answers  # never a 500, never a dropped connection
    assert any(s == 503 for s, _, _ in during), during
    assert all(kind == "/problems/unavailable" for s, _, kind in answers if s == 503)
    assert max(took for _, took, _ in during) < 6, during  # failed fast, not held up
    assert answers[-1][0] == 200

    for session, frames in await asyncio.wait_for(asyncio.gather(*chats), 120):
        assert frames[-1].data == "[DONE]"
        assert text_of(frames) == WORDS
        assert stored_text(await faulty.stored_replies(session)) == WORDS
    # The workers waited the outage out: no attempt was abandoned and retried.
    assert set(faulty.turns().values()) == {("completed", 1)}
    assert faulty.exited() == {}
