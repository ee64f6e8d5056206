"""Relay one turn's parts to one SSE client: buffer first, then the live tail, no gaps.

Any API process can relay any turn: everything it needs is in Redis (and, once the buffer
has expired, in the log).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
import redis.asyncio as aioredis

from app.adapters.outage import REDIS_DOWN
from app.adapters.streams.hub import TICK, PubSubHub
from app.adapters.streams.keys import buffer_key, channel
from app.adapters.streams.publisher import LOST_PART
from app.adapters.streams.retries import RetryView, dropped_parts
from app.adapters.streams.sse import DONE_TYPE, KEEP_ALIVE, done_frame, frame

log = logging.getLogger(__name__)

LOST = ("The connection to the stream was lost (the server could not reach Redis)."
        " Resume the stream to continue.")
_DONE_PREFIX = b'{"type":"' + DONE_TYPE.encode() + b'"'

# Parts synthesized from the log when the buffer has expired; None: the turn is not over.
Fallback = Callable[[], Awaitable[list[dict[str, Any]] | None]]
# Waits until projections include the turn's terminal event (read your own writes).
WaitProjected = Callable[[dict[str, Any]], Awaitable[None]]


class TurnRelay:
    def __init__(self, redis: aioredis.Redis, hub: PubSubHub, prefix: str, turn_id: str, *,
                 fallback: Fallback, wait_projected: WaitProjected,
                 keepalive_s: float = 15.0, recheck_s: float = 1.0,
                 resets: bool = False, outage_s: float = 30.0,
                 log_check_s: float = 10.0) -> None:
        self.redis = redis
        self.hub = hub
        self.prefix = prefix
        self.turn_id = turn_id
        self.resets = resets  # the client takes `reset-step` (streams.retries)
        self.view = RetryView(turn_id, resets=resets)
        self.buffer = buffer_key(prefix, turn_id)
        self.channel = channel(prefix, turn_id)
        self.fallback = fallback
        self.wait_projected = wait_projected
        self.keepalive_s = keepalive_s
        self.recheck_s = recheck_s
        self.outage_s = outage_s
        self.log_check_s = log_check_s
        self._log_checked = time.monotonic()
        self.unreachable_since: float | None = None
        self.last = 0
        self.finished = False

    async def frames(self, after: int = 0, *,
                     log_first: bool = True) -> AsyncIterator[bytes]:
        """SSE frames for every part after sequence `after`, ending with `[DONE]`; nothing
        when part `after` was the end (the client has it all).

        A turn without a buffer may have finished long ago (the buffer expired): then it is
        rebuilt from the log. `log_first=False` skips that look at the start, for a turn
        this very request posted (it cannot have expired); it is still taken if the buffer
        has not appeared after `recheck_s` of silence (Redis lost it).

        A Redis outage shorter than `outage_s` costs a pause, never a part; a longer one
        (or one that prevents subscribing at all) ends the stream with an `error` part
        whose id is the last part relayed, so the client can resume from there.
        """
        self.last = after
        self.view = RetryView(self.turn_id, resets=self.resets, held=after)
        try:
            async for out in self._relay(after, log_first):
                yield out
        except REDIS_DOWN as exc:
            if self.finished:
                return
            log.warning("turn %s: stream ended, Redis unreachable for over %.0f s (%s)",
                        self.turn_id, self.outage_s, exc)
            self.finished = True
            yield frame(self.turn_id, self.last, {"type": "error", "errorText": LOST})

    async def _relay(self, after: int, log_first: bool) -> AsyncIterator[bytes]:
        async with self.hub.subscribe(self.channel, ticks=True) as queue:
            if log_first:  # a turn this request posted has had no retry yet
                self.view.dropped = await dropped_parts(self.redis, self.prefix, self.turn_id)
            if after and await self._is_end(after):
                self.finished = True
                return
            async for out in self._catch_up(after, log=log_first):
                yield out
            quiet_since = heard = time.monotonic()
            while not self.finished:
                message = await queue.get()
                if message == TICK:
                    if time.monotonic() - heard < self.recheck_s:
                        continue
                    # A missed message, a worker that died and was replaced, or Redis back
                    # after an outage: the buffer is the durable record, so look there (and
                    # in the log if it is gone).
                    heard = time.monotonic()
                    emitted = False
                    async for out in self._catch_up(after, log=True):
                        emitted = True
                        yield out
                    if emitted:
                        quiet_since = time.monotonic()
                        continue
                    async for out in self._ended_in_log():
                        yield out
                    if time.monotonic() - quiet_since >= self.keepalive_s:
                        quiet_since = time.monotonic()
                        yield KEEP_ALIVE
                    continue
                heard = time.monotonic()
                seq_text, _, payload = message.partition(b" ")
                seq = int(seq_text)
                if seq > self.last + 1:
                    # Parts in between were missed: the buffer has them (a part is written
                    # there before it is announced). Never skip ahead of a gap.
                    async for out in self._catch_up(after, log=False):
                        yield out
                if seq != self.last + 1:
                    continue
                async for out in self._emit(seq, payload):
                    yield out
                quiet_since = time.monotonic()

    async def _catch_up(self, after: int, *, log: bool) -> AsyncIterator[bytes]:
        """What the buffer holds past the last part relayed (with `log`, the finished turn
        from the log when there is no buffer). While Redis is unreachable this returns
        nothing, and the next tick looks again, until the outage outlasts `outage_s`."""
        try:
            async for out in self._from_buffer():
                yield out
            if log and not self.finished:
                async for out in self._from_log_if_no_buffer(after):
                    yield out
        except REDIS_DOWN:
            now = time.monotonic()
            if self.unreachable_since is None:
                self.unreachable_since = now
            elif now - self.unreachable_since > self.outage_s:
                raise
            return
        self.unreachable_since = None

    async def _ended_in_log(self) -> AsyncIterator[bytes]:
        """After `log_check_s` of silence, whether the log says the turn is over: its ending
        is published right after its terminal event commits, so a buffer without one this
        long after means the process that was to publish it died first (waiting for Redis,
        say). Then this client gets the ending from the log, and the stream ends."""
        now = time.monotonic()
        if now - self._log_checked < self.log_check_s:
            return
        self._log_checked = now
        parts = await self.fallback()
        if parts is None:
            return
        log.warning("turn %s ended in the log but not in its stream; ending it from the log",
                    self.turn_id)
        self.finished = True
        yield frame(self.turn_id, self.last + 1, parts[-1])
        yield done_frame(self.turn_id, self.last + 2)

    async def _is_end(self, seq: int) -> bool:
        """Whether part `seq` is the turn's end marker."""
        entries = await self.redis.xrange(self.buffer, min=f"0-{seq}", max=f"0-{seq}")
        return bool(entries) and entries[0][1][b"p"].startswith(_DONE_PREFIX)

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
        if payload == LOST_PART:  # Redis lost it and no one had it to send again
            return
        if payload.startswith(_DONE_PREFIX):
            await self.wait_projected(msgspec.json.decode(payload))
            self.finished = True
            yield done_frame(self.turn_id, seq)
        else:
            for out in self.view.show(seq, payload):  # what a retry left: streams.retries
                yield out
            self.finished = self.view.ended

    async def _from_log(self, after: int) -> AsyncIterator[bytes]:
        parts = await self.fallback()
        if parts is None:
            return
        if after > len(parts):  # the client saw the end marker (numbered len(parts) + 1)
            self.finished = True
            return
        for seq, part in enumerate(parts, start=1):
            if seq > after:
                yield frame(self.turn_id, seq, part)
        self.finished = True
        yield done_frame(self.turn_id, len(parts) + 1)
