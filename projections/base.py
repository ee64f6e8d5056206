"""What a projection is: a named read model built from some event types."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import psycopg

from app.eventstore import RecordedEvent

Conn = psycopg.AsyncConnection[Any]


class Projection(Protocol):
    # The checkpoint's key; also the name `robots rebuild NAME` takes.
    name: str
    # The tables it owns: emptied on rebuild, written by nobody else.
    tables: tuple[str, ...]

    async def apply(self, conn: Conn, events: Sequence[RecordedEvent]) -> None:
        """Write the rows these events imply, on `conn`, inside the caller's transaction.

        Handlers must be idempotent (replaying an event changes nothing) and must ignore
        event types they do not handle.
        """
        ...
