"""What a prompt makes of each stored message, made once per message, not once per turn.

A worker keeps each session's folded state between turns (app/services/session_states.py),
and the same Message objects stay in it from fold to fold, so what a prompt makes of them can
be kept beside them: a turn in a 1,000-exchange session then converts only its newest
messages instead of all 2,000. A value lives as long as its message.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

from app.domain.session import Message

T = TypeVar("T")


class PerMessage(Generic[T]):
    """Values kept for as long as their message object lives, made by `build(message)`
    when asked for one not kept. What it keeps is shared by every caller: never change it."""

    def __init__(self, build: Callable[[Message], T] | None = None) -> None:
        self._build = build
        self._kept: dict[int, tuple[weakref.ref[Message], T]] = {}

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, message: Message) -> T | None:
        kept = self._kept.get(id(message))
        return kept[1] if kept is not None and kept[0]() is message else None

    def put(self, message: Message, value: T) -> None:
        key = id(message)
        # The message's id is free for another object only once it is gone, and by then
        # its entry is too.
        self._kept[key] = (weakref.ref(message, lambda _: self._kept.pop(key, None)), value)

    def __call__(self, message: Message) -> T:
        kept = self._kept.get(id(message))
        if kept is not None and kept[0]() is message:
            return kept[1]
        assert self._build is not None, "a PerMessage without `build` is read with get()"
        value = self._build(message)
        self.put(message, value)
        return value
