"""Redis goes away while turns stream: nothing stops, nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import redis.asyncio as aioredis

from app.adapters.llm.local_model import Script
from app.adapters.streams.hub import PubSubHub
from app.adapters.streams.publisher import TurnPublisher, publish_terminal
from app.adapters.streams.relay import TurnRelay
from tests.chat.sse import Frame, chat_body, read_all, text_of
from tests.faults.stack import ProcessStack
from workers.turns.stream_writer import StreamWriter

WORDS = " ".join(f"w{i}" for i in range(60))


def assembled(frames: list[Frame]) -> str:
    return text_of(frames)


def stored_text(replies: list[dict[str, Any]]) -> str:
    return "".join(p.get("text", "") for m in replies for p in m["parts"]
                   if p["type"] == "text")


async def _streams_through(stack: ProcessStack, outage_s: float) -> None:
    robot = await stack.robot(Script(text=WORDS, tokens_per_second=40))
    streaming = [asyncio.Event() for _ in range(5)]
    chats = [asyncio.create_task(stack.chat(robot, streaming=s)) for s in streaming]
    for started in streaming:
        await asyncio.wait_for(started.wait(), 30)
    await stack.redis.outage(outage_s)
    done = await asyncio.gather(*chats)
    for session, frames in done:
        seqs = [f.seq for f in frames]
        assert seqs == list(range(1, len(seqs) + 1)), f"gaps in {seqs}"
        assert frames[0].data["type"] == "start"
        assert frames[-1].data == "[DONE]"
        assert assembled(frames) == WORDS
        assert stored_text(await stack.stored_replies(session)) == WORDS
    assert stack.exited() == {}


async def test_streams_stay_whole_through_a_blink_of_redis(faulty: ProcessStack) -> None:
    await _streams_through(faulty, 0.1)


async def test_streams_stay_whole_through_five_seconds_without_redis(
        faulty: ProcessStack) -> None:
    await _streams_through(faulty, 5.0)


async def test_a_chat_posted_while_redis_is_down_gets_a_503_and_its_turn_runs_later(
        faulty: ProcessStack) -> None:
    robot = await faulty.robot(Script(text="after the outage"))
    session = f"s-{uuid.uuid4().hex[:12]}"
    body = chat_body(session, f"m-{uuid.uuid4().hex[:12]}", "hello", robotId=robot)
    await asyncio.to_thread(faulty.redis.stop)
    try:
        async with faulty.client() as client:
            refused = await client.post("/robots/chat/sse", json=body)
    finally:
        await asyncio.to_thread(faulty.redis.start)
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"].isdigit()
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"] == "/problems/unavailable"
    # The message was recorded before Redis was needed: nothing is lost, and its turn runs
    # (the sweeper hands it to a worker) without the client asking again.
    for _ in range(200):
        replies = await faulty.stored_replies(session)
        if replies:
            break
        await asyncio.sleep(0.1)
    assert stored_text(replies) == "after the outage"
    # Sending the same message again attaches to that turn: one reply, streamed whole.
    async with faulty.client() as client, client.stream(
            "POST", "/robots/chat/sse", json=body) as again:
        assert again.status_code == 200
        frames = await read_all(again)
    assert assembled(frames) == "after the outage"
    assert len(await faulty.stored_replies(session)) == 1
    assert faulty.exited() == {}


async def test_the_writer_holds_parts_while_redis_is_down_and_sends_them_in_order(
        faulty: ProcessStack) -> None:
    redis = aioredis.Redis.from_url(faulty.redis.url)
    writer = StreamWriter(redis)
    turn = TurnPublisher(redis, "writer-test", f"t-{uuid.uuid4().hex}", ttl_s=60)
    writer.send(turn, {"type": "start"})
    await writer.flush(turn)
    await asyncio.to_thread(faulty.redis.stop)
    for n in range(5):
        writer.send(turn, {"type": "text-delta", "id": "t", "delta": str(n)})
        await asyncio.sleep(0.05)
    flushed = asyncio.create_task(writer.flush(turn))
    await asyncio.sleep(0.3)
    assert not flushed.done()  # a turn's ending waits for its parts
    await asyncio.to_thread(faulty.redis.start)
    await asyncio.wait_for(flushed, 10)
    entries = await redis.xrange(turn.keys[0])
    await redis.aclose()
    assert [e[0] for e in entries] == [f"0-{n}".encode() for n in range(1, 7)]
    assert [e[1][b"p"] for e in entries[1:]] == [
        f'{{"type":"text-delta","id":"t","delta":"{n}"}}'.encode() for n in range(5)]


async def test_a_stream_outlasting_the_grace_ends_with_an_error_it_can_resume_from(
        faulty: ProcessStack) -> None:
    redis = aioredis.Redis.from_url(faulty.redis.url)
    hub = PubSubHub(redis, tick_s=0.05)
    turn_id = f"t-{uuid.uuid4().hex}"
    publisher = TurnPublisher(redis, "relay-test", turn_id, ttl_s=60)
    await publisher.publish({"type": "start"}, {"type": "text-start", "id": "t"})

    def relay() -> TurnRelay:
        async def not_in_log() -> None:
            return None

        async def projected(_: dict[str, Any]) -> None:
            return None

        return TurnRelay(redis, hub, "relay-test", turn_id, fallback=not_in_log,
                         wait_projected=projected, recheck_s=0.1, outage_s=1.0)

    got: list[bytes] = []

    async def read(after: int) -> None:
        async for out in relay().frames(after):
            got.append(out)

    reading = asyncio.create_task(read(0))
    await asyncio.sleep(0.3)
    await faulty.redis.outage(2.5)
    await asyncio.wait_for(reading, 10)
    assert len(got) == 3 and b'"type":"error"' in got[-1]
    resume_from = got[-1].split(b"\n")[0].decode().rsplit(":", 1)[1]
    assert resume_from == "2"  # the last part the client has
    await publisher.publish({"type": "text-delta", "id": "t", "delta": "rest"})
    await publish_terminal(publisher, [{"type": "finish"}], None)
    got.clear()
    await asyncio.wait_for(read(int(resume_from)), 10)
    assert b'"rest"' in got[0] and got[-1].endswith(b"data: [DONE]\n\n")
    await hub.close()
    await redis.aclose()


async def test_streams_stay_whole_when_redis_comes_back_empty(faulty: ProcessStack) -> None:
    robot = await faulty.robot(Script(text=WORDS, tokens_per_second=40))
    streaming = [asyncio.Event() for _ in range(3)]
    chats = [asyncio.create_task(faulty.chat(robot, streaming=s)) for s in streaming]
    for started in streaming:
        await asyncio.wait_for(started.wait(), 30)
    await faulty.redis.crash_and_lose_everything()
    for session, frames in await asyncio.gather(*chats):
        assert [f.seq for f in frames] == list(range(1, len(frames) + 1))
        assert assembled(frames) == WORDS
        assert stored_text(await faulty.stored_replies(session)) == WORDS
        # The buffer was written again from the worker's memory: a resume from the start
        # is whole, beginning with `start`.
        turn_id = frames[0].id.rsplit(":", 1)[0]  # type: ignore[union-attr]
        async with faulty.client() as client, client.stream(
                "GET", f"/robots/sessions/{session}/stream?turn_id={turn_id}") as resumed:
            again = await read_all(resumed)
        assert again[0].data["type"] == "start"
        assert assembled(again) == WORDS
    assert faulty.exited() == {}
