"""Publish every turn of a worker without waiting on Redis for each part: whatever piles up
during a round trip, from all the worker's turns, goes out together in the next, as one
script call. A fast model is never slowed to Redis's pace, and many turns share a round
trip instead of each queueing its own on the connection pool."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import redis.asyncio as aioredis

from app.adapters.streams.publisher import TurnPublisher, publish_script

log = logging.getLogger(__name__)


class _Round:
    """Parts bound for one script call: per turn, the first part's sequence number and the
    encoded parts that follow it."""

    def __init__(self) -> None:
        self.turns: dict[TurnPublisher, tuple[int, list[bytes]]] = {}
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def add(self, publisher: TurnPublisher, parts: tuple[dict[str, Any], ...]) -> None:
        first = publisher.reserve(len(parts))
        _, payloads = self.turns.setdefault(publisher, (first, []))
        payloads.extend(publisher.encode(p) for p in parts)


class StreamWriter:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._script = publish_script(redis)
        self._next: _Round | None = None
        self._sending: _Round | None = None
        self._task: asyncio.Task[None] | None = None

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
        """Return once every part sent for this turn has been published (or failed to)."""
        for round_ in (self._next, self._sending):
            if round_ is not None and publisher in round_.turns:
                await asyncio.shield(round_.done)
                return

    async def _drain(self) -> None:
        while self._next is not None:
            round_, self._next = self._next, None
            self._sending = round_
            keys: list[str] = []
            args: list[Any] = []
            for publisher, (first, payloads) in round_.turns.items():
                keys += publisher.keys
                args += publisher.script_args(first, payloads)
            try:
                await self._script(keys=keys, args=args)
            except Exception as exc:  # never leave the rounds behind this one unsent
                # The log still gets the whole message; a reconnecting client rebuilds it.
                log.warning("could not publish %d turns' parts: %s", len(round_.turns), exc)
            finally:
                self._sending = None
                round_.done.set_result(None)
