"""Errors the event store raises; the HTTP layer maps them to problem documents."""

from __future__ import annotations


class ConcurrencyError(Exception):
    """The stream was not at the expected version: someone else appended first."""

    def __init__(self, stream_id: str, expected: int | None, actual: int) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, not the expected {expected}"
        )


class DuplicateEventId(Exception):
    """Some event ids of an append were stored before, but not as this same append."""

    def __init__(self, stream_id: str, event_ids: list[str]) -> None:
        self.stream_id = stream_id
        self.event_ids = event_ids
        super().__init__(
            f"event ids {', '.join(event_ids)} were already stored; "
            f"the append to {stream_id!r} is not a retry of the same events"
        )


class UnknownEventType(Exception):
    """The log holds an event type this code does not know (an older build reading newer data?)."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name
        super().__init__(f"unknown event type {type_name!r} in the event log")
