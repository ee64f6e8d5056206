"""Folding a long session: in pieces, from a snapshot, or at once, the state is the same; and
a snapshot is read only by the shape of state that wrote it. No database."""

from __future__ import annotations

import inspect

import msgspec
import pytest

from app.domain import events as event_types
from app.domain import session_snapshot as snapshots
from app.domain.events import (
    MessagePosted,
    SessionStarted,
    TurnCompleted,
    TurnRequested,
    TurnStarted,
)
from app.domain.session import FOLD_VERSION, SessionState, evolve, fold
from app.eventstore import Event
from tests.domain.long_session import long_session

EVENTS = long_session(120, deleted=True)
WHOLE = fold(EVENTS, version=len(EVENTS))


def in_two(at: int) -> SessionState:
    """Given the first `at` events folded (and kept), when the rest are folded onto them."""
    head = fold(EVENTS[:at], version=at)
    return fold(EVENTS[at:], head, version=len(EVENTS))


def scanned_lookups(state: SessionState) -> list[object]:
    """What the lookups answer, found the slow way: by a scan of the tuples."""
    turn_ids = [t.turn_id for t in state.turns] + ["no-such-turn"]
    message_ids = [m.id for m in state.messages] + ["no-such-message"]
    return [
        [next((t for t in state.turns if t.turn_id == i), None) for i in turn_ids],
        [next((t for t in state.turns if t.message_id == i), None) for i in message_ids],
        [next((m for m in state.messages if m.id == i), None) for i in message_ids],
        next((t for t in state.turns if not t.finished), None),
    ]


def lookups(state: SessionState) -> list[object]:
    turn_ids = [t.turn_id for t in state.turns] + ["no-such-turn"]
    message_ids = [m.id for m in state.messages] + ["no-such-message"]
    return [[state.turn(i) for i in turn_ids],
            [state.turn_for_message(i) for i in message_ids],
            [state.message(i) for i in message_ids],
            state.active_turn]


def test_the_long_session_holds_every_kind_of_event() -> None:
    # A new event must be in tests/domain/long_session.py: the snapshot tests fold it.
    every = {cls for _, cls in inspect.getmembers(event_types, inspect.isclass)
             if issubclass(cls, Event) and cls is not Event}
    assert {type(e) for e in long_session(10, deleted=True)} == every


@pytest.mark.parametrize("at", [0, 1, 3, 57, 200, 401, len(EVENTS) - 1, len(EVENTS)])
def test_folding_in_two_pieces_equals_folding_at_once(at: int) -> None:
    state = in_two(at)
    assert state == WHOLE
    assert lookups(state) == lookups(WHOLE) == scanned_lookups(WHOLE)


@pytest.mark.parametrize("at", [1, 3, 57, 200, 401, len(EVENTS)])
def test_a_snapshot_plus_the_events_after_it_equals_the_full_fold(at: int) -> None:
    data = snapshots.encode(fold(EVENTS[:at], version=at))
    assert data is not None
    restored = snapshots.decode(data)
    assert restored is not None and restored.version == at
    state = fold(EVENTS[at:], restored, version=len(EVENTS))
    assert state == WHOLE
    assert lookups(state) == scanned_lookups(WHOLE)


def test_a_state_folded_one_event_at_a_time_answers_every_lookup_as_a_scan_would() -> None:
    state = SessionState()
    for n, event in enumerate(long_session(30, seed=3)):
        state = evolve(state, event)
        assert lookups(state) == scanned_lookups(state), f"after event {n}: {event}"


def test_folding_onto_a_state_leaves_that_state_as_it_was() -> None:
    head = fold(EVENTS[:300], version=300)
    before = (snapshots.encode(head), lookups(head))
    fold(EVENTS[300:], head, version=len(EVENTS))
    assert (snapshots.encode(head), lookups(head)) == before
    assert head.turn(WHOLE.turns[-1].turn_id) is None


def test_folding_nothing_keeps_the_state() -> None:
    assert fold([], WHOLE) is WHOLE
    assert fold([], WHOLE, version=WHOLE.version + 1).version == WHOLE.version + 1


def active_after(*finished: str) -> str | None:
    """Given three queued turns, when these finish (in this order), the active one."""
    state = fold([SessionStarted(session_id="s")] + [
        e for n in (1, 2, 3) for e in (
            MessagePosted(session_id="s", message_id=f"m{n}", parts=[]),
            TurnRequested(session_id="s", turn_id=f"t{n}", message_id=f"m{n}", robot_id="r"))])
    for turn_id in finished:
        state = fold([TurnCompleted(turn_id=turn_id, attempt=1, finish_reason="stop")], state)
    return state.active_turn.turn_id if state.active_turn is not None else None


def test_the_active_turn_is_the_earliest_one_not_finished() -> None:
    assert active_after() == "t1"
    assert active_after("t1") == "t2"
    assert active_after("t2") == "t1"
    assert active_after("t2", "t1") == "t3"
    assert active_after("t1", "t3") == "t2"
    assert active_after("t1", "t3", "t2") is None


def test_a_finished_turn_the_log_starts_again_is_active_again() -> None:
    # Deciders never write this; the fold still follows the log, as a scan of it would.
    state = fold([SessionStarted(session_id="s"),
                  MessagePosted(session_id="s", message_id="m1", parts=[]),
                  TurnRequested(session_id="s", turn_id="t1", message_id="m1", robot_id="r"),
                  TurnCompleted(turn_id="t1", attempt=1, finish_reason="stop")])
    assert state.active_turn is None
    state = fold([TurnStarted(turn_id="t1", attempt=2, worker_id="w", robot_id="r",
                              robot_name="R", model="m", playbook_digest="x")], state)
    assert state.active_turn is not None and state.active_turn.status == "running"


def test_the_snapshot_shape_changes_with_the_fold_version_and_with_the_state() -> None:
    class WithOneMoreField(SessionState, frozen=True, kw_only=True):
        pinned_message_id: str | None = None

    assert snapshots.SHAPE == snapshots.shape_of(SessionState, FOLD_VERSION)
    assert snapshots.shape_of(SessionState, FOLD_VERSION + 1) != snapshots.SHAPE
    assert snapshots.shape_of(WithOneMoreField, FOLD_VERSION) != snapshots.SHAPE


def test_bytes_that_are_no_state_decode_to_nothing() -> None:
    assert snapshots.decode(b"\x93not a state") is None
    assert snapshots.decode(msgspec.msgpack.encode({"turns": "many"})) is None
