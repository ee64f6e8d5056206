"""The folded session states a process keeps between decisions, and when to snapshot one.

A load starts from the newest of: this process's cached state of the session, its snapshot
row (written every `snapshot_every` events), or nothing; and folds only the events after it.
The cache is never trusted as the latest: every load reads the events after the cached
version (one query, usually empty or a few events another process appended), and an append
is still checked against the expected version, so a stale entry costs a short read, never
a wrong decision.
"""

from __future__ import annotations

from collections import OrderedDict

from app.domain.session import SessionState

# Sessions a process keeps folded, least recently used out first. A state holds every
# message of its session (a 1,000-exchange chat of short messages is a few MB in Python),
# so the bound is on the count of sessions, which in practice few are live at once.
DEFAULT_SIZE = 256
# A snapshot row every this many events (about 20 exchanges; ~2 ms to read and fold on a
# cold load), more apart as the session grows (see `snapshot_due`).
DEFAULT_SNAPSHOT_EVERY = 100
# A snapshot holds the whole session (460 KB at 1,000 exchanges, ~5 ms more on the append
# that carries it): past this many intervals, the interval doubles, so a session's
# snapshots cost O(1) per event over its life, and a cold load still reads at most 1/20
# of it after the snapshot.
_INTERVALS_BEFORE_DOUBLING = 20


class SessionStates:
    """A per-process LRU of folded states by stream, newest version wins."""

    def __init__(self, size: int = DEFAULT_SIZE,
                 snapshot_every: int = DEFAULT_SNAPSHOT_EVERY) -> None:
        self.size = size
        self.snapshot_every = snapshot_every
        self._states: OrderedDict[str, SessionState] = OrderedDict()

    def __len__(self) -> int:
        return len(self._states)

    def get(self, stream_id: str) -> SessionState | None:
        state = self._states.get(stream_id)
        if state is not None:
            self._states.move_to_end(stream_id)
        return state

    def put(self, stream_id: str, state: SessionState) -> None:
        """Keep `state` unless a newer one is kept already (loads run side by side)."""
        if self.size <= 0:
            return
        kept = self._states.get(stream_id)
        if kept is None or kept.version <= state.version:
            self._states[stream_id] = state
        self._states.move_to_end(stream_id)
        while len(self._states) > self.size:
            self._states.popitem(last=False)

    def forget(self, stream_id: str) -> None:
        self._states.pop(stream_id, None)

    def snapshot_due(self, before: int, after: int) -> bool:
        """Whether an append from version `before` to `after` crosses a snapshot point: a
        multiple of the interval at `after` (every process agrees on where they are)."""
        every = self.snapshot_every
        if every <= 0:
            return False
        while every * _INTERVALS_BEFORE_DOUBLING <= after:
            every *= 2
        return before // every < after // every
