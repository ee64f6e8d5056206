"""Rebuild a read model from position zero."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import NamedTuple

from app.eventstore import Checkpoint, EventStore
from projections.base import Conn, Projection
from projections.checkpoint import read_checkpoint, write_checkpoint

Progress = Callable[[int], None]


class RebuildReport(NamedTuple):
    events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")


async def rebuild(
    conn: Conn,
    store: EventStore,
    projection: Projection,
    *,
    batch_size: int = 5000,
    progress: Progress | None = None,
    max_wait_s: float = 60.0,
) -> RebuildReport:
    """Empty the projection's tables and replay the whole log into them, in one transaction.

    Readers keep seeing the old read model until the new one commits whole. The locked
    checkpoint row makes a live runner wait, then notice the moved checkpoint and continue
    from where the rebuild stopped. Events from transactions newer than this one are left
    for the live runner (they are above this transaction's horizon).
    """
    started = time.perf_counter()
    applied = 0
    # Everything committed before the rebuild began, taken before this transaction holds an
    # id: later events may sit above our own horizon, and the live runner takes those.
    target = await store.head()  # on its own connection: `conn` must start clean
    async with conn.transaction():
        await read_checkpoint(conn, projection.name, lock=True)
        for table in projection.tables:
            await conn.execute(f"DELETE FROM {table}")  # not TRUNCATE: readers stay unblocked
        checkpoint = Checkpoint()
        waited = 0.0
        while checkpoint < target:
            batch = await store.read_all(checkpoint, batch_size, conn=conn)
            if not batch.events:
                if not batch.held_back or waited >= max_wait_s:
                    break
                # Another transaction in the cluster holds the horizon back: wait it out.
                await asyncio.sleep(0.05)
                waited += 0.05
                continue
            async with conn.pipeline():
                await projection.apply(conn, batch.events)
            checkpoint = batch.events[-1].checkpoint
            applied += len(batch.events)
            if progress:
                progress(applied)
        await write_checkpoint(conn, projection.name, checkpoint)
    return RebuildReport(applied, time.perf_counter() - started)
