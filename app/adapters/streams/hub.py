"""One Redis pub/sub connection per process, fanned out to every local listener.

A thousand SSE clients on one API process cost one Redis connection, not a thousand, and
no timer per message: the read blocks without a timeout, and listeners that ask for it
learn of silence from a tick the hub puts in their queues each `tick_s` (one timer for
all of them).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis

from app.adapters.outage import REDIS_DOWN, Outage

Message = bytes
TICK: Message = b""  # never a published message: those are "<seq> <part>"


class PubSubHub:
    def __init__(self, redis: aioredis.Redis, *, tick_s: float = 0.5) -> None:
        self._pubsub: Any = redis.pubsub()
        self.tick_s = tick_s
        self._listeners: dict[str, set[asyncio.Queue[Message]]] = {}
        self._confirmed: dict[str, asyncio.Event] = {}
        self._ticked: set[asyncio.Queue[Message]] = set()
        self._reader: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._outage = Outage("pub/sub")

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str, *,
                        ticks: bool = False) -> AsyncIterator[asyncio.Queue[Message]]:
        """A queue of the channel's messages, subscribed (confirmed by Redis) on entry;
        with `ticks`, a TICK is put in it every `tick_s` as well."""
        queue: asyncio.Queue[Message] = asyncio.Queue()
        await self._add(channel, queue)
        if ticks:
            self._ticked.add(queue)
        try:
            yield queue
        finally:
            self._ticked.discard(queue)
            await self._remove(channel, queue)

    async def _add(self, channel: str, queue: asyncio.Queue[Message]) -> None:
        async with self._lock:
            listeners = self._listeners.setdefault(channel, set())
            listeners.add(queue)
            if len(listeners) == 1:
                self._confirmed[channel] = asyncio.Event()
                await self._pubsub.subscribe(channel)
                if self._reader is None or self._reader.done():
                    self._reader = asyncio.create_task(self._read())
                if self._ticker is None or self._ticker.done():
                    self._ticker = asyncio.create_task(self._tick())
            confirmed = self._confirmed[channel]
        # Subscribe, then let the caller read the buffer: nothing published in between
        # can be missed. If confirmation is slow the caller still re-reads the buffer.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(confirmed.wait(), 2.0)

    async def _remove(self, channel: str, queue: asyncio.Queue[Message]) -> None:
        async with self._lock:
            listeners = self._listeners.get(channel, set())
            listeners.discard(queue)
            if not listeners:
                self._listeners.pop(channel, None)
                self._confirmed.pop(channel, None)
                with contextlib.suppress(*REDIS_DOWN):
                    await self._pubsub.unsubscribe(channel)

    async def _read(self) -> None:
        # Runs for the life of the process once started; idle costs one blocked read.
        # timeout=None: with a timeout, redis-py arms and cancels a timer for every message.
        while True:
            try:
                message = await self._pubsub.get_message(timeout=None)
            except REDIS_DOWN as exc:
                # Listeners read their buffers meanwhile; the next read reconnects and
                # subscribes to every channel again.
                self._outage.failed(exc)
                await asyncio.sleep(self._outage.pause())
                continue
            self._outage.passed()
            if message is None:
                continue
            channel = message["channel"].decode()
            if message["type"] == "subscribe":
                if event := self._confirmed.get(channel):
                    event.set()
            elif message["type"] == "message":
                for queue in tuple(self._listeners.get(channel, ())):
                    queue.put_nowait(message["data"])

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            for queue in self._ticked:
                queue.put_nowait(TICK)

    async def close(self) -> None:
        tasks = [t for t in (self._reader, self._ticker) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._pubsub.aclose()
