"""The append-only event log in PostgreSQL: the source of truth."""

from app.eventstore.codec import Event, EventRegistry
from app.eventstore.errors import ConcurrencyError, UnknownEventType
from app.eventstore.store import (
    AppendResult,
    Checkpoint,
    EventMetadata,
    EventStore,
    LogBatch,
    RecordedEvent,
    Snapshot,
)

__all__ = [
    "AppendResult",
    "Checkpoint",
    "ConcurrencyError",
    "Event",
    "EventMetadata",
    "EventRegistry",
    "EventStore",
    "LogBatch",
    "RecordedEvent",
    "Snapshot",
    "UnknownEventType",
]
