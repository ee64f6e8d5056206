"""Send parts without waiting on Redis for each one: whatever piles up during a round trip
goes out together in the next, so a fast model is never slowed to Redis's pace."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from redis.exceptions import RedisError

from app.streams.publisher import TurnPublisher

log = logging.getLogger(__name__)


class StreamWriter:
    def __init__(self, publisher: TurnPublisher) -> None:
        self.publisher = publisher
        self._pending: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    def send(self, *parts: dict[str, Any]) -> None:
        self._pending.extend(parts)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())

    async def flush(self) -> None:
        while self._task is not None and not self._task.done():
            await self._task

    async def send_now(self, *parts: dict[str, Any]) -> None:
        self.send(*parts)
        await self.flush()

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self.publisher.publish(*batch)
            except RedisError as exc:
                # The log still gets the whole message; a reconnecting client rebuilds it.
                log.warning("could not publish %d parts of a turn stream: %s", len(batch), exc)
