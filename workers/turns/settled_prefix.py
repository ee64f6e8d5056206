"""A conversation's settled start, walked once per process instead of once per turn.

Turning a session's messages into a prompt's conversation (workers/turns/prompt.py) walks
every message: ~2,000 of them in a 1,000-exchange session, some 3-5 ms of a worker's time to
first token (bench/sessions) even with each message's conversion kept (per_message.py).
But the start of a conversation no longer changes once its turns are finished: a finished
turn's question and reply are final, and later events only append. So the walk is kept,
per session, up to the end of its leading finished turns (the "settled prefix"), and each
turn walks only what came after it. The result is the same list, walked or not: the prefix
and the rest are each walked by the same function, on a state holding just their messages
and turns, which is exact because the prefix holds every question and reply of its turns
and nothing of the others. That function must read only `messages` and `turns`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, NamedTuple, TypeVar

from app.domain.session import Message, SessionState
from workers.turns.per_message import PerMessage

E = TypeVar("E")
# (state, until, settled) -> entries: the plain walk of workers/turns/prompt.py.
Walk = Callable[[SessionState, "str | None", bool], list[E]]


class _Prefix(NamedTuple, Generic[E]):
    messages: int  # the prefix is state.messages[:messages] ...
    last: Message | None  # ... ending with this message object
    turns: int  # and state.turns[:turns], all finished
    last_turn: str | None  # the turn id at turns - 1
    entries: tuple[E, ...]  # what the walk makes of it

    def holds(self, state: SessionState) -> bool:
        """Whether `state` starts as the state it was walked on did. Folding only appends
        messages (or moves one replaced to the end, which shifts all after it), so the
        object at its end being the same one says the whole prefix is."""
        return (len(state.messages) >= self.messages and len(state.turns) >= self.turns
                and (not self.messages or state.messages[self.messages - 1] is self.last)
                and (not self.turns or state.turns[self.turns - 1].turn_id == self.last_turn))


class SettledPrefixes(Generic[E]):
    """`walk`, with the settled prefix of each session's conversation kept (keyed by the
    session's first message object: it lives as long as the session's state does)."""

    def __init__(self, walk: Walk[E]) -> None:
        self._walk = walk
        self._kept: PerMessage[_Prefix[E]] = PerMessage()

    def conversation(self, state: SessionState, until: str | None, settled: bool) -> list[E]:
        asked = state.turn_for_message(until) if until is not None else None
        if not state.messages or (until is not None and (asked is None or asked.finished)):
            return self._walk(state, until, settled)  # `until` may lie in the prefix
        first = state.messages[0]
        kept = self._kept.get(first)
        prefix = self._extend(state, kept if kept is not None and kept.holds(state)
                              else _Prefix(0, None, 0, None, ()))
        if prefix is not kept:
            self._kept.put(first, prefix)
        rest = SessionState(messages=state.messages[prefix.messages:],
                            turns=state.turns[prefix.turns:])
        return [*prefix.entries, *self._walk(rest, until, settled)]

    def _extend(self, state: SessionState, prefix: _Prefix[E]) -> _Prefix[E]:
        """The prefix grown over the turns finished since, if their questions and replies
        come before any question of a turn still open; else as it was."""
        turns, messages = state.turns, state.messages
        done = prefix.turns
        while done < len(turns) and turns[done].finished:
            done += 1
        if done == prefix.turns:
            return prefix
        settled_turns = {t.turn_id for t in turns[prefix.turns:done]}
        questions = {t.message_id for t in turns[prefix.turns:done]}
        open_questions = {t.message_id for t in turns[done:]}
        end, first_open = prefix.messages, len(messages)
        found: set[str] = set()
        for at in range(prefix.messages, len(messages)):
            message = messages[at]
            if message.role == "assistant":
                if message.turn_id in settled_turns:
                    end = at + 1
            elif message.id in questions:
                end = at + 1
                found.add(message.id)
            elif message.id in open_questions:
                first_open = min(first_open, at)
        if found != questions or first_open < end:
            return prefix  # a question still open comes first: wait until it is settled
        walked = self._walk(SessionState(messages=messages[prefix.messages:end],
                                         turns=turns[prefix.turns:done]), None, False)
        return _Prefix(end, messages[end - 1], done, turns[done - 1].turn_id,
                       (*prefix.entries, *walked))
