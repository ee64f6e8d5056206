"""The one thin handler: load a session stream, fold it, decide, append, retry on conflict,
then run what follows the commit (app/services/reactions.py).

A load folds only what it has not folded before: it starts from this process's cached state
of the session or from the stream's snapshot row, and reads the events after it
(app/services/session_states.py). An append that crosses a snapshot point writes the new
state's snapshot in the same statement as its events.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import msgspec

from app.domain import session_snapshot
from app.domain.events import session_stream
from app.domain.session import SessionState, fold
from app.eventstore import (
    AppendResult,
    ConcurrencyError,
    Event,
    EventMetadata,
    EventStore,
    Snapshot,
)
from app.eventstore.store import Conn
from app.services.session_states import SessionStates

log = logging.getLogger(__name__)

Decide = Callable[[SessionState], list[Event]]
# Runs in the append's transaction: for rows that must commit with the events (a lease).
AlongSide = Callable[[Conn, list[Event]], Awaitable[None]]

_ATTEMPTS = 8


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    state: SessionState  # after the new events
    appended: AppendResult | None  # None: the decision was to append nothing
    events: list[Event]


# What follows a commit; the handler calls it once per append, after the commit.
AfterCommit = Callable[[Outcome], Awaitable[None]]


async def _nothing(_: Outcome) -> None:
    return None


class SessionHandler:
    def __init__(self, store: EventStore, after_commit: AfterCommit = _nothing, *,
                 states: SessionStates | None = None) -> None:
        self.store = store
        self.after_commit = after_commit
        # Handlers of one process may share theirs (`robots dev`: the API's and the worker's).
        self.states = states if states is not None else SessionStates()

    async def load(self, session_id: str, *, up_to_version: int | None = None) -> SessionState:
        """The session as the log has it now (or at `up_to_version`): the cached or
        snapshotted state, and the events after it."""
        stream = session_stream(session_id)
        base = self.states.get(stream)
        if base is None and up_to_version is None:
            base = await self._snapshot(stream)
        if base is not None and up_to_version is not None and base.version > up_to_version:
            base = None
        after = base.version if base is not None else 0
        records = await self.store.read_stream(stream, after, up_to_version=up_to_version)
        state = fold([r.event for r in records], base,
                     version=records[-1].stream_version if records else after)
        self.states.put(stream, state)
        return state

    async def _snapshot(self, stream: str) -> SessionState | None:
        found = await self.store.read_snapshot(stream, session_snapshot.SHAPE)
        if found is None:
            return None
        state = session_snapshot.decode(found.data)
        # The row's version says where its events end; a state saying otherwise is not one
        # this code wrote, and is not read.
        return state if state is not None and state.version == found.version else None

    async def execute(self, session_id: str, decide: Decide, *,
                      metadata: EventMetadata | None = None,
                      alongside: AlongSide | None = None,
                      loaded: SessionState | None = None) -> Outcome:
        """Decide on fresh state and append; on a concurrent change, decide again. What the
        decider raises reaches the caller. After the commit, the reactions run.

        `loaded`: a state the caller has just read, used for the first attempt (saves a
        read on the hot path; a stale one only costs a retry, never a wrong append).
        """
        for attempt in range(_ATTEMPTS):
            state = loaded if attempt == 0 and loaded is not None else await self.load(
                session_id)
            events = decide(state)
            if not events:
                return Outcome(session_id=session_id, state=state, appended=None, events=[])
            after = fold(events, state, version=state.version + len(events))
            try:
                appended = await self._append(session_id, events, state.version, metadata,
                                              alongside, self._snapshot_of(state, after))
            except ConcurrencyError as exc:
                log.debug("session %s changed while deciding; deciding again", session_id)
                if exc.actual < state.version:  # the log is behind what we folded (restored)
                    self.states.forget(session_stream(session_id))
                continue
            if appended.last_version == after.version and not appended.was_retry:
                self.states.put(session_stream(session_id), after)
            else:  # not where the decision put them: the log, not this fold, says what is
                after = await self.load(session_id)
            outcome = Outcome(session_id=session_id, state=after, appended=appended,
                              events=events)
            await self.after_commit(outcome)
            return outcome
        raise ConcurrencyError(session_stream(session_id), None, -1)

    def _snapshot_of(self, before: SessionState, after: SessionState) -> Snapshot | None:
        if not self.states.snapshot_due(before.version, after.version):
            return None
        data = session_snapshot.encode(after)
        return Snapshot(after.version, session_snapshot.SHAPE, data) if data else None

    async def _append(self, session_id: str, events: list[Event], version: int,
                      metadata: EventMetadata | None, alongside: AlongSide | None,
                      snapshot: Snapshot | None) -> AppendResult:
        stream = session_stream(session_id)
        if alongside is None:
            return await self.store.append(stream, events, version, metadata=metadata,
                                           snapshot=snapshot)
        async with self.store.pool.connection() as conn, conn.transaction():
            appended = await self.store.append(stream, events, version, metadata=metadata,
                                               conn=conn, snapshot=snapshot)
            await alongside(conn, events)
            return appended


__all__ = ["AfterCommit", "Outcome", "SessionHandler"]
