"""A worker renews the leases of the turns it runs, and only those, in one statement."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from workers.turns.leases import LeaseKeeper


@pytest.fixture
async def pool(database: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    async with AsyncConnectionPool(database, min_size=1, max_size=2, open=False) as opened:
        yield opened


async def expiries(pool: AsyncConnectionPool[Any], turns: list[str]) -> dict[str, datetime]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT turn_id, expires_at FROM turn_leases WHERE turn_id = ANY(%s)", [turns])
        return {r[0]: r[1] for r in await cur.fetchall()}


async def test_held_leases_are_renewed_together_and_dropped_ones_run_out(
    pool: AsyncConnectionPool[Any],
) -> None:
    turns = [f"lease-{uuid.uuid4().hex}" for _ in range(4)]
    async with pool.connection() as conn:
        for turn_id in turns:
            await conn.execute(
                "INSERT INTO turn_leases (turn_id, session_id, attempt, worker_id, expires_at)"
                " VALUES (%s, 's', 2, 'w', now() + interval '1 second')", [turn_id])
    keeper = LeaseKeeper(pool, lease_s=0.3)  # renews every 0.1 s, each time to 0.3 s ahead
    before = await expiries(pool, turns)
    keeper.hold(turns[0], 2)
    keeper.hold(turns[1], 2)
    keeper.hold(turns[2], 1)  # an attempt that is no longer the lease's: not renewed
    keeper.hold(turns[3], 2)
    keeper.drop(turns[3], 2)
    try:
        await asyncio.sleep(0.35)
        after = await expiries(pool, turns)
    finally:
        await keeper.stop()
    # Renewed leases now run out 0.3 s after the last renewal: sooner than the 1 s given
    # at insert, so a renewal is exactly what moved them.
    assert after[turns[0]] < before[turns[0]] and after[turns[1]] < before[turns[1]]
    assert after[turns[2]] == before[turns[2]] and after[turns[3]] == before[turns[3]]
