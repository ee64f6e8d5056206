"""A read model rebuilt from position zero equals the one built live."""

from __future__ import annotations

import random
import uuid
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from app.domain.events import (
    SessionDeleted,
    SessionRenamed,
    SessionSettingsChanged,
    SessionStarted,
)
from app.eventstore import EventStore
from app.readmodels.waiting import wait_for
from projections.rebuild import rebuild
from projections.sessions import SessionsProjection
from tests.projections.sessions_support import counts_table, recounted
from tests.projections.test_runner import make_runner, running

CREATORS = [None, *(str(uuid.UUID(int=n)) for n in range(1, 4))]


async def sessions_table(pool: AsyncConnectionPool[Any]) -> list[tuple[Any, ...]]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT * FROM sessions ORDER BY id")
        return await cur.fetchall()


async def test_rebuild_equals_live(fresh_database: str, fresh_store: EventStore) -> None:
    rng = random.Random(5)
    projection = SessionsProjection()
    last = None
    async with running(make_runner(fresh_database, fresh_store, projection)):
        for i in range(60):
            sid = f"sess-{i}"
            events: list[Any] = [
                SessionStarted(session_id=sid, name=f"n{i}", created_by=rng.choice(CREATORS),
                               metadata={"i": i, "even": i % 2 == 0})
            ]
            events += [
                SessionRenamed(session_id=sid, name=f"r{j}") for j in range(rng.randint(0, 3))
            ]
            if rng.random() < 0.3:
                events.append(SessionSettingsChanged(session_id=sid, metadata={"tier": i % 3}))
            if rng.random() < 0.3:
                events.append(SessionDeleted(session_id=sid))
            last = await fresh_store.append(f"session-{sid}", events, 0)
        assert last is not None
        assert await wait_for(fresh_store.pool, last.checkpoint, ["sessions"], timeout=10)
        live = await sessions_table(fresh_store.pool)
        live_counts = await counts_table(fresh_store.pool)
        # Spoil the read model: only a rebuild that really commits can make it right again.
        async with fresh_store.pool.connection() as spoil:
            await spoil.execute("UPDATE sessions SET name = 'spoiled', metadata = '{}'")
            await spoil.execute("UPDATE session_counts SET n = n + 1")
        async with await psycopg.AsyncConnection.connect(fresh_database) as conn:
            report = await rebuild(conn, fresh_store, projection, batch_size=50)
        rebuilt = await sessions_table(fresh_store.pool)
        rebuilt_counts = await counts_table(fresh_store.pool)
    assert report.events == sum(1 for _ in await all_events(fresh_store))
    assert len(live) == 60
    assert rebuilt == live
    assert rebuilt_counts == live_counts == await recounted(fresh_store.pool)
    assert any('"tier"' in f for f in live_counts) and any('"account"' in f for f in live_counts)
    deleted = [row for row in live if row[5] is not None]
    assert deleted and all(row[4] == row[5] for row in deleted)  # updated_at == deleted_at


async def all_events(store: EventStore) -> list[Any]:
    from app.eventstore import Checkpoint

    return (await store.read_all(Checkpoint(), 100_000)).events


async def test_wait_for_times_out_when_no_projection_runs(fresh_store: EventStore) -> None:
    result = await fresh_store.append("session-x", [SessionStarted(session_id="x")], 0)
    assert not await wait_for(fresh_store.pool, result.checkpoint, ["sessions"], timeout=0.1)
