"""Snapshots and the per-process cache of folded sessions, against a real PostgreSQL: a load
from them equals a fold of the whole stream, deleting them changes nothing, a snapshot of
another shape is never read, and a cached state never hides what another process appended.
"""

from __future__ import annotations

import uuid

import pytest

from app.domain import decisions as d
from app.domain import session_snapshot
from app.domain.events import SessionStarted, session_stream
from app.domain.session import SessionState, fold
from app.eventstore import ConcurrencyError, Event, EventStore, RecordedEvent, Snapshot
from app.services.handler import SessionHandler
from app.services.session_states import SessionStates
from tests.domain.long_session import long_session

EVERY = 50
EVENTS = long_session(40)  # ~330 events: six snapshot points


class ReadingStore(EventStore):
    """The real store, noting where each stream read starts and how much it returns."""

    def __init__(self, store: EventStore) -> None:
        super().__init__(store.pool, store.registry)
        self.reads: list[tuple[int, int]] = []  # (after_version, events read)

    async def read_stream(self, stream_id: str, after_version: int = 0,
                          limit: int | None = None, *,
                          up_to_version: int | None = None) -> list[RecordedEvent]:
        records = await super().read_stream(stream_id, after_version, limit,
                                            up_to_version=up_to_version)
        self.reads.append((after_version, len(records)))
        return records


def handler(store: EventStore, every: int = EVERY) -> SessionHandler:
    """A handler as a new process has it: nothing cached."""
    return SessionHandler(ReadingStore(store), states=SessionStates(snapshot_every=every))


def reads(h: SessionHandler) -> list[tuple[int, int]]:
    assert isinstance(h.store, ReadingStore)
    return h.store.reads


async def grow(h: SessionHandler, session_id: str, events: list[Event] = EVENTS) -> None:
    """Append the session's events through the handler in appends of 1 to 7 events, as
    decisions write them."""
    at = 0
    while at < len(events):
        chunk: list[Event] = events[at:at + 1 + at % 7]
        await h.execute(session_id, lambda _: chunk)  # noqa: B023 (run before the next)
        at += len(chunk)


async def whole_fold(store: EventStore, session_id: str) -> SessionState:
    records = await store.read_stream(session_stream(session_id))
    return fold([r.event for r in records], version=records[-1].stream_version)


async def snapshot_row(store: EventStore, session_id: str) -> tuple[int, str] | None:
    async with store.pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT stream_version, shape FROM stream_snapshots WHERE stream_id = %s",
            [session_stream(session_id)])).fetchone()
    return (int(row[0]), str(row[1])) if row else None


async def test_an_append_that_crosses_a_snapshot_point_stores_the_state_after_it(
        store: EventStore) -> None:
    session_id = f"snap-{uuid.uuid4().hex}"
    h = handler(store)
    first = EVENTS[:EVERY - 2]
    await grow(h, session_id, first)
    assert await snapshot_row(store, session_id) is None
    await h.execute(session_id, lambda _: EVENTS[EVERY - 2:EVERY + 3])  # 48 -> 53
    assert await snapshot_row(store, session_id) == (EVERY + 3, session_snapshot.SHAPE)
    found = await store.read_snapshot(session_stream(session_id), session_snapshot.SHAPE)
    assert found is not None
    assert session_snapshot.decode(found.data) == fold(EVENTS[:EVERY + 3], version=EVERY + 3)


async def test_a_new_process_folds_the_snapshot_and_only_the_events_after_it(
        store: EventStore) -> None:
    session_id = f"snap-{uuid.uuid4().hex}"
    await grow(handler(store), session_id)
    row = await snapshot_row(store, session_id)
    assert row is not None and len(EVENTS) - EVERY <= row[0] <= len(EVENTS)
    cold = handler(store)
    state = await cold.load(session_id)
    assert state == await whole_fold(store, session_id) == fold(EVENTS, version=len(EVENTS))
    assert reads(cold) == [(row[0], len(EVENTS) - row[0])]


async def test_with_every_snapshot_deleted_a_load_and_a_decision_are_the_same(
        fresh_store: EventStore) -> None:
    session_id = f"snap-{uuid.uuid4().hex}"
    await grow(handler(fresh_store), session_id)
    with_snapshot = await handler(fresh_store).load(session_id)
    async with fresh_store.pool.connection() as conn:
        await conn.execute("DELETE FROM stream_snapshots")
    cold = handler(fresh_store)
    assert await cold.load(session_id) == with_snapshot == fold(EVENTS, version=len(EVENTS))
    assert reads(cold) == [(0, len(EVENTS))]
    post = d.PostMessage(session_id=session_id, message_id="after", parts=[], robot_id="r",
                         author_id="alice", new_turn_id="t-after")
    outcome = await handler(fresh_store).execute(session_id,
                                                 lambda s: d.post_message(s, post))
    assert outcome.state == await whole_fold(fresh_store, session_id)
    assert outcome.state.turn_for_message("after") is not None


@pytest.mark.parametrize("how", ["another shape", "a wrong version", "bytes of nothing"])
async def test_a_snapshot_this_code_did_not_write_is_not_read(store: EventStore,
                                                              how: str) -> None:
    session_id = f"snap-{uuid.uuid4().hex}"
    await grow(handler(store), session_id)
    row = await snapshot_row(store, session_id)
    assert row is not None
    # A state that would be wrong if it were read: the session as it was 30 events earlier.
    wrong = session_snapshot.encode(fold(EVENTS[:row[0] - 30], version=row[0]))
    shape, data = {
        "another shape": ("v0-an-older-state", wrong),
        "a wrong version": (session_snapshot.SHAPE,
                            session_snapshot.encode(fold(EVENTS[:10], version=10))),
        "bytes of nothing": (session_snapshot.SHAPE, b"\xc1 not msgpack"),
    }[how]
    async with store.pool.connection() as conn:
        await conn.execute(
            "UPDATE stream_snapshots SET shape = %s, data = %s WHERE stream_id = %s",
            [shape, data, session_stream(session_id)])
    cold = handler(store)
    assert await cold.load(session_id) == fold(EVENTS, version=len(EVENTS))
    assert reads(cold) == [(0, len(EVENTS))]


async def test_a_cached_state_never_hides_what_another_process_appended(
        store: EventStore) -> None:
    session_id = f"snap-{uuid.uuid4().hex}"
    api, worker = handler(store), handler(store)  # two processes, a cache each
    await grow(api, session_id, long_session(8))  # every turn of it finished
    stale = await api.load(session_id)
    assert stale.active_turn is None
    post = d.PostMessage(session_id=session_id, message_id="m-new", parts=[], robot_id="r",
                         author_id="bob", new_turn_id="t-new")
    await worker.execute(session_id, lambda s: d.post_message(s, post))
    fresh = await api.load(session_id)
    assert fresh.active_turn is not None and fresh.active_turn.turn_id == "t-new"
    assert fresh == await whole_fold(store, session_id)
    assert reads(api)[-1] == (stale.version, 2)  # only what the other process appended
    # Deciding on the stale state the caller still holds: the append is refused, and the
    # decision taken again on the log as it is now refuses the second message.
    other = d.PostMessage(session_id=session_id, message_id="m-other", parts=[],
                          robot_id="r", author_id="alice", new_turn_id="t-other")
    with pytest.raises(d.TurnActive):
        await api.execute(session_id, lambda s: d.post_message(s, other), loaded=stale)


async def test_a_cached_state_ahead_of_the_log_is_dropped(store: EventStore) -> None:
    """As after a database restored from a backup: the process folded more than the log
    now holds. Its first append is refused, and the next decision folds the log."""
    session_id = f"snap-{uuid.uuid4().hex}"
    h = handler(store)
    await grow(h, session_id, EVENTS[:20])
    ahead = fold(EVENTS[20:40], await h.load(session_id), version=40)
    h.states.put(session_stream(session_id), ahead)
    renamed = await h.execute(session_id, lambda _: [SessionStarted(session_id="again")])
    assert renamed.appended is not None and renamed.appended.last_version == 21
    assert renamed.state == await whole_fold(store, session_id)


async def test_the_store_keeps_a_snapshot_only_where_its_append_ends(
        store: EventStore) -> None:
    stream = session_stream(f"snap-{uuid.uuid4().hex}")
    event = [SessionStarted(session_id="s")]
    await store.append(stream, event, 0, snapshot=Snapshot(2, "s1", b"at two"))
    assert await store.read_snapshot(stream, "s1") is None  # the append ended at 1
    await store.append(stream, event, 1, snapshot=Snapshot(2, "s1", b"at two"))
    assert await store.read_snapshot(stream, "s1") == Snapshot(2, "s1", b"at two")
    assert await store.read_snapshot(stream, "s2") is None  # not this reader's shape
    with pytest.raises(ConcurrencyError):
        await store.append(stream, event, 1, snapshot=Snapshot(2, "s1", b"refused"))
    assert await store.read_snapshot(stream, "s1") == Snapshot(2, "s1", b"at two")
    await store.append(stream, event * 2, 2, snapshot=Snapshot(4, "s2", b"at four"))
    assert await store.read_snapshot(stream, "s1") is None
    assert await store.read_snapshot(stream, "s2") == Snapshot(4, "s2", b"at four")
