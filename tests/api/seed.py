"""Seed sessions through the real event log (the read models come from the projector).

The streams themselves are bench.harness.seeding's, the one seeding path the read
benchmark uses too; what is the tests' own is the projector on a thread of its own and the
wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

from psycopg_pool import AsyncConnectionPool

from app.domain.events import registry
from app.eventstore import AppendResult, EventStore
from app.readmodels.waiting import READ_MODELS, wait_for
from bench.harness.seeding import seed_session
from projections import all_projections
from projections.runner import ProjectionRunner

__all__ = ["projected", "projector", "seed_session"]


@contextlib.asynccontextmanager
async def projector(database_url: str) -> AsyncIterator[None]:
    """The projection runner on a thread and event loop of its own, as in production it is
    a process of its own. (Litestar's test client blocks the test's loop during a request,
    so a projector sharing that loop could not catch up while a handler waits for it.)"""
    stop = threading.Event()
    thread = threading.Thread(target=asyncio.run, args=(_project(database_url, stop),),
                              daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, 10)


async def _project(database_url: str, stop: threading.Event) -> None:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(database_url, min_size=1,
                                                         max_size=2, open=False)
    await pool.open()
    runner = ProjectionRunner(database_url, EventStore(pool, registry), all_projections(),
                              poll_s=0.2, standby_retry_s=0.05)
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.to_thread(stop.wait)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await pool.close()


async def projected(store: EventStore, result: AppendResult) -> None:
    assert await wait_for(store.pool, result.checkpoint, READ_MODELS, 20)
