"""Keep every projection up to date with the log, one active runner per projection.

Each projection gets its own connection holding a session-level advisory lock: the process
that holds it is the active runner, any other waits as a standby and takes over the moment
the lock is released (the active one stopped, crashed, or lost its connection). Runners
wake on LISTEN/NOTIFY from appends, with a slow poll as a safety net.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import psycopg

from app.adapters.outage import Outage
from app.eventstore import EventStore
from app.eventstore.store import NOTIFY_CHANNEL
from projections.base import Conn, Projection
from projections.checkpoint import CheckpointMoved, project_batch

log = logging.getLogger(__name__)

PROJECTION_LOCK_CLASS = 7_263_002
# Committed events held back by an older open transaction usually show up within
# milliseconds; look again soon, backing off toward the poll interval.
_HELD_BACK_FIRST_S = 0.002


class ProjectionRunner:
    def __init__(
        self,
        conninfo: str,
        store: EventStore,
        projections: Sequence[Projection],
        *,
        poll_s: float = 1.0,
        batch_size: int = 500,
        standby_retry_s: float = 0.5,
    ) -> None:
        self.conninfo = conninfo
        self.store = store
        self.projections = list(projections)
        self.poll_s = poll_s
        self.batch_size = batch_size
        self.standby_retry_s = standby_retry_s
        self.active: set[str] = set()
        self._wake = {p.name: asyncio.Event() for p in self.projections}

    async def run(self) -> None:
        """Run until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._listen())
            for projection in self.projections:
                tasks.create_task(self._run_projection(projection))

    def wake_all(self) -> None:
        for event in self._wake.values():
            event.set()

    async def _listen(self) -> None:
        outage = Outage("projection listener", server="the database")
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    outage.passed()
                    self.wake_all()  # anything appended while we were not listening
                    async for _ in conn.notifies():
                        self.wake_all()
            except psycopg.OperationalError as exc:
                outage.failed(exc)
                await asyncio.sleep(self.standby_retry_s)

    async def _run_projection(self, projection: Projection) -> None:
        outage = Outage(f"projection {projection.name}", server="the database")
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True
                ) as conn:
                    outage.passed()
                    await self._acquire(conn, projection)
                    self.active.add(projection.name)
                    log.info("projection %s: active", projection.name)
                    await self._follow(conn, projection)
            except psycopg.OperationalError as exc:
                outage.failed(exc)
            except CheckpointMoved:
                continue
            except Exception:
                # A failing handler rolls its batch back; retrying slowly keeps the error
                # visible in the logs without spinning.
                log.exception("projection %s failed; retrying", projection.name)
            finally:
                self.active.discard(projection.name)
            await asyncio.sleep(self.standby_retry_s)

    async def _acquire(self, conn: Conn, p: Projection) -> None:
        while True:
            cur = await conn.execute(
                "SELECT pg_try_advisory_lock(%s, hashtext(%s))", [PROJECTION_LOCK_CLASS, p.name]
            )
            row = await cur.fetchone()
            if row and row[0]:
                return
            await asyncio.sleep(self.standby_retry_s)

    async def _follow(self, conn: Conn, p: Projection) -> None:
        wake = self._wake[p.name]
        held_back_delay = _HELD_BACK_FIRST_S
        while True:
            wake.clear()
            result = await project_batch(conn, self.store, p, self.batch_size)
            if result.applied == self.batch_size:
                continue
            if result.held_back:
                await asyncio.sleep(held_back_delay)
                held_back_delay = min(held_back_delay * 2, self.poll_s)
                continue
            held_back_delay = _HELD_BACK_FIRST_S
            try:
                await asyncio.wait_for(wake.wait(), self.poll_s)
            except TimeoutError:
                pass
