"""A long conversation's settled start is walked once and kept; what a prompt gets is the
same as walking every message, at every point of a session of every kind of turn."""

from __future__ import annotations

from app.domain import session_snapshot
from app.domain.session import SessionState, evolve
from tests.domain.long_session import long_session
from workers.turns import prompt
from workers.turns.prompt import Entry


def walked(state: SessionState, until: str | None, settled: bool) -> list[Entry]:
    """What the conversation is, walked message by message with nothing kept."""
    return prompt._walk(state, until, settled)


def asked_now(state: SessionState) -> list[str | None]:
    """Whose conversation a prompt asks for: every open turn's question, a finished one's,
    and the whole of it."""
    questions: list[str | None] = [t.message_id for t in state.turns if not t.finished]
    return [*questions, *(t.message_id for t in state.turns[-2:]), None]


def test_the_kept_prefix_and_the_rest_make_the_conversation_a_walk_makes() -> None:
    state = SessionState()
    for n, event in enumerate(long_session(60, seed=7)):
        state = evolve(state, event)
        for until in asked_now(state):
            for settled in (False, True):
                assert prompt.conversation(state, until, settled=settled) == walked(
                    state, until, settled), f"after event {n}, until {until}, {settled}"


def test_a_state_read_from_a_snapshot_gets_the_same_conversation() -> None:
    events = long_session(40, seed=9)
    state = SessionState()
    for event in events[:-40]:
        state = evolve(state, event)
    prompt.conversation(state, None)  # its prefix is kept
    data = session_snapshot.encode(state)
    assert data is not None
    restored = session_snapshot.decode(data)
    assert restored is not None
    for event in events[-40:]:
        state, restored = evolve(state, event), evolve(restored, event)
        for until in asked_now(state):
            assert prompt.conversation(restored, until) == prompt.conversation(
                state, until) == walked(state, until, False)


def test_a_long_settled_session_is_walked_once() -> None:
    state = SessionState()
    events = long_session(80, seed=11)
    for event in events:
        state = evolve(state, event)
    walks: list[int] = []
    real_walk = prompt._settled_prefixes._walk

    def counting(state: SessionState, until: str | None, settled: bool) -> list[Entry]:
        walks.append(len(state.messages))
        return real_walk(state, until, settled)

    prompt._settled_prefixes._walk = counting
    try:
        prompt.conversation(state, None)
        walks.clear()
        prompt.conversation(state, None)
    finally:
        prompt._settled_prefixes._walk = real_walk
    assert len(state.messages) > 150
    assert walks == [0]  # only what follows the settled prefix: nothing
