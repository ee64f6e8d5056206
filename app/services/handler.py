"""The one thin handler: load a session stream, fold it, decide, append, retry on conflict,
then run what follows the commit (app/services/reactions.py)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import msgspec

from app.domain.events import session_stream
from app.domain.session import SessionState, fold
from app.eventstore import AppendResult, ConcurrencyError, Event, EventMetadata, EventStore
from app.eventstore.store import Conn

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
    def __init__(self, store: EventStore, after_commit: AfterCommit = _nothing) -> None:
        self.store = store
        self.after_commit = after_commit

    async def load(self, session_id: str, *, up_to_version: int | None = None) -> SessionState:
        records = await self.store.read_stream(session_stream(session_id),
                                               up_to_version=up_to_version)
        state = fold([r.event for r in records])
        version = records[-1].stream_version if records else 0
        return msgspec.structs.replace(state, version=version)

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
            try:
                appended = await self._append(session_id, events, state.version, metadata,
                                              alongside)
            except ConcurrencyError:
                log.debug("session %s changed while deciding; deciding again", session_id)
                continue
            after = msgspec.structs.replace(fold(events, state), version=appended.last_version)
            outcome = Outcome(session_id=session_id, state=after, appended=appended,
                              events=events)
            await self.after_commit(outcome)
            return outcome
        raise ConcurrencyError(session_stream(session_id), None, -1)

    async def _append(self, session_id: str, events: list[Event], version: int,
                      metadata: EventMetadata | None,
                      alongside: AlongSide | None) -> AppendResult:
        stream = session_stream(session_id)
        if alongside is None:
            return await self.store.append(stream, events, version, metadata=metadata)
        async with self.store.pool.connection() as conn, conn.transaction():
            appended = await self.store.append(stream, events, version, metadata=metadata,
                                               conn=conn)
            await alongside(conn, events)
            return appended


__all__ = ["AfterCommit", "Outcome", "SessionHandler"]
