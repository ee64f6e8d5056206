"""A worker's lease on a running turn, so the sweeper can tell a live turn from a dead one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from app.domain.events import TurnStarted
from app.eventstore import Event
from app.eventstore.store import Conn
from app.services.handler import AlongSide

log = logging.getLogger(__name__)


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


class LeaseKeeper:
    """Renews the leases of every turn a worker runs, all in one statement every third of
    the lease: a worker running 500 turns pays one UPDATE per tick, not 500."""

    def __init__(self, pool: AsyncConnectionPool[Any], lease_s: float) -> None:
        self.pool = pool
        self.lease_s = lease_s
        self._held: set[tuple[str, int]] = set()  # (turn id, attempt) this worker runs
        self._task: asyncio.Task[None] | None = None

    def hold(self, turn_id: str, attempt: int) -> None:
        self._held.add((turn_id, attempt))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._renew())

    def drop(self, turn_id: str, attempt: int) -> None:
        self._held.discard((turn_id, attempt))

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(max(self.lease_s / 3, 0.05))
            if not self._held:
                continue
            turns, attempts = [t for t, _ in self._held], [a for _, a in self._held]
            try:
                async with self.pool.connection() as conn:
                    await conn.execute(
                        "UPDATE turn_leases l SET expires_at = now() + make_interval(secs => %s)"
                        " FROM unnest(%s::text[], %s::int[]) AS h(turn_id, attempt)"
                        " WHERE l.turn_id = h.turn_id AND l.attempt = h.attempt",
                        [self.lease_s, turns, attempts])
            except (psycopg.Error, OSError) as exc:  # the next tick tries again
                log.warning("renewing %d turn leases failed: %s", len(turns), exc)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def release(pool: AsyncConnectionPool[Any], turn_id: str, attempt: int) -> None:
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM turn_leases WHERE turn_id = %s AND attempt = %s",
                           [turn_id, attempt])
