"""Publish every turn of a worker without waiting on Redis for each part: whatever piles up
during a round trip, from all the worker's turns, goes out together in the next, as one
script call. A fast model is never slowed to Redis's pace, and many turns share a round
trip instead of each queueing its own on the connection pool.

Parts are numbered when they are sent, so none may be dropped: a part that could not be
published leaves a gap no client can fill. While Redis is unreachable the writer keeps
everything (later parts join the round that failed) and sends it, in order, once Redis
answers; the script skips parts an earlier try already wrote, so a reply lost in the
outage costs nothing. A Redis that came back without the turn's buffer gets it again
first: each publisher keeps what it sent for as long as its turn runs."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis

from app.adapters.outage import REDIS_DOWN, Outage
from app.adapters.streams.publisher import TurnPublisher, publish_script


class _Round:
    """Parts bound for one script call: per turn, the first part's sequence number and the
    encoded parts that follow it."""

    def __init__(self) -> None:
        self.turns: dict[TurnPublisher, tuple[int, list[bytes]]] = {}
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def add(self, publisher: TurnPublisher, parts: tuple[dict[str, Any], ...]) -> None:
        first = publisher.reserve(len(parts))
        encoded = [publisher.encode(p) for p in parts]
        publisher.keep(first, encoded)
        _, payloads = self.turns.setdefault(publisher, (first, []))
        payloads.extend(encoded)

    def refill(self, holes: list[int]) -> None:
        """Put back in front what Redis lost of each turn the script names (see _PUBLISH)."""
        turns = list(self.turns)
        for index, top in zip(holes[::2], holes[1::2], strict=True):
            publisher = turns[int(index)]
            first, payloads = self.turns[publisher]
            self.turns[publisher] = (int(top) + 1, publisher.refill(int(top), first) + payloads)

    def absorb(self, later: _Round) -> None:
        """Take a later round's parts (each turn's follow its own here) and its waiters."""
        for publisher, (first, payloads) in later.turns.items():
            self.turns.setdefault(publisher, (first, []))[1].extend(payloads)
        self.done.add_done_callback(lambda _: later.done.set_result(None))


class StreamWriter:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._script = publish_script(redis)
        self._next: _Round | None = None
        self._sending: _Round | None = None
        self._task: asyncio.Task[None] | None = None
        self._outage = Outage("stream writer", first_pause_s=0.05)

    def send(self, publisher: TurnPublisher, *parts: dict[str, Any]) -> None:
        """Queue a turn's parts, numbered now, in order; they go out with the next call."""
        if not parts:
            return
        if self._next is None:
            self._next = _Round()
        self._next.add(publisher, parts)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())

    async def flush(self, publisher: TurnPublisher) -> None:
        """Return once every part sent for this turn has been published (waiting out a
        Redis outage: the turn's ending must follow its parts, never take their numbers)."""
        for round_ in (self._next, self._sending):
            if round_ is not None and publisher in round_.turns:
                await asyncio.shield(round_.done)
                return

    async def _drain(self) -> None:
        while self._next is not None:
            round_, self._next = self._next, None
            self._sending = round_
            try:
                await self._publish(round_)
            finally:
                self._sending = None
                round_.done.set_result(None)

    async def _publish(self, round_: _Round) -> None:
        while True:
            keys: list[str] = []
            args: list[Any] = []
            for publisher, (first, payloads) in round_.turns.items():
                keys += publisher.keys
                args += publisher.script_args(first, payloads)
            try:
                holes = await self._script(keys=keys, args=args)
            except REDIS_DOWN as exc:
                self._outage.failed(exc)
                await asyncio.sleep(self._outage.pause())
                if self._next is not None:
                    round_.absorb(self._next)
                    self._next = None
                continue
            self._outage.passed()
            if not holes:
                return
            round_.refill(holes)  # and again: the turns written already are skipped
