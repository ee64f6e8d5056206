"""The event log's guarantees against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest

from app.domain.events import SessionDeleted, SessionRenamed, SessionStarted
from app.eventstore import ConcurrencyError, EventMetadata, EventStore, UnknownEventType
from app.eventstore.errors import DuplicateEventId


def new_stream() -> str:
    return f"test-{uuid.uuid4()}"


async def test_append_then_read_stream_round_trips_events(store: EventStore) -> None:
    stream = new_stream()
    started = SessionStarted(session_id=stream, name="first", metadata={"k": [1, True]})
    result = await store.append(
        stream,
        [started, SessionRenamed(session_id=stream, name="second")],
        0,
        metadata=EventMetadata(actor="acct-1", trace_id="t-1"),
    )
    assert result.last_version == 2
    events = await store.read_stream(stream)
    assert [e.stream_version for e in events] == [1, 2]
    assert events[0].event == started
    assert events[1].event == SessionRenamed(session_id=stream, name="second")
    assert events[0].metadata.actor == "acct-1"
    assert events[1].checkpoint == result.checkpoint
    assert [e.event for e in await store.read_stream(stream, after_version=1)] == [events[1].event]


async def test_two_appends_at_the_same_expected_version_exactly_one_wins(
    store: EventStore,
) -> None:
    stream = new_stream()
    await store.append(stream, [SessionStarted(session_id=stream)], 0)
    attempts = [
        store.append(stream, [SessionRenamed(session_id=stream, name=f"n{i}")], 1) for i in range(2)
    ]
    results = await asyncio.gather(*attempts, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1
    assert isinstance(errors[0], ConcurrencyError)
    assert errors[0].actual == 2 and errors[0].expected == 1
    assert await store.stream_version(stream) == 2


async def test_expected_version_ahead_of_the_stream_is_refused(store: EventStore) -> None:
    stream = new_stream()
    await store.append(stream, [SessionStarted(session_id=stream)], 0)
    with pytest.raises(ConcurrencyError, match="at version 1, not the expected 5"):
        await store.append(stream, [SessionDeleted(session_id=stream)], 5)
    with pytest.raises(ConcurrencyError):
        await store.append(stream, [SessionStarted(session_id=stream)], 0)
    assert await store.stream_version(stream) == 1


async def test_same_event_ids_twice_are_stored_once(store: EventStore) -> None:
    stream = new_stream()
    ids = [uuid.uuid4(), uuid.uuid4()]
    events = [SessionStarted(session_id=stream), SessionRenamed(session_id=stream, name="x")]
    first = await store.append(stream, events, 0, event_ids=ids)
    again = await store.append(stream, events, 0, event_ids=ids)
    assert again.was_retry and not first.was_retry
    assert again.checkpoint == first.checkpoint and again.last_version == 2
    assert len(await store.read_stream(stream)) == 2


async def test_reused_event_id_in_another_append_is_an_error(store: EventStore) -> None:
    stream, other = new_stream(), new_stream()
    event_id = uuid.uuid4()
    await store.append(stream, [SessionStarted(session_id=stream)], 0, event_ids=[event_id])
    with pytest.raises(DuplicateEventId, match=str(event_id)):
        await store.append(other, [SessionStarted(session_id=other)], 0, event_ids=[event_id])
    assert await store.stream_version(other) == 0


async def test_append_anywhere_from_many_tasks_gives_consecutive_versions(
    store: EventStore,
) -> None:
    stream = new_stream()
    await asyncio.gather(
        *(
            store.append(stream, [SessionRenamed(session_id=stream, name=str(i))], None)
            for i in range(8)
        )
    )
    versions = [e.stream_version for e in await store.read_stream(stream)]
    assert versions == list(range(1, 9))


async def test_unknown_event_type_on_read_names_the_type(fresh_store: EventStore) -> None:
    # A database of its own: an event nobody can decode would stop every projector that
    # later reads the shared log (the e2e stacks' included).
    store = fresh_store
    stream = new_stream()
    async with store.pool.connection() as conn:
        await conn.execute(
            "INSERT INTO events (stream_id, stream_version, event_id, type, data)"
            " VALUES (%s, 1, %s, 'SessionTeleported', '{}')",
            [stream, uuid.uuid4()],
        )
    with pytest.raises(UnknownEventType, match="SessionTeleported"):
        await store.read_stream(stream)


async def test_the_log_refuses_updates_and_deletes(store: EventStore) -> None:
    stream = new_stream()
    await store.append(stream, [SessionStarted(session_id=stream)], 0)
    for statement in (
        "UPDATE events SET type = 'x' WHERE stream_id = %s",
        "DELETE FROM events WHERE stream_id = %s",
    ):
        async with store.pool.connection() as conn:
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                await conn.execute(statement, [stream])
    assert len(await store.read_stream(stream)) == 1


async def test_read_all_stops_below_a_transaction_still_in_flight(
    fresh_store: EventStore,
) -> None:
    store = fresh_store
    early, late = new_stream(), new_stream()
    async with store.pool.connection() as slow:
        async with slow.transaction():
            # Takes its transaction id (and global position) first, commits last.
            await store.append(early, [SessionStarted(session_id=early)], 0, conn=slow)
            await store.append(late, [SessionStarted(session_id=late)], 0)
            batch = await store.read_all(store_start(), 100)
            assert batch.events == [] and batch.held_back
    # Any transaction open elsewhere on the server also holds the horizon, so give the
    # cluster a moment; what matters is that both appear, in commit-safe order.
    for _ in range(300):
        batch = await store.read_all(store_start(), 100)
        if batch.events:
            break
        await asyncio.sleep(0.1)
    assert [e.stream_id for e in batch.events] == [early, late]


def store_start():  # type: ignore[no-untyped-def]
    from app.eventstore import Checkpoint

    return Checkpoint()


async def test_read_all_walks_the_index_instead_of_sorting_the_log(store: EventStore) -> None:
    from app.eventstore.store import _READ_ALL

    async with store.pool.connection() as conn:
        # Price out every other way, so a Sort left in the plan means the index cannot
        # deliver the order (the planner prefers a sort on a table this small).
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            await conn.execute(f"SET {setting} = off")
        rows = await (await conn.execute(
            "EXPLAIN " + _READ_ALL, ["0", 0, 500])).fetchall()
    plan = "\n".join(r[0] for r in rows)
    # A Sort here means every projector batch sorts the whole log (the index goes unused).
    assert "Sort" not in plan and "events_transaction_order_idx" in plan, plan
