"""Append to and read from the event log.

Reading the whole log safely: identity values are taken at insert time but become visible
at commit time, so "position > last seen" would skip an event whose transaction commits
after a later one. We use the transaction-horizon technique: every row carries the xid8
of the transaction that wrote it, `read_all` walks the log in (transaction_id,
global_position) order and stops below `pg_snapshot_xmin(pg_current_snapshot())`, the
oldest transaction still in flight. Anything below the horizon is committed or rolled
back for good, so no event can appear there later. The checkpoint is that pair.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import msgspec
import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import AsyncConnectionPool

from app.eventstore.codec import Event, EventRegistry
from app.eventstore.errors import ConcurrencyError, DuplicateEventId

NOTIFY_CHANNEL = "robots_events"

Conn = psycopg.AsyncConnection[Any]


class Checkpoint(NamedTuple):
    """A position in the log's reading order: (transaction id, global position)."""

    transaction_id: int = 0
    global_position: int = 0


class EventMetadata(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Who and what caused an event. Never holds secrets."""

    actor: str | None = None
    causation_id: str | None = None
    correlation_id: str | None = None
    trace_id: str | None = None


class RecordedEvent(msgspec.Struct, frozen=True, kw_only=True):
    global_position: int
    transaction_id: int
    stream_id: str
    stream_version: int
    event_id: uuid.UUID
    type: str
    event: Event
    metadata: EventMetadata
    recorded_at: datetime

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.transaction_id, self.global_position)


class AppendResult(NamedTuple):
    stream_id: str
    last_version: int
    # The checkpoint of the last event appended: wait for a projection to pass it to
    # read your own write.
    checkpoint: Checkpoint
    # True when every event id was already stored by an earlier, identical append.
    was_retry: bool = False


class Snapshot(NamedTuple):
    """A stream's folded state, as bytes its reader decodes, after `version` events. A
    cache: readers ask for their own `shape` and fold the events after `version`."""

    version: int
    shape: str
    data: bytes


class LogBatch(NamedTuple):
    events: list[RecordedEvent]
    # Some committed events were held back behind an older transaction still in flight:
    # the caller should look again shortly rather than sleep until the next NOTIFY.
    held_back: bool


# One statement: the insert, and the NOTIFY only if rows went in. Arrays go in binary (%b):
# psycopg's text arrays quote every JSON element in Python.
_APPEND = f"""
WITH appended AS (
    INSERT INTO events (stream_id, stream_version, event_id, type, data, metadata)
    SELECT %(stream)s, cur.v + u.ord, u.id, u.t, u.d::jsonb, u.m::jsonb
    FROM (SELECT COALESCE((SELECT max(stream_version) FROM events
                           WHERE stream_id = %(stream)s), 0) AS v) AS cur,
         unnest(%(ids)b::uuid[], %(types)b::text[], %(data)b::text[], %(meta)b::text[])
         WITH ORDINALITY AS u(id, t, d, m, ord)
    WHERE %(expected)s::bigint IS NULL OR cur.v = %(expected)s::bigint
    ORDER BY u.ord
    RETURNING transaction_id, global_position, stream_version
), woken AS (
    SELECT pg_notify('{NOTIFY_CHANNEL}', %(stream)s) WHERE EXISTS (SELECT FROM appended)
)
SELECT transaction_id::text::bigint, global_position, stream_version
FROM appended, woken ORDER BY stream_version
"""

# The same, and the stream's snapshot in the same statement: no round trip of its own, and
# written only if the events land where the snapshot's state assumed (at its version).
_APPEND_WITH_SNAPSHOT = _APPEND.replace("""), woken AS (""", """), snapped AS (
    INSERT INTO stream_snapshots (stream_id, stream_version, shape, data)
    SELECT %(stream)s, last.v, %(shape)s, %(snapshot)b
    FROM (SELECT max(stream_version) AS v FROM appended) AS last
    WHERE last.v = %(snapshot_version)s::bigint
    ON CONFLICT (stream_id) DO UPDATE
    SET stream_version = EXCLUDED.stream_version, shape = EXCLUDED.shape,
        data = EXCLUDED.data, written_at = now()
    WHERE stream_snapshots.stream_version < EXCLUDED.stream_version
       OR stream_snapshots.shape <> EXCLUDED.shape
), woken AS (""")
# The snapshot rides in the append's statement, spliced in before its `woken` step: a
# change of _APPEND that moved that step would otherwise silently stop writing snapshots.
assert _APPEND_WITH_SNAPSHOT != _APPEND, "_APPEND lost the step snapshots are spliced before"

_COLUMNS = (
    "global_position, transaction_id::text::bigint, stream_id, stream_version, event_id,"
    " type, data::text, metadata::text, recorded_at"
)

# ORDER BY must name the table's columns: a bare `transaction_id` would mean the output
# column `transaction_id::text::bigint`, which no index has (a full sort per batch).
_READ_ALL = f"""
SELECT {_COLUMNS}, horizon.xmin
FROM events, (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin) AS horizon
WHERE (events.transaction_id, events.global_position) > (%s::text::xid8, %s)
ORDER BY events.transaction_id, events.global_position
LIMIT %s
"""

# "Append anywhere" can still lose a race to an append with an expected version.
_ANY_VERSION_ATTEMPTS = 5
_STREAM_LOCK_CLASS = 7_263_003

_meta_encoder = msgspec.json.Encoder()
_meta_decoder = msgspec.json.Decoder(EventMetadata)


class EventStore:
    def __init__(self, pool: AsyncConnectionPool[Any], registry: EventRegistry) -> None:
        self.pool = pool
        self.registry = registry

    async def append(
        self,
        stream_id: str,
        events: Sequence[Event],
        expected_version: int | None,
        *,
        metadata: EventMetadata | None = None,
        event_ids: Sequence[uuid.UUID] | None = None,
        conn: Conn | None = None,
        snapshot: Snapshot | None = None,
    ) -> AppendResult:
        """Append `events` to a stream atomically, as versions expected_version+1...

        `expected_version` is the version the caller last saw (0: the stream must not exist;
        None: append wherever the stream is). A stream at another version raises
        ConcurrencyError. Passing the same `event_ids` again is an idempotent retry: the
        original result comes back and nothing is stored twice. With `conn`, the append
        joins the caller's transaction (the caller commits). With `snapshot`, the same
        statement stores it as the stream's snapshot if the append ends at its version.
        """
        if not events:
            raise ValueError("append needs at least one event")
        ids = list(event_ids) if event_ids is not None else [uuid.uuid4() for _ in events]
        if len(ids) != len(events):
            raise ValueError("one event id per event")
        meta = _meta_encoder.encode(metadata or EventMetadata()).decode()
        params: dict[str, Any] = {
            "stream": stream_id,
            "expected": expected_version,
            "ids": ids,
            "types": [e.event_type for e in events],
            "data": [self.registry.encode(e).decode() for e in events],
            "meta": [meta] * len(events),
        }
        if snapshot is not None:
            params.update(shape=snapshot.shape, snapshot=snapshot.data,
                          snapshot_version=snapshot.version)
        for _ in range(_ANY_VERSION_ATTEMPTS if expected_version is None else 1):
            try:
                return await self._append_once(stream_id, ids, params, expected_version, conn)
            except ConcurrencyError:
                if expected_version is not None:
                    raise
        raise ConcurrencyError(stream_id, None, await self.stream_version(stream_id, conn))

    async def _append_once(
        self,
        stream_id: str,
        ids: list[uuid.UUID],
        params: dict[str, Any],
        expected_version: int | None,
        conn: Conn | None,
    ) -> AppendResult:
        try:
            if conn is not None:
                async with conn.transaction():  # a savepoint: a conflict leaves conn usable
                    rows = await self._insert(conn, params)
            elif expected_version is None:  # the advisory lock needs a transaction
                async with self.pool.connection() as own, own.transaction():
                    rows = await self._insert(own, params)
            else:
                async with self.pool.connection() as own:
                    # One statement is one transaction: no BEGIN/COMMIT round trips.
                    await own.set_autocommit(True)
                    try:
                        rows = await self._insert(own, params)
                    finally:
                        await own.set_autocommit(False)
        except pg_errors.UniqueViolation:
            rows = []
        if rows:
            txid, position, version = rows[-1]
            return AppendResult(stream_id, version, Checkpoint(txid, position))
        return await self._explain_refusal(stream_id, ids, expected_version, conn)

    async def _insert(self, conn: Conn, params: dict[str, Any]) -> list[tuple[int, int, int]]:
        if params["expected"] is None:
            # Writers that do not care about the version queue up per stream instead of
            # racing for the next number; appends with an expected version never wait here.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                [_STREAM_LOCK_CLASS, params["stream"]],
            )
        cur = await conn.execute(_APPEND_WITH_SNAPSHOT if "snapshot" in params else _APPEND,
                                 params)
        return await cur.fetchall()

    async def _explain_refusal(
        self, stream_id: str, ids: list[uuid.UUID], expected: int | None, conn: Conn | None
    ) -> AppendResult:
        """An insert was refused: either this is a retry of a stored append, or a conflict."""
        query = (
            "SELECT event_id, stream_id, stream_version, transaction_id::text::bigint,"
            " global_position FROM events WHERE event_id = ANY(%s) ORDER BY stream_version"
        )
        if conn is not None:
            found = await (await conn.execute(query, [ids])).fetchall()
        else:
            async with self.pool.connection() as own:
                found = await (await own.execute(query, [ids])).fetchall()
        if len(found) == len(ids) and all(row[1] == stream_id for row in found):
            _, _, version, txid, position = found[-1]
            return AppendResult(stream_id, version, Checkpoint(txid, position), was_retry=True)
        if found:
            raise DuplicateEventId(stream_id, [str(row[0]) for row in found])
        raise ConcurrencyError(stream_id, expected, await self.stream_version(stream_id, conn))

    async def stream_version(self, stream_id: str, conn: Conn | None = None) -> int:
        query = "SELECT COALESCE(max(stream_version), 0) FROM events WHERE stream_id = %s"
        if conn is not None:
            row = await (await conn.execute(query, [stream_id])).fetchone()
        else:
            async with self.pool.connection() as own:
                row = await (await own.execute(query, [stream_id])).fetchone()
        return int(row[0]) if row else 0

    async def read_stream(
        self,
        stream_id: str,
        after_version: int = 0,
        limit: int | None = None,
        *,
        up_to_version: int | None = None,
    ) -> list[RecordedEvent]:
        """A stream's events in version order, after `after_version` (and up to a version)."""
        query = (
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = %s AND stream_version > %s"
            " AND (%s::bigint IS NULL OR stream_version <= %s::bigint)"
            " ORDER BY stream_version LIMIT %s"
        )
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                query, [stream_id, after_version, up_to_version, up_to_version, limit]
            )
            return [self._decode(row) for row in await cur.fetchall()]

    async def read_snapshot(self, stream_id: str, shape: str) -> Snapshot | None:
        """The stream's stored snapshot in `shape`, if there is one (a snapshot is a cache:
        there may be none, and one of another shape is not this reader's)."""
        async with self.pool.connection() as conn:
            row = await (await conn.execute(
                "SELECT stream_version, data FROM stream_snapshots"
                " WHERE stream_id = %s AND shape = %s", [stream_id, shape])).fetchone()
        return Snapshot(row[0], shape, bytes(row[1])) if row else None

    async def read_all(
        self, after: Checkpoint, limit: int = 1000, *, conn: Conn | None = None
    ) -> LogBatch:
        """Events after `after` in commit-safe order, never past the transaction horizon."""
        params = [str(after.transaction_id), after.global_position, limit]
        if conn is not None:
            rows = await (await conn.execute(_READ_ALL, params)).fetchall()
        else:
            async with self.pool.connection() as own:
                rows = await (await own.execute(_READ_ALL, params)).fetchall()
        events: list[RecordedEvent] = []
        for row in rows:
            if row[1] >= row[-1]:  # at or above the horizon: may still have company
                return LogBatch(events, held_back=True)
            events.append(self._decode(row))
        return LogBatch(events, held_back=False)

    async def stream_head(self, stream_id: str) -> Checkpoint | None:
        """The checkpoint of a stream's newest event (None for an empty stream): what a
        reader waits for projections to pass, to read its own writes."""
        async with self.pool.connection() as conn:
            row = await (await conn.execute(
                "SELECT transaction_id::text::bigint, global_position FROM events"
                " WHERE stream_id = %s ORDER BY stream_version DESC LIMIT 1",
                [stream_id])).fetchone()
        return Checkpoint(*row) if row else None

    async def head(self, *, conn: Conn | None = None) -> Checkpoint:
        """The checkpoint of the newest committed event, in reading order."""
        query = ("SELECT transaction_id::text::bigint, global_position FROM events"
                 " ORDER BY events.transaction_id DESC, events.global_position DESC LIMIT 1")
        if conn is not None:
            row = await (await conn.execute(query)).fetchone()
        else:
            async with self.pool.connection() as own:
                row = await (await own.execute(query)).fetchone()
        return Checkpoint(*row) if row else Checkpoint()

    def _decode(self, row: Sequence[Any]) -> RecordedEvent:
        position, txid, stream_id, version, event_id, type_name, data, meta, recorded_at = row[:9]
        return RecordedEvent(
            global_position=position,
            transaction_id=txid,
            stream_id=stream_id,
            stream_version=version,
            event_id=event_id,
            type=type_name,
            event=self.registry.decode(type_name, data),
            metadata=_meta_decoder.decode(meta),
            recorded_at=recorded_at,
        )
