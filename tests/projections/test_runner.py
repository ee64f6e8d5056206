"""The projection runner against a real PostgreSQL: no event skipped, none applied twice."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from psycopg_pool import AsyncConnectionPool

from app.domain.events import SessionRenamed, SessionStarted
from app.eventstore import EventStore
from projections.base import Projection
from projections.runner import ProjectionRunner
from tests.projections.recording import (
    RecordingProjection,
    all_positions,
    create_table,
    times_seen,
)


@asynccontextmanager
async def running(runner: ProjectionRunner) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(runner.run())
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def make_runner(url: str, store: EventStore, *projections: Projection) -> ProjectionRunner:
    return ProjectionRunner(
        url, store, projections, poll_s=0.2, batch_size=200, standby_retry_s=0.05
    )


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def caught_up(pool: AsyncConnectionPool[Any]) -> bool:
    return set(await times_seen(pool)) == await all_positions(pool)


async def write_session_events(store: EventStore, count: int, rng: random.Random) -> None:
    """One writer: sessions whose transactions stay open a random while before commit."""
    written = 0
    while written < count:
        stream = f"s-{uuid.uuid4()}"
        async with store.pool.connection() as conn, conn.transaction():
            await store.append(stream, [SessionStarted(session_id=stream)], 0, conn=conn)
            renames = [SessionRenamed(session_id=stream, name=str(i)) for i in range(4)]
            await store.append(stream, renames, 1, conn=conn)
            await asyncio.sleep(rng.random() * 0.004)
        written += 5


async def test_concurrent_out_of_order_commits_are_all_projected_exactly_once(
    fresh_database: str, fresh_store: EventStore
) -> None:
    await create_table(fresh_store.pool)
    runner = make_runner(fresh_database, fresh_store, RecordingProjection())
    rng = random.Random(7)
    async with running(runner):
        # One transaction takes the earliest positions and commits after everyone else.
        async with fresh_store.pool.connection() as held, held.transaction():
            await fresh_store.append("held-open", [SessionStarted(session_id="held")], 0, conn=held)
            await asyncio.gather(*(write_session_events(fresh_store, 400, rng) for _ in range(10)))
            # Everything the others wrote is committed but must wait behind this one.
            seen_while_held = await times_seen(fresh_store.pool)
        await eventually(lambda: caught_up(fresh_store.pool))
    seen = await times_seen(fresh_store.pool)
    assert len(seen) == 4001
    assert set(seen.values()) == {1}
    assert len(seen_while_held) < 4001


async def test_a_batch_that_crashes_midway_is_retried_without_double_apply(
    fresh_database: str, fresh_store: EventStore
) -> None:
    await create_table(fresh_store.pool)
    await write_session_events(fresh_store, 500, random.Random(1))
    projection = RecordingProjection(crash_at_event=150)
    async with running(make_runner(fresh_database, fresh_store, projection)):
        await eventually(lambda: caught_up(fresh_store.pool))
    assert projection.crashed
    seen = await times_seen(fresh_store.pool)
    assert len(seen) == 500 and set(seen.values()) == {1}


async def test_standby_takes_over_from_the_checkpoint_when_the_active_runner_stops(
    fresh_database: str, fresh_store: EventStore
) -> None:
    await create_table(fresh_store.pool)
    first = make_runner(fresh_database, fresh_store, RecordingProjection())
    second = make_runner(fresh_database, fresh_store, RecordingProjection())
    await write_session_events(fresh_store, 100, random.Random(2))
    first_task = asyncio.create_task(first.run())
    await eventually(lambda: caught_up(fresh_store.pool))
    assert first.active == {"recording"}
    async with running(second):
        await asyncio.sleep(0.2)
        assert second.active == set()  # standby while the lock is held
        first_task.cancel()
        await asyncio.gather(first_task, return_exceptions=True)
        await write_session_events(fresh_store, 100, random.Random(3))
        await eventually(lambda: caught_up(fresh_store.pool))
        assert second.active == {"recording"}
    seen = await times_seen(fresh_store.pool)
    assert len(seen) == 200 and set(seen.values()) == {1}
