"""Each worker hears every cancel on one channel and wakes the turn it concerns."""

from __future__ import annotations

import asyncio
import contextlib
import time

from app.adapters.streams.hub import PubSubHub
from app.adapters.streams.keys import cancels_channel

# A cancel can arrive between a worker claiming a turn and it starting to watch; remember
# recent ones long enough to cover that gap.
_REMEMBER_S = 120.0


class CancelWatcher:
    def __init__(self, hub: PubSubHub, prefix: str) -> None:
        self.hub = hub
        self.channel = cancels_channel(prefix)
        self._events: dict[str, asyncio.Event] = {}
        self._recent: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())
        await self._ready.wait()

    async def _listen(self) -> None:
        async with self.hub.subscribe(self.channel) as queue:
            self._ready.set()
            while True:
                turn_id = (await queue.get()).decode()
                now = time.monotonic()
                self._recent = {t: at for t, at in self._recent.items()
                                if now - at < _REMEMBER_S}
                self._recent[turn_id] = now
                if event := self._events.get(turn_id):
                    event.set()

    def watch(self, turn_id: str) -> asyncio.Event:
        event = self._events.setdefault(turn_id, asyncio.Event())
        if turn_id in self._recent:
            event.set()
        return event

    def forget(self, turn_id: str) -> None:
        self._events.pop(turn_id, None)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
