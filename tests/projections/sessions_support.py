"""Drive the sessions projection by hand; recount and relist its rows the plain way."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

from psycopg_pool import AsyncConnectionPool

from app.domain.events import session_stream
from app.eventstore import Checkpoint, Event, EventStore, RecordedEvent
from app.readmodels.session_listing import ListQuery
from projections.sessions import SessionsProjection


class Log:
    """The log as the projection sees it: batches of what was appended since the last read."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.read_to = Checkpoint()
        self.versions: dict[str, int] = {}

    async def append(self, session_id: str, *events: Event) -> None:
        stream = session_stream(session_id)
        result = await self.store.append(stream, events, self.versions.get(stream, 0))
        self.versions[stream] = result.last_version

    async def batch(self, timeout: float = 20.0) -> list[RecordedEvent]:
        """Everything appended since the last batch. Any open transaction in the cluster
        (another test run's) can hold the log's horizon back a while: wait it out."""
        target = await self.store.head()
        events: list[RecordedEvent] = []
        deadline = time.monotonic() + timeout
        while self.read_to < target:
            assert time.monotonic() < deadline, "the log's horizon stayed held back"
            found = (await self.store.read_all(self.read_to, 100_000)).events
            if not found:
                await asyncio.sleep(0.01)
                continue
            events += found
            self.read_to = found[-1].checkpoint
        return events


async def apply(pool: AsyncConnectionPool[Any], events: Sequence[RecordedEvent]) -> None:
    """One batch through the projection, in one transaction and a pipeline, as the runner
    applies it."""
    async with pool.connection() as conn, conn.transaction(), conn.pipeline():
        await SessionsProjection().apply(conn, events)


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


async def counts_table(pool: AsyncConnectionPool[Any]) -> dict[str, int]:
    async with pool.connection() as conn:
        rows = await (await conn.execute("SELECT filter, n FROM session_counts")).fetchall()
    return {_key(f): n for f, n in rows}


async def recounted(pool: AsyncConnectionPool[Any]) -> dict[str, int]:
    """What session_counts should hold, counted in Python from the live sessions' rows."""
    async with pool.connection() as conn:
        rows = await (await conn.execute(
            "SELECT created_by, metadata FROM sessions WHERE deleted_at IS NULL")).fetchall()
    counts: dict[str, int] = {}
    for created_by, metadata in rows:
        filters: list[Any] = [{}]
        if created_by is not None:
            filters.append({"account": str(created_by)})
        filters += [{"metadata": {k: v}} for k, v in metadata.items()
                    if not isinstance(v, dict | list)]
        for f in filters:
            counts[_key(f)] = counts.get(_key(f), 0) + 1
    return counts


async def reference(pool: AsyncConnectionPool[Any], q: ListQuery) -> list[str]:
    """Every id the listing holds, in its order: the plain query the listing must equal."""
    clauses: list[str] = ["deleted_at IS NULL"]
    params: list[Any] = []
    if q.account_id:
        clauses.append("created_by = %s")
        params.append(q.account_id)
    for key, value in q.metadata.items():
        clauses.append("metadata -> %s = %s::jsonb")
        params += [key, json.dumps(value)]
    sql = (f"SELECT id FROM sessions WHERE {' AND '.join(clauses)}"
           f" ORDER BY {q.sort_by} {q.direction}, id {q.direction}")
    async with pool.connection() as conn:
        return [r[0] for r in await (await conn.execute(sql, params)).fetchall()]
