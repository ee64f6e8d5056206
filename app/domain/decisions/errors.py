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
