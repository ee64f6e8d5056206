"""Relay one turn's parts to one SSE client: buffer first, then the live tail, no gaps.

Any API process can relay any turn: everything it needs is in Redis (and, once the buffer
has expired, in the log).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
import redis.asyncio as aioredis

from app.adapters.streams.hub import TICK, PubSubHub
from app.adapters.streams.keys import buffer_key, channel
from app.adapters.streams.sse import DONE_TYPE, KEEP_ALIVE, done_frame, frame

_DONE_PREFIX = b'{"type":"' + DONE_TYPE.encode() + b'"'

# Parts synthesized from the log when the buffer has expired; None: the turn is not over.
Fallback = Callable[[], Awaitable[list[dict[str, Any]] | None]]
# Waits until projections include the turn's terminal event (read your own writes).
WaitProjected = Callable[[dict[str, Any]], Awaitable[None]]


class TurnRelay:
    def __init__(self, redis: aioredis.Redis, hub: PubSubHub, prefix: str, turn_id: str, *,
                 fallback: Fallback, wait_projected: WaitProjected,
                 keepalive_s: float = 15.0, recheck_s: float = 1.0) -> None:
        self.redis = redis
        self.hub = hub
        self.turn_id = turn_id
        self.buffer = buffer_key(prefix, turn_id)
        self.channel = channel(prefix, turn_id)
        self.fallback = fallback
        self.wait_projected = wait_projected
        self.keepalive_s = keepalive_s
        self.recheck_s = recheck_s
        self.last = 0
        self.finished = False

    async def frames(self, after: int = 0, *,
                     log_first: bool = True) -> AsyncIterator[bytes]:
        """SSE frames for every part after sequence `after`, ending with `[DONE]`.

        A turn without a buffer may have finished long ago (the buffer expired): then it is
        rebuilt from the log. `log_first=False` skips that look at the start, for a turn
        this very request posted (it cannot have expired); it is still taken if the buffer
        has not appeared after `recheck_s` of silence (Redis lost it).
        """
        self.last = after
        async with self.hub.subscribe(self.channel, ticks=True) as queue:
            async for out in self._from_buffer():
                yield out
            if log_first and not self.finished:
                async for out in self._from_log_if_no_buffer(after):
                    yield out
            quiet_since = heard = time.monotonic()
            while not self.finished:
                message = await queue.get()
                if message == TICK:
                    if time.monotonic() - heard < self.recheck_s:
                        continue
                    # A missed message, or a worker that died and was replaced: the buffer
                    # is the durable record, so look there (and in the log if it is gone).
                    heard = time.monotonic()
                    emitted = False
                    async for out in self._from_buffer():
                        emitted = True
                        yield out
                    if not emitted and not self.finished:
                        async for out in self._from_log_if_no_buffer(after):
                            emitted = True
                            yield out
                    if emitted:
                        quiet_since = time.monotonic()
                    elif time.monotonic() - quiet_since >= self.keepalive_s:
                        quiet_since = time.monotonic()
                        yield KEEP_ALIVE
                    continue
                heard = time.monotonic()
                seq_text, _, payload = message.partition(b" ")
                seq = int(seq_text)
                if seq <= self.last:
                    continue
                if seq > self.last + 1:
                    async for out in self._from_buffer():
                        yield out
                    if seq <= self.last or self.finished:
                        continue
                async for out in self._emit(seq, payload):
                    yield out
                quiet_since = time.monotonic()

    async def _from_log_if_no_buffer(self, after: int) -> AsyncIterator[bytes]:
        """The finished turn from the log, when nothing was relayed yet and no buffer is
        left to relay from."""
        if self.last == after and not await self.redis.exists(self.buffer):
            async for out in self._from_log(after):
                yield out

    async def _from_buffer(self) -> AsyncIterator[bytes]:
        while not self.finished:
            entries = await self.redis.xrange(self.buffer, min=f"(0-{self.last}", count=500)
            if not entries:
                return
            for entry_id, fields in entries:
                async for out in self._emit(int(entry_id.split(b"-")[1]), fields[b"p"]):
                    yield out
                if self.finished:
                    return

    async def _emit(self, seq: int, payload: bytes) -> AsyncIterator[bytes]:
        self.last = seq
        if payload.startswith(_DONE_PREFIX):
            await self.wait_projected(msgspec.json.decode(payload))
            self.finished = True
            yield done_frame(self.turn_id, seq)
        else:
            yield frame(self.turn_id, seq, payload)

    async def _from_log(self, after: int) -> AsyncIterator[bytes]:
        parts = await self.fallback()
        if parts is None:
            return
        for seq, part in enumerate(parts, start=1):
            if seq > after:
                yield frame(self.turn_id, seq, part)
        self.finished = True
        yield done_frame(self.turn_id, len(parts) + 1)
