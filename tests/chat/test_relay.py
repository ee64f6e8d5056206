"""The relay on real Redis: where a turn's parts come from when its buffer is missing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from app.adapters.streams.hub import TICK, PubSubHub
from app.adapters.streams.publisher import TurnPublisher, publish_terminal
from app.adapters.streams.relay import TurnRelay
from app.adapters.streams.sse import KEEP_ALIVE
from tests.services import FoundServices

FROM_LOG = [{"type": "start"}, {"type": "text-start", "id": "t"},
            {"type": "text-delta", "id": "t", "delta": "from the log"},
            {"type": "text-end", "id": "t"}, {"type": "finish"}]


@pytest.fixture
async def redis_hub(services: FoundServices) -> AsyncIterator[tuple[aioredis.Redis, PubSubHub]]:
    redis = aioredis.Redis.from_url(services.redis_url)
    hub = PubSubHub(redis, tick_s=0.02)
    yield redis, hub
    await hub.close()
    await redis.aclose()


def relay(redis: aioredis.Redis, hub: PubSubHub, turn_id: str, prefix: str,
          finished_in_log: bool, looked: list[int], recheck_s: float = 0.1,
          keepalive_s: float = 15.0) -> TurnRelay:
    async def fallback() -> list[dict[str, Any]] | None:
        looked.append(1)
        return FROM_LOG if finished_in_log else None

    async def projected(_: dict[str, Any]) -> None:
        return None

    return TurnRelay(redis, hub, prefix, turn_id, fallback=fallback, wait_projected=projected,
                     recheck_s=recheck_s, keepalive_s=keepalive_s)


async def frames(relay: TurnRelay, **options: Any) -> list[bytes]:
    return await asyncio.wait_for(_all(relay.frames(0, **options)), timeout=10)


async def _all(stream: AsyncIterator[bytes]) -> list[bytes]:
    return [f async for f in stream]


def event_ids(got: list[bytes]) -> list[bytes]:
    """Each frame's `id:` line (keep-alive comments left out)."""
    return [f.split(b"\n")[0] for f in got if f != KEEP_ALIVE]


def numbered(turn_id: str, count: int) -> list[bytes]:
    return [f"id: {turn_id}:{n}".encode() for n in range(1, count + 1)]


async def test_a_finished_turn_without_a_buffer_is_rebuilt_from_the_log_at_once(
    redis_hub: tuple[aioredis.Redis, PubSubHub], services: FoundServices,
) -> None:
    looked: list[int] = []
    # No recheck within the test's 10 s: only the look at the start can end this stream.
    got = await frames(relay(*redis_hub, f"t-{uuid.uuid4().hex}", services.redis_prefix,
                             finished_in_log=True, looked=looked, recheck_s=60))
    assert b"from the log" in b"".join(got) and got[-1].endswith(b"data: [DONE]\n\n")
    assert looked == [1]


async def test_a_just_posted_turn_skips_the_log_and_streams_what_is_published(
    redis_hub: tuple[aioredis.Redis, PubSubHub], services: FoundServices,
) -> None:
    redis, hub = redis_hub
    turn_id = f"t-{uuid.uuid4().hex}"
    looked: list[int] = []
    reading = asyncio.create_task(frames(
        relay(redis, hub, turn_id, services.redis_prefix, finished_in_log=False,
              looked=looked), log_first=False))
    await asyncio.sleep(0.05)  # the relay is waiting on an empty channel
    publisher = TurnPublisher(redis, services.redis_prefix, turn_id, ttl_s=60)
    await publisher.publish({"type": "start"}, {"type": "text-delta", "id": "t", "delta": "live"})
    await publish_terminal(publisher, [{"type": "finish"}], None)
    got = await reading
    assert event_ids(got) == numbered(turn_id, 4)
    assert b'"live"' in got[1] and got[-1].endswith(b"data: [DONE]\n\n")
    assert looked == []  # the buffer was there before the first recheck


async def test_a_just_posted_turn_whose_buffer_never_appears_ends_from_the_log(
    redis_hub: tuple[aioredis.Redis, PubSubHub], services: FoundServices,
) -> None:
    # Redis lost the buffer (flushed, failed over) while the turn finished: the first
    # recheck finds no buffer and takes the log's account of the turn.
    looked: list[int] = []
    got = await frames(relay(*redis_hub, f"t-{uuid.uuid4().hex}", services.redis_prefix,
                             finished_in_log=True, looked=looked), log_first=False)
    assert b"from the log" in b"".join(got) and got[-1].endswith(b"data: [DONE]\n\n")
    assert looked == [1]


async def test_a_silent_turn_gets_keep_alive_comments_and_then_its_parts(
    redis_hub: tuple[aioredis.Redis, PubSubHub], services: FoundServices,
) -> None:
    redis, hub = redis_hub
    turn_id = f"t-{uuid.uuid4().hex}"
    publisher = TurnPublisher(redis, services.redis_prefix, turn_id, ttl_s=60)
    await publisher.publish({"type": "start"})
    reading = asyncio.create_task(frames(
        relay(redis, hub, turn_id, services.redis_prefix, finished_in_log=False, looked=[],
              recheck_s=0.05, keepalive_s=0.2)))
    await asyncio.sleep(0.75)  # the model thinks: nothing is published
    await publish_terminal(publisher, [{"type": "finish"}], None)
    got = await reading
    assert 2 <= got.count(KEEP_ALIVE) <= 4
    assert event_ids(got) == numbered(turn_id, 3)


async def test_only_listeners_that_ask_for_ticks_get_them(
    redis_hub: tuple[aioredis.Redis, PubSubHub], services: FoundServices,
) -> None:
    _, hub = redis_hub
    channel = f"{services.redis_prefix}:ticks-{uuid.uuid4().hex}"
    async with hub.subscribe(channel, ticks=True) as ticked, hub.subscribe(channel) as plain:
        await asyncio.sleep(0.15)  # several of the fixture hub's 0.02 s ticks
        got = [ticked.get_nowait() for _ in range(ticked.qsize())]
        assert len(got) >= 3 and set(got) == {TICK}
        assert plain.empty()  # a cancel watcher, say, hears only what is published


async def test_a_resume_after_the_final_frame_ends_at_once(
    redis_hub: tuple[aioredis.Redis, PubSubHub], services: FoundServices,
) -> None:
    redis, hub = redis_hub
    turn_id = f"t-{uuid.uuid4().hex}"
    publisher = TurnPublisher(redis, services.redis_prefix, turn_id, ttl_s=60)
    await publisher.publish({"type": "start"})
    await publish_terminal(publisher, [{"type": "finish"}], None)
    ended = relay(redis, hub, turn_id, services.redis_prefix, finished_in_log=False,
                  looked=[], recheck_s=60)
    # Last-Event-ID was the `[DONE]` frame's id (3): the client has everything.
    got = await asyncio.wait_for(_all(ended.frames(3)), timeout=2)
    assert got == []


async def test_a_resume_after_the_final_frame_of_an_expired_buffer_ends_at_once(
    redis_hub: tuple[aioredis.Redis, PubSubHub], services: FoundServices,
) -> None:
    looked: list[int] = []
    ended = relay(*redis_hub, f"t-{uuid.uuid4().hex}", services.redis_prefix,
                  finished_in_log=True, looked=looked, recheck_s=60)
    # The log's account has len(FROM_LOG) parts and then `[DONE]`, numbered one more.
    got = await asyncio.wait_for(_all(ended.frames(len(FROM_LOG) + 1)), timeout=2)
    assert got == [] and looked == [1]


async def test_the_relay_never_skips_ahead_of_a_gap(
    redis_hub: tuple[aioredis.Redis, PubSubHub], services: FoundServices,
) -> None:
    redis, hub = redis_hub
    turn_id = f"t-{uuid.uuid4().hex}"
    buffer, live = (f"{services.redis_prefix}:turn:{turn_id}:parts",
                    f"{services.redis_prefix}:turn:{turn_id}:live")
    for seq in (1, 2):
        await redis.xadd(buffer, {"p": b'{"type":"start"}' if seq == 1 else
                                  b'{"type":"start-step"}'}, id=f"0-{seq}")
    reading = asyncio.create_task(frames(
        relay(redis, hub, turn_id, services.redis_prefix, finished_in_log=False,
              looked=[], recheck_s=0.05)))
    await asyncio.sleep(0.2)
    # Part 5 is announced while 3 and 4 are nowhere yet (a writer still holding them):
    # the client must not get 5 before them.
    await redis.publish(live, b'5 {"type":"text-delta","id":"t","delta":"c"}')
    await asyncio.sleep(0.3)
    for seq, part in ((3, b'{"type":"text-start","id":"t"}'),
                      (4, b'{"type":"text-delta","id":"t","delta":"ab"}'),
                      (5, b'{"type":"text-delta","id":"t","delta":"c"}')):
        await redis.xadd(buffer, {"p": part}, id=f"0-{seq}")
    publisher = TurnPublisher(redis, services.redis_prefix, turn_id, ttl_s=60)
    await publish_terminal(publisher, [{"type": "finish"}], None)
    got = await reading
    assert event_ids(got) == numbered(turn_id, 7)
    assert b'"ab"' in got[3] and b'"c"' in got[4]


async def test_a_stream_whose_ending_was_never_published_ends_from_the_log(
    redis_hub: tuple[aioredis.Redis, PubSubHub], services: FoundServices,
) -> None:
    # The worker committed the turn's end and died before Redis answered again: the
    # buffer has the reply but no ending, and no one is left to publish it.
    redis, hub = redis_hub
    turn_id = f"t-{uuid.uuid4().hex}"
    publisher = TurnPublisher(redis, services.redis_prefix, turn_id, ttl_s=60)
    await publisher.publish({"type": "start"}, {"type": "text-start", "id": "t"})
    looked: list[int] = []
    waiting = relay(redis, hub, turn_id, services.redis_prefix, finished_in_log=True,
                    looked=looked, recheck_s=0.05)
    waiting.log_check_s = 0.3
    got = await asyncio.wait_for(_all(waiting.frames(0)), timeout=5)
    assert event_ids(got) == numbered(turn_id, 4)
    assert b'"finish"' in got[2] and got[-1].endswith(b"data: [DONE]\n\n")
    assert looked  # it asked the log, and only after the silence
