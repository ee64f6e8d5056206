"""What a prompt makes of a stored message is made once while that message lives."""

from __future__ import annotations

import gc

from app.domain.session import Message
from workers.turns.per_message import PerMessage


def message(text: str) -> Message:
    return Message(id="m1", role="user", parts=[{"type": "text", "text": text}])


def test_a_message_is_converted_once_while_it_lives_and_forgotten_with_it() -> None:
    made: list[str] = []

    def build(m: Message) -> str:
        made.append(m.parts[0]["text"])
        return m.parts[0]["text"].upper()

    per_message = PerMessage(build)
    first = message("hello")
    assert per_message(first) == per_message(first) == "HELLO"
    assert made == ["hello"]
    # An equal message that is another object (a state folded anew) is converted anew.
    assert per_message(message("hello")) == "HELLO"
    assert made == ["hello", "hello"]
    del first
    gc.collect()
    assert len(per_message) == 0
    assert per_message(message("bye")) == "BYE"
