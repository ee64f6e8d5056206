"""Listing live sessions: a page in the listing's order, and how many the listing holds.

A page is read in two steps inside one statement: the page's ids alone, from an index in the
listing's order (an index-only scan however deep the offset), then those rows whole with their
creators. The total comes from session_counts where a count answers the filter, else from
count(*) in that same statement. With an exact count, a page past the middle is read from the
far end, backwards: the offset to skip is then the shorter one.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal, NamedTuple

import msgspec

from app.eventstore.store import Conn
from app.readmodels.session_counts import COUNT_SQL, count_filter, read_count
from app.readmodels.sessions import SESSION_COLUMNS, SessionRow, session_row

_FLIPPED = {"asc": "desc", "desc": "asc"}


class ListQuery(msgspec.Struct, frozen=True, kw_only=True):
    limit: int
    offset: int = 0
    sort_by: Literal["created_at", "updated_at"] = "created_at"
    direction: Literal["asc", "desc"] = "desc"
    account_id: uuid.UUID | None = None
    metadata: dict[str, Any] = {}  # every key must match (JSON containment)


async def list_sessions(conn: Conn, query: ListQuery) -> tuple[list[SessionRow], int]:
    """A page of live sessions and the total count of the listing, as of one snapshot."""
    rows, total = await _listing(conn, query, count=True)
    assert total is not None
    return rows, total


async def page_sessions(conn: Conn, query: ListQuery) -> list[SessionRow]:
    """A page of live sessions without the listing's total, for callers that show none
    (where no count answers the filter, this spares a count(*))."""
    rows, _ = await _listing(conn, query, count=False)
    return rows


class Window(NamedTuple):
    offset: int
    limit: int
    backward: bool  # counted from the listing's end, in the opposite order


def window(offset: int, limit: int, total: int) -> Window:
    """Where to read rows [offset, offset + limit) of `total`: from the nearer end."""
    if offset * 2 <= total:
        return Window(offset, limit, backward=False)
    end = min(offset + limit, total)
    return Window(total - end, max(0, end - offset), backward=True)


async def _listing(conn: Conn, query: ListQuery,
                   count: bool) -> tuple[list[SessionRow], int | None]:
    where, params = _where(query)
    forward = Window(query.offset, query.limit, backward=False)
    counter = count_filter(query.account_id, query.metadata)
    if counter is None:
        counting = (f"SELECT count(*) FROM sessions s WHERE {where}", params) if count else None
        return await _page(conn, query, forward, counting)
    if query.offset == 0:
        return await _page(conn, query, forward, (COUNT_SQL, [counter]))
    total = await read_count(conn, counter)
    chosen = window(query.offset, query.limit, total)
    if chosen.limit == 0:
        return [], total  # past the end
    rows, seen = await _page(conn, query, chosen, (COUNT_SQL, [counter]))
    if chosen.backward and seen != total:
        # The count moved between the two reads, so the window from the end is off by the
        # change: read forwards instead, which needs no count to be right.
        return await _page(conn, query, forward, (COUNT_SQL, [counter]))
    return rows, seen


async def _page(conn: Conn, query: ListQuery, at: Window,
                total: tuple[str, list[Any]] | None) -> tuple[list[SessionRow], int | None]:
    """The rows `at` selects, in the listing's order, and `total` (a one-value query) as of
    the same snapshot."""
    where, params = _where(query)
    total_sql, total_params = total or ("SELECT NULL::bigint", [])
    # sort_by and direction come from Literals, never from the request's raw text.
    sort, way = query.sort_by, query.direction
    read = _FLIPPED[way] if at.backward else way
    cur = await conn.execute(f"""
WITH page AS MATERIALIZED (
    SELECT s.id, s.{sort} AS sort_key FROM sessions s WHERE {where}
    ORDER BY s.{sort} {read}, s.id {read} LIMIT %s OFFSET %s
)
SELECT t.n, {SESSION_COLUMNS}
FROM ({total_sql}) AS t(n) LEFT JOIN (
    page p JOIN sessions s ON s.id = p.id LEFT JOIN accounts a ON a.id = s.created_by
) ON true
ORDER BY p.sort_key {way}, p.id {way}""", [*params, at.limit, at.offset, *total_params])
    found = await cur.fetchall()  # at least the total's row; no session in it when empty
    rows = [session_row(r[1:]) for r in found if r[1] is not None]
    n = found[0][0] if found else None
    return rows, None if n is None else int(n)


def _where(query: ListQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = ["s.deleted_at IS NULL"]
    params: list[Any] = []
    if query.account_id is not None:
        clauses.append("s.created_by = %s")
        params.append(query.account_id)
    if query.metadata:
        clauses.append("s.metadata @> %s::jsonb")
        params.append(msgspec.json.encode(query.metadata).decode())
    return " AND ".join(clauses), params
