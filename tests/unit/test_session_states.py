"""The per-process cache of folded sessions: bounded by count, least recently used out first,
never trading a newer state for an older one; and when an append writes a snapshot."""

from __future__ import annotations

from itertools import pairwise

from app.domain.session import SessionState
from app.services.session_states import SessionStates


def at(version: int) -> SessionState:
    return SessionState(version=version)


def test_the_cache_keeps_at_most_its_size_dropping_the_least_recently_used() -> None:
    states = SessionStates(size=2)
    states.put("a", at(1))
    states.put("b", at(1))
    assert states.get("a") == at(1)  # now "b" is the least recently used
    states.put("c", at(1))
    assert len(states) == 2
    assert states.get("b") is None
    assert states.get("a") == states.get("c") == at(1)


def test_a_load_that_finishes_late_never_replaces_a_newer_state() -> None:
    states = SessionStates()
    states.put("a", at(7))
    states.put("a", at(5))
    assert states.get("a") == at(7)
    states.put("a", at(9))
    assert states.get("a") == at(9)


def test_a_cache_of_size_zero_keeps_nothing() -> None:
    states = SessionStates(size=0)
    states.put("a", at(1))
    assert states.get("a") is None and len(states) == 0


def test_a_snapshot_is_due_when_an_append_crosses_a_multiple_of_the_interval() -> None:
    states = SessionStates(snapshot_every=100)
    assert not states.snapshot_due(0, 99)
    assert states.snapshot_due(98, 100)
    assert states.snapshot_due(99, 103)
    assert not states.snapshot_due(100, 199)
    assert not SessionStates(snapshot_every=0).snapshot_due(0, 1000)


def test_snapshots_come_further_apart_as_a_session_grows() -> None:
    states = SessionStates(snapshot_every=100)
    due = [v for v in range(1, 10_001) if states.snapshot_due(v - 1, v)]
    assert due[:20] == list(range(100, 2001, 100))
    assert due[19:30] == list(range(2000, 4001, 200))
    assert due[-5:] == [7200, 7600, 8000, 8800, 9600]
    # A cold load folds at most a tenth of the session after its snapshot.
    assert all(b - a <= max(100, a // 10) for a, b in pairwise(due))
