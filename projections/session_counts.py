"""Live-session counts (`session_counts`): moved by the sessions projection, read by the listing.

A row counts the live sessions one listing filter matches (see
migrations/0010_session_counts_and_listing_indexes.sql): `{}`, `{"account": id}` or
`{"metadata": {key: scalar}}`. The projection moves them inside the very statement that writes
the rows, from what that statement changed, so a replayed batch (which changes no row) moves
no count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncCursor

from projections.base import Conn

# What a counted write of `sessions` returns: a row's counted columns before and after it.
INSERTED = "NULL::uuid, NULL::jsonb, false, created_by, metadata, deleted_at IS NULL"
UPDATED = ("o.created_by, o.metadata, o.deleted_at IS NULL,"
           " s.created_by, s.metadata, s.deleted_at IS NULL")

# The filters a live session with `created_by` and `metadata` is counted under.
_FILTERS = """
    SELECT '{}'::jsonb
    UNION ALL SELECT jsonb_build_object('account', m.created_by) WHERE m.created_by IS NOT NULL
    UNION ALL SELECT jsonb_build_object('metadata', jsonb_build_object(e.key, e.value))
        FROM jsonb_each(m.metadata) e WHERE jsonb_typeof(e.value) NOT IN ('object', 'array')
"""


def counted(write: str) -> str:
    """`write` (an INSERT or UPDATE of sessions RETURNING INSERTED or UPDATED) with the counts
    moving in the same statement. It returns the filters whose count fell to zero."""
    return f"""
WITH written (old_by, old_metadata, old_live, created_by, metadata, live) AS ({write}),
moved (sign, created_by, metadata) AS (
    SELECT -1, old_by, old_metadata FROM written WHERE old_live
    UNION ALL SELECT 1, created_by, metadata FROM written WHERE live
),
upserted AS (
    INSERT INTO session_counts (filter, n)
    SELECT f.filter, sum(m.sign) FROM moved m CROSS JOIN LATERAL ({_FILTERS}) AS f(filter)
    GROUP BY f.filter HAVING sum(m.sign) <> 0
    ON CONFLICT (filter) DO UPDATE SET n = session_counts.n + excluded.n
    RETURNING filter, n
)
SELECT filter::text FROM upserted WHERE n = 0
"""


async def drop_zero_counts(conn: Conn, cursors: Sequence[AsyncCursor[Any]]) -> None:
    """Delete the counts the `counted` statements behind `cursors` brought to zero (a later
    statement of the batch may have raised one again: only zeros go)."""
    zeros = [row[0] for cur in cursors for row in await cur.fetchall()]
    if zeros:
        await conn.execute("DELETE FROM session_counts WHERE filter = ANY(%s::text[]::jsonb[])"
                           " AND n = 0", [zeros])
