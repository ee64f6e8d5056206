"""The worker's stream writer on real Redis: many turns' parts, one script call per round."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from app.adapters.streams.publisher import TurnPublisher, publish_script
from tests.services import FoundServices
from workers.turns.stream_writer import StreamWriter


@pytest.fixture
async def redis(services: FoundServices) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(services.redis_url)
    yield client
    await client.aclose()


def publisher(redis: aioredis.Redis, services: FoundServices) -> TurnPublisher:
    return TurnPublisher(redis, services.redis_prefix, f"t-{uuid.uuid4().hex}", ttl_s=60)


async def buffered(redis: aioredis.Redis, turn: TurnPublisher) -> list[tuple[bytes, bytes]]:
    return [(entry_id, fields[b"p"]) for entry_id, fields in await redis.xrange(turn.keys[0])]


async def script_calls(redis: aioredis.Redis) -> int:
    stats = await redis.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{name}", {}).get("calls", 0))
               for name in ("evalsha", "eval"))


async def test_parts_of_many_turns_go_out_in_one_call_numbered_in_order(
    redis: aioredis.Redis, services: FoundServices,
) -> None:
    writer = StreamWriter(redis)
    turns = [publisher(redis, services) for _ in range(3)]
    writer.send(turns[0], {"type": "start"})
    await writer.flush(turns[0])  # loads the script, so the count below is of calls only
    before = await script_calls(redis)

    for n in range(2):
        for i, turn in enumerate(turns):
            writer.send(turn, {"type": "text-delta", "delta": f"{i}.{n}"})
    for turn in turns:
        await writer.flush(turn)

    assert await script_calls(redis) - before == 1
    first = await buffered(redis, turns[0])
    assert [entry_id for entry_id, _ in first] == [b"0-1", b"0-2", b"0-3"]
    assert first[-1][1] == b'{"type":"text-delta","delta":"0.1"}'
    for i, turn in enumerate(turns[1:], start=1):
        assert [p for _, p in await buffered(redis, turn)] == [
            f'{{"type":"text-delta","delta":"{i}.{n}"}}'.encode() for n in range(2)]
        assert turn.last_seq == 2


async def test_what_is_sent_during_a_call_goes_out_in_the_next(
    redis: aioredis.Redis, services: FoundServices,
) -> None:
    writer = StreamWriter(redis)
    early, late = publisher(redis, services), publisher(redis, services)
    writer.send(early, {"type": "start"})
    await writer.flush(early)
    before = await script_calls(redis)

    writer.send(early, {"type": "start-step"})
    await asyncio.sleep(0)  # the writer takes that round: its call is in flight
    writer.send(late, {"type": "start"})
    await writer.flush(late)  # waits for the next round, which follows the first
    assert await script_calls(redis) - before == 2
    assert len(await buffered(redis, early)) == 2
    assert len(await buffered(redis, late)) == 1


async def test_parts_sent_again_after_a_lost_reply_are_buffered_once(
    redis: aioredis.Redis, services: FoundServices,
) -> None:
    # Redis ran the script but the reply was lost (the connection dropped): the writer
    # sends the round again, and the buffer must not take those parts twice.
    turn = publisher(redis, services)
    script = publish_script(redis)
    parts = [turn.encode({"type": "start"}), turn.encode({"type": "start-step"})]
    first = turn.reserve(2)
    await script(keys=turn.keys, args=turn.script_args(first, parts))
    later = turn.encode({"type": "text-start", "id": "t"})
    await script(keys=turn.keys,
                 args=turn.script_args(first, [*parts, later]))  # the held round, grown
    assert [entry_id for entry_id, _ in await buffered(redis, turn)] == [
        b"0-1", b"0-2", b"0-3"]
    assert (await buffered(redis, turn))[-1][1] == later
