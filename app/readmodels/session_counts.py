"""Reading live-session counts (moved by the sessions projection, see
projections/session_counts.py): which count answers a listing, and its value."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from app.eventstore.store import Conn


def count_filter(account_id: uuid.UUID | None, metadata: dict[str, Any]) -> str | None:
    """The counted filter that answers this listing's total (as JSON), or None when no count
    does (an account with metadata, several metadata keys, a value that is no scalar)."""
    if not metadata:
        return _json({} if account_id is None else {"account": str(account_id)})
    if account_id is None and len(metadata) == 1:
        value = next(iter(metadata.values()))
        if value is None or isinstance(value, str | int | float | bool):
            return _json({"metadata": metadata})
    return None


# The count of a filter, as a one-row relation (zero when no row holds it).
COUNT_SQL = "SELECT coalesce((SELECT n FROM session_counts WHERE filter = %s::jsonb), 0)"


async def read_count(conn: Conn, filter_json: str) -> int:
    row = await (await conn.execute(COUNT_SQL, [filter_json])).fetchone()
    return int(row[0]) if row else 0


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()
