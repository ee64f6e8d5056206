"""A worker's lease on a running turn, so the sweeper can tell a live turn from a dead one."""

from __future__ import annotations

import asyncio
from typing import Any

from psycopg_pool import AsyncConnectionPool

from app.domain.events import TurnStarted
from app.eventstore import Event
from app.eventstore.store import Conn
from app.handler import AlongSide


async def lease_alive(pool: AsyncConnectionPool[Any], turn_id: str) -> bool:
    async with pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT expires_at > now() FROM turn_leases WHERE turn_id = %s", [turn_id]
        )).fetchone()
    return bool(row and row[0])


def take_lease(session_id: str, worker_id: str, lease_s: float) -> AlongSide:
    """Writes the lease in the transaction that appends TurnStarted (if one is appended)."""

    async def write(conn: Conn, events: list[Event]) -> None:
        started = next((e for e in events if isinstance(e, TurnStarted)), None)
        if started is None:
            return
        turn_id, attempt = started.turn_id, started.attempt
        await conn.execute(
            "INSERT INTO turn_leases (turn_id, session_id, attempt, worker_id, expires_at)"
            " VALUES (%s, %s, %s, %s, now() + make_interval(secs => %s))"
            " ON CONFLICT (turn_id) DO UPDATE SET attempt = EXCLUDED.attempt,"
            " worker_id = EXCLUDED.worker_id, expires_at = EXCLUDED.expires_at",
            [turn_id, session_id, attempt, worker_id, lease_s])

    return write


async def keep_renewing(pool: AsyncConnectionPool[Any], turn_id: str, attempt: int,
                        lease_s: float) -> None:
    """Renew every third of the lease until cancelled. Costs time, never tokens."""
    while True:
        await asyncio.sleep(lease_s / 3)
        async with pool.connection() as conn:
            await conn.execute(
                "UPDATE turn_leases SET expires_at = now() + make_interval(secs => %s)"
                " WHERE turn_id = %s AND attempt = %s", [lease_s, turn_id, attempt])


async def release(pool: AsyncConnectionPool[Any], turn_id: str, attempt: int) -> None:
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM turn_leases WHERE turn_id = %s AND attempt = %s",
                           [turn_id, attempt])
