"""A projection for tests: records how many times it saw each event."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg_pool import AsyncConnectionPool

from app.eventstore import RecordedEvent
from projections.base import Conn

CREATE = """
CREATE TABLE IF NOT EXISTS seen_events (
    global_position bigint PRIMARY KEY, stream_id text NOT NULL, times int NOT NULL
)
"""


class RecordingProjection:
    """Counts every event it is given; can be told to crash once mid-batch."""

    tables: tuple[str, ...] = ("seen_events",)

    def __init__(self, name: str = "recording", crash_at_event: int | None = None) -> None:
        self.name = name
        self.crash_at_event = crash_at_event
        self.seen = 0
        self.crashed = False

    async def apply(self, conn: Conn, events: Sequence[RecordedEvent]) -> None:
        for rec in events:
            self.seen += 1
            if self.seen == self.crash_at_event and not self.crashed:
                self.crashed = True
                raise RuntimeError("projection crashed mid-batch")
            await conn.execute(
                "INSERT INTO seen_events VALUES (%s, %s, 1) ON CONFLICT (global_position)"
                " DO UPDATE SET times = seen_events.times + 1",
                [rec.global_position, rec.stream_id],
            )


async def create_table(pool: AsyncConnectionPool[Any]) -> None:
    async with pool.connection() as conn:
        await conn.execute(CREATE)


async def times_seen(pool: AsyncConnectionPool[Any]) -> dict[int, int]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT global_position, times FROM seen_events")
        return {row[0]: row[1] for row in await cur.fetchall()}


async def all_positions(pool: AsyncConnectionPool[Any]) -> set[int]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT global_position FROM events")
        return {row[0] for row in await cur.fetchall()}
