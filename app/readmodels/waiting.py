"""Read your own writes: wait until projections have passed a checkpoint."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from psycopg_pool import AsyncConnectionPool

from app.eventstore import Checkpoint

# The read models a client reads a session back from: what "read your own writes" waits for.
READ_MODELS = ("sessions", "messages", "turns")

_QUERY = """
SELECT count(*) FILTER (WHERE (transaction_id, global_position) >= (%s::text::xid8, %s))
FROM projection_checkpoints WHERE name = ANY(%s)
"""


async def wait_for(
    pool: AsyncConnectionPool[Any],
    checkpoint: Checkpoint,
    projections: Sequence[str],
    timeout: float,
) -> bool:
    """True once every named projection has applied the event at `checkpoint`.

    False when `timeout` runs out first; the caller decides whether stale data is
    acceptable. Polls a primary-key lookup with a short backoff: projections usually catch
    up within a few milliseconds.
    """
    deadline = time.monotonic() + timeout
    delay = 0.001
    params = [str(checkpoint.transaction_id), checkpoint.global_position, list(projections)]
    while True:
        async with pool.connection() as conn:
            row = await (await conn.execute(_QUERY, params)).fetchone()
        if row and row[0] == len(projections):
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.05)
