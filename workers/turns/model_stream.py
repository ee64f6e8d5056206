"""A model call started before the turn is ours, so the claim's commit and the model's
time to first token overlap instead of adding up.

Nothing it receives is published until the claim has committed; a claim that loses
cancels the call. Events are handed over in batches: whatever arrived while the turn was
busy publishing comes out at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator

from app.adapters.llm.events import ModelEvent

_END = object()


class _Failed:
    def __init__(self, error: Exception) -> None:
        self.error = error


class ModelStream:
    def __init__(self, events: AsyncGenerator[ModelEvent, None], *,
                 history_truncated: int = 0) -> None:
        self.started = time.perf_counter()
        self.history_truncated = history_truncated  # what its prompt left out, for the log
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._task = asyncio.create_task(self._pump(events))

    async def _pump(self, events: AsyncGenerator[ModelEvent, None]) -> None:
        try:
            async for event in events:
                self._queue.put_nowait(event)
        except Exception as exc:  # raised to the reader, in order, after what came before
            self._queue.put_nowait(_Failed(exc))
        else:
            self._queue.put_nowait(_END)
        finally:  # also when cancelled: release the HTTP connection
            await events.aclose()

    async def batches(self) -> AsyncIterator[list[ModelEvent]]:
        """Events in order, in batches; raises what the model call raised."""
        while True:
            items = [await self._queue.get()]
            while not self._queue.empty():
                items.append(self._queue.get_nowait())
            batch: list[ModelEvent] = []
            for item in items:
                if item is _END:
                    if batch:
                        yield batch
                    return
                if isinstance(item, _Failed):
                    if batch:
                        yield batch
                    raise item.error
                batch.append(item)  # type: ignore[arg-type]
            yield batch

    async def cancel(self) -> None:
        """Stop the call (closing its connection); what it had received is dropped."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
