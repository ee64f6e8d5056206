"""What a decision refuses, as exceptions the API turns into problem documents."""

from __future__ import annotations


class SessionNotFound(Exception):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"no session with id {session_id}")


class SessionExists(Exception):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"a session with id {session_id} already exists")


class SessionGone(Exception):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"session {session_id} was deleted")


class TurnActive(Exception):
    """A turn is running and the request said not to queue or interrupt."""

    def __init__(self, turn_id: str) -> None:
        self.turn_id = turn_id
        super().__init__(f"turn {turn_id} is still active on this session; wait for it,"
                         " cancel it, or post with multitask 'enqueue' or 'interrupt'")


class UnknownTurn(Exception):
    def __init__(self, turn_id: str) -> None:
        super().__init__(f"no turn {turn_id} in this session")


class UnknownMessage(Exception):
    def __init__(self, message_id: str) -> None:
        super().__init__(f"no message {message_id} in this session")


class StaleAttempt(Exception):
    """A worker recording for an attempt that is no longer the turn's current one."""


class TurnWaiting(Exception):
    """A new message while the active turn waits on answers (multitask 'reject')."""

    def __init__(self, turn_id: str, call_ids: list[str]) -> None:
        self.turn_id = turn_id
        self.call_ids = call_ids
        super().__init__(f"turn {turn_id} waits on answers to tool calls {', '.join(call_ids)};"
                         " answer them, or post with multitask 'interrupt' to deny them")


class NotWaiting(Exception):
    """An answer to calls the turn does not wait on (answered before, or never awaited)."""

    def __init__(self, turn_id: str, call_ids: list[str], why: str) -> None:
        self.turn_id = turn_id
        self.call_ids = call_ids
        super().__init__(f"tool calls {', '.join(call_ids)} of turn {turn_id} do not wait on"
                         f" an answer: {why}" if call_ids else f"turn {turn_id}: {why}")


class PartlyAnswered(Exception):
    """Some of the awaited calls are left unanswered: the turn goes on only with all."""

    def __init__(self, turn_id: str, still_waiting: list[str]) -> None:
        self.turn_id = turn_id
        self.still_waiting = still_waiting
        super().__init__(f"turn {turn_id} still waits on tool calls {', '.join(still_waiting)};"
                         " answer every awaited call in one message")


class MessageIdTaken(Exception):
    """A message id posted again with other content, or the id of another kind of message:
    ids are the client's and name one message each, so this is no retry."""

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        super().__init__(f"message id {message_id} is taken by another message in this"
                         " session; give each message its own id (posting the same message"
                         " again with the same content attaches to its turn)")


class NotLatestAnswer(Exception):
    """A regenerate of an answer that later messages build on."""

    def __init__(self, message_id: str, latest_message_id: str | None) -> None:
        self.message_id = message_id
        self.latest_message_id = latest_message_id
        super().__init__(f"message {message_id} is not this session's latest exchange; only"
                         " the latest answer can be regenerated: fork the session at"
                         f" {message_id} (POST /robots/sessions/{{id}}/fork) to answer it again")
