"""Reading the messages read model (written by projections/messages.py): a session's
messages, a page at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from app.domain.accounts import Account, Role
from app.eventstore.store import Conn


class MessageRow(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    role: str
    parts: list[dict[str, Any]]
    robot_id: str | None
    robot_name: str | None
    created_at: datetime
    author: Account | None
    author_joined: datetime | None
    metadata: dict[str, Any] | None = None  # an answer's (app/domain/answer_metadata.py)


class UnknownCursor(Exception):
    def __init__(self, before: str) -> None:
        super().__init__(f"before={before!r} is not a message of this session")


_PAGE = """
SELECT m.id, m.role, m.parts, m.robot_id, m.robot_name, m.created_at,
       a.id, a.handle, a.name, a.roles, a.created_at, m.metadata
FROM messages m LEFT JOIN accounts a ON a.id = m.author_id
WHERE m.session_id = %s AND m.position < %s
ORDER BY m.position DESC
LIMIT %s
"""


async def page_messages(conn: Conn, session_id: str, *, before: str | None,
                        limit: int) -> tuple[list[MessageRow], str | None, int]:
    """The newest `limit` messages older than `before`, in chronological order; the cursor
    for the page before them (None at the start of history); the session's message count."""
    upper = 2**62
    if before is not None:
        cur = await conn.execute(
            "SELECT position FROM messages WHERE session_id = %s AND id = %s",
            [session_id, before])
        found = await cur.fetchone()
        if found is None:
            raise UnknownCursor(before)
        upper = found[0]
    rows = await (await conn.execute(_PAGE, [session_id, upper, limit + 1])).fetchall()
    older = len(rows) > limit
    page = [_message(r) for r in rows[:limit]]
    page.reverse()
    count = await (await conn.execute(
        "SELECT count(*) FROM messages WHERE session_id = %s", [session_id])).fetchone()
    return page, (page[0].id if older and page else None), int(count[0]) if count else 0


def _message(r: Any) -> MessageRow:
    author = None
    if r[6] is not None:
        author = Account(id=r[6], handle=r[7], name=r[8], roles=tuple(Role(x) for x in r[9]))
    return MessageRow(id=r[0], role=r[1], parts=r[2], robot_id=r[3], robot_name=r[4],
                      created_at=r[5], author=author, author_joined=r[10], metadata=r[11])
