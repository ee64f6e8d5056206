"""Project one batch of the log and move the checkpoint, in one transaction."""

from __future__ import annotations

from typing import NamedTuple

from app.eventstore import Checkpoint, EventStore
from projections.base import Conn, Projection

PROJECTED_CHANNEL = "robots_projected"


class BatchResult(NamedTuple):
    applied: int
    held_back: bool
    checkpoint: Checkpoint


async def read_checkpoint(conn: Conn, name: str, *, lock: bool = False) -> Checkpoint:
    query = ("SELECT transaction_id::text::bigint, global_position FROM projection_checkpoints"
             " WHERE name = %s" + (" FOR UPDATE" if lock else ""))
    row = await (await conn.execute(query, [name])).fetchone()
    if row is None:
        # Only a projection's first batch writes here: a write takes a transaction id,
        # and an id taken before reading the log would hold this very read's horizon back.
        await conn.execute(
            "INSERT INTO projection_checkpoints (name) VALUES (%s) ON CONFLICT DO NOTHING",
            [name])
        row = await (await conn.execute(query, [name])).fetchone()
    assert row is not None
    return Checkpoint(*row)


async def write_checkpoint(conn: Conn, name: str, checkpoint: Checkpoint) -> None:
    await conn.execute(
        "UPDATE projection_checkpoints SET transaction_id = %s::text::xid8,"
        " global_position = %s, updated_at = now() WHERE name = %s",
        [str(checkpoint.transaction_id), checkpoint.global_position, name],
    )
    await conn.execute("SELECT pg_notify(%s, %s)", [PROJECTED_CHANNEL, name])


async def project_batch(
    conn: Conn, store: EventStore, projection: Projection, limit: int
) -> BatchResult:
    """Apply the next batch of events to `projection`; rows and checkpoint commit together.

    The log is read before this transaction writes anything: once it holds an xid, that
    xid would itself hold the transaction horizon back. The checkpoint row is then locked
    and compared, so a concurrent rebuild (or a runner that lost its lock) makes this
    batch roll back instead of applying events twice.
    """
    async with conn.transaction():
        start = await read_checkpoint(conn, projection.name)
        batch = await store.read_all(start, limit, conn=conn)
        if not batch.events:
            return BatchResult(0, batch.held_back, start)
        if await read_checkpoint(conn, projection.name, lock=True) != start:
            raise CheckpointMoved(projection.name)
        async with conn.pipeline():
            await projection.apply(conn, batch.events)
        end = batch.events[-1].checkpoint
        await write_checkpoint(conn, projection.name, end)
    return BatchResult(len(batch.events), batch.held_back, end)


class CheckpointMoved(Exception):
    """Someone else moved the checkpoint while this batch was being read: read again."""

    def __init__(self, name: str) -> None:
        super().__init__(f"checkpoint of projection {name!r} moved during a batch")
