"""Rebuild speed: the sessions projection rebuilt from position zero, beside a walk of the
log that applies nothing and a plain SELECT of the same rows."""

from __future__ import annotations

import time
import uuid
from typing import Any, NamedTuple

import msgspec
import psycopg
from psycopg_pool import AsyncConnectionPool

from app.domain.events import SessionDeleted, registry, session_stream
from app.eventstore import Checkpoint, Event, EventMetadata, EventStore
from bench.eventlog.workload import EMPTY_METADATA, Measured, Settings, session_events, timed
from bench.harness.figures import note
from bench.harness.machine import CpuSample
from bench.harness.scratch import scratch_database
from projections.rebuild import rebuild
from projections.sessions import SessionsProjection

EVENTS_PER_STREAM = 10  # SessionStarted, renames, sometimes SessionDeleted
STREAMS_PER_COMMIT = 10

_INSERT = """
INSERT INTO events (stream_id, stream_version, event_id, type, data, metadata)
SELECT u.s, u.v, u.id, u.t, u.d::jsonb, u.m::jsonb
FROM unnest(%b::text[], %b::bigint[], %b::uuid[], %b::text[], %b::text[], %b::text[])
     AS u(s, v, id, t, d, m)
"""
_PLAIN_READ = """
SELECT global_position, stream_id, stream_version, event_id, type, data::text, metadata::text,
       recorded_at
FROM events ORDER BY global_position
"""

_meta_decoder = msgspec.json.Decoder(EventMetadata)


class RebuildFigures(NamedTuple):
    events: int
    insert_s: float
    rebuild: Measured
    walk: Measured
    plain_read: Measured


def stream_events(index: int) -> list[Event]:
    session_id = f"bench-{index:07d}"
    events = session_events(session_id, 0, EVENTS_PER_STREAM)
    if index % 10 == 0:  # a tenth of the sessions end deleted
        events[-1] = SessionDeleted(session_id=session_id)
    return events


async def insert_rows(url: str, streams: int) -> float:
    """Write `streams` session streams into the log; returns the seconds it took.

    Not through EventStore.append (bench.harness.seeding's path): the appends are measured
    apart, this only has to be quick. The rows are the ones append writes (the registry's
    JSON, empty metadata, one transaction id per commit), inserted STREAMS_PER_COMMIT
    streams at a time with synchronous_commit off.
    """
    started = time.perf_counter()
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await conn.execute("SET synchronous_commit = off")
        for first in range(0, streams, STREAMS_PER_COMMIT):
            rows: list[tuple[str, int, uuid.UUID, str, str, str]] = []
            for index in range(first, min(first + STREAMS_PER_COMMIT, streams)):
                stream_id = session_stream(f"bench-{index:07d}")
                rows += [
                    (stream_id, version, uuid.uuid4(), e.event_type,
                     registry.encode(e).decode(), EMPTY_METADATA)
                    for version, e in enumerate(stream_events(index), start=1)
                ]
            await conn.execute(_INSERT, [list(column) for column in zip(*rows, strict=True)])
            await conn.commit()
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        # What a long-lived log looks like: visibility map set, statistics fresh.
        await conn.execute("VACUUM (ANALYZE) events")
    return time.perf_counter() - started


async def walk_log(conn: psycopg.AsyncConnection[Any], store: EventStore) -> int:
    checkpoint, seen = Checkpoint(), 0
    while True:
        batch = await store.read_all(checkpoint, 5000, conn=conn)
        if not batch.events:
            return seen
        seen += len(batch.events)
        checkpoint = batch.events[-1].checkpoint


async def plain_read(conn: psycopg.AsyncConnection[Any]) -> int:
    rows = await (await conn.execute(_PLAIN_READ)).fetchall()
    for row in rows:
        registry.decode(row[4], row[5])
        _meta_decoder.decode(row[6])
    return len(rows)


async def rebuild_benchmark(admin_url: str, settings: Settings) -> RebuildFigures:
    streams = max(1, settings.rebuild_events // EVENTS_PER_STREAM)
    expected = streams * EVENTS_PER_STREAM
    async with scratch_database(admin_url) as url:
        insert_s = await insert_rows(url, streams)
        note(f"wrote {expected:,} events in {insert_s:.1f} s")
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(url, min_size=1, max_size=2,
                                                             open=False)
        async with pool, await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            store = EventStore(pool, registry)
            cpu = CpuSample()
            report = await rebuild(conn, store, SessionsProjection())
            rebuilt = Measured(report.events, report.seconds, [report.seconds], cpu.busy())
            walk = await timed(walk_log(conn, store))
            plain = await timed(plain_read(conn))
            cur = await conn.execute("SELECT count(*) FROM sessions")
            sessions = (await cur.fetchone() or [0])[0]
    for name, got in (("rebuild", report.events), ("walk", walk.events), ("read", plain.events)):
        if got != expected:
            raise RuntimeError(f"{name} saw {got} events, expected {expected}")
    if sessions != streams:
        raise RuntimeError(f"rebuild made {sessions} sessions, expected {streams}")
    return RebuildFigures(expected, insert_s, rebuilt, walk, plain)
