"""The listing's pages and totals equal a plain ORDER BY / count(*) over the rows, whichever
way it reads them (counted total or count(*), from the start or from the far end)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest
from psycopg_pool import AsyncConnectionPool

from app.domain.events import SessionDeleted, SessionStarted
from app.eventstore import EventStore
from app.readmodels.session_counts import count_filter
from app.readmodels.session_listing import ListQuery, Window, list_sessions, page_sessions, window
from tests.projections.sessions_support import Log, apply, reference

ADA, BOB, NOBODY = (uuid.UUID(int=n) for n in range(1, 4))
FILTERS: list[tuple[uuid.UUID | None, dict[str, Any]]] = [
    (None, {}),
    (ADA, {}),
    (NOBODY, {}),  # counted, but no row: zero
    (None, {"tier": 3}),  # one session holds 3.0: the same count, as containment matches it
    (None, {"team": "gold"}),
    (None, {"tier": 3, "vip": True}),  # two keys: count(*)
    (ADA, {"team": "gold"}),  # an account and a key: count(*)
    (None, {"tier": 9}),  # nothing matches
]


async def seed(store: EventStore, pool: AsyncConnectionPool[Any]) -> None:
    """50 sessions, 44 live. Their times are then set by hand, five to a created_at and
    seven updated_at values in all: ties for the id to break, in both sort keys."""
    log = Log(store)
    creators = [str(ADA), str(BOB), None]
    for i in range(50):
        tier: Any = 3.0 if i == 7 else i % 4
        meta = {"tier": tier, "vip": i % 5 == 0, "team": "gold" if i % 2 else "silver"}
        await log.append(f"s{i:02}", SessionStarted(session_id=f"s{i:02}",
                                                    created_by=creators[i % 3], metadata=meta))
    for i in range(4, 50, 9):
        await log.append(f"s{i:02}", SessionDeleted(session_id=f"s{i:02}"))
    await apply(pool, await log.batch())
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE sessions SET"
            " created_at = '2025-01-01'::timestamptz + (substr(id, 2)::int / 5) * interval '1m',"
            " updated_at = '2025-02-01'::timestamptz + (substr(id, 2)::int % 7) * interval '1m'")


def offsets(total: int, limit: int) -> set[int]:
    """The edges: the start, the middle either side, the last full and partial pages, the
    very end and past it."""
    return {0, limit, max(0, total // 2 - 1), total // 2, total // 2 + 1, max(0, total - limit),
            total - total % limit if total % limit else max(0, total - limit),
            max(0, total - 1), total, total + 5}


@pytest.mark.parametrize("sort_by", ["created_at", "updated_at"])
@pytest.mark.parametrize("direction", ["asc", "desc"])
async def test_pages_and_totals_equal_a_plain_query(
    fresh_store: EventStore, fresh_pool: AsyncConnectionPool[Any], sort_by: Any, direction: Any
) -> None:
    await seed(fresh_store, fresh_pool)
    for (account_id, metadata), limit in itertools.product(FILTERS, (7, 20)):
        base = ListQuery(limit=limit, sort_by=sort_by, direction=direction,
                         account_id=account_id, metadata=metadata)
        every = await reference(fresh_pool, base)
        for offset in sorted(offsets(len(every), limit)):
            q = ListQuery(**{**_fields(base), "offset": offset})
            async with fresh_pool.connection() as conn:
                rows, total = await list_sessions(conn, q)
                unpaged = await page_sessions(conn, q)
            expected = every[offset:offset + limit]
            assert ([r.id for r in rows], total) == (expected, len(every)), q
            assert [r.id for r in unpaged] == expected, q


def _fields(q: ListQuery) -> dict[str, Any]:
    return {f: getattr(q, f) for f in q.__struct_fields__}


async def test_the_seeded_listing_has_what_the_cases_need(
    fresh_store: EventStore, fresh_pool: AsyncConnectionPool[Any]
) -> None:
    """Guards the test above: ties to break, counted filters and count(*) ones, empties."""
    await seed(fresh_store, fresh_pool)
    async with fresh_pool.connection() as conn:
        ties = await (await conn.execute(
            "SELECT count(*) - count(DISTINCT created_at), count(*) - count(DISTINCT updated_at)"
            " FROM sessions WHERE deleted_at IS NULL")).fetchone()
    assert ties and ties[0] > 20 and ties[1] > 30
    totals = [len(await reference(fresh_pool, ListQuery(limit=1, account_id=a, metadata=m)))
              for a, m in FILTERS]
    assert totals[0] == 44 and totals[2] == 0 and totals[-1] == 0
    assert all(t % 7 and t % 20 for t in totals if t not in (0, 20, 14))  # partial last pages
    counted = [count_filter(a, m) is not None for a, m in FILTERS]
    assert counted == [True, True, True, True, True, False, False, True]


class Interleaved:
    """A connection on which `change` happens (committed elsewhere) right after its first
    statement: between the listing's count and its page."""

    def __init__(self, conn: Any, change: Callable[[], Awaitable[None]]) -> None:
        self.conn, self.change = conn, change
        self.statements = 0

    async def execute(self, query: str, params: Any = None) -> Any:
        cur = await self.conn.execute(query, params)
        self.statements += 1
        if self.statements == 1:
            await self.change()
        return cur


async def test_a_session_started_between_the_count_and_a_backward_page_shifts_nothing(
    fresh_store: EventStore, fresh_pool: AsyncConnectionPool[Any]
) -> None:
    await seed(fresh_store, fresh_pool)
    log = Log(fresh_store)
    log.read_to = await fresh_store.head()

    async def start_one() -> None:  # the newest session: first in the listing
        await log.append("late", SessionStarted(session_id="late"))
        await apply(fresh_pool, await log.batch())

    query = ListQuery(limit=7, offset=40)  # of 44: read backwards
    async with fresh_pool.connection() as conn:
        interleaved = Interleaved(conn, start_one)
        rows, total = await list_sessions(cast(Any, interleaved), query)
    every = await reference(fresh_pool, query)
    assert every[0] == "late" and len(every) == 45
    assert ([r.id for r in rows], total) == (every[40:47], 45)
    assert interleaved.statements == 3  # the count, a page from the end planned on 44, a page


async def test_an_empty_listing_has_no_rows_and_a_zero_total(
    fresh_pool: AsyncConnectionPool[Any],
) -> None:
    for offset, metadata in itertools.product((0, 20), ({}, {"a": 1}, {"a": 1, "b": 2})):
        async with fresh_pool.connection() as conn:
            result = await list_sessions(conn, ListQuery(limit=20, offset=offset,
                                                         metadata=metadata))
        assert result == ([], 0)


@pytest.mark.parametrize("offset, limit, total, expected", [
    (0, 20, 100, Window(0, 20, backward=False)),
    (40, 20, 100, Window(40, 20, backward=False)),
    (50, 20, 100, Window(50, 20, backward=False)),
    (60, 20, 100, Window(20, 20, backward=True)),
    (80, 20, 100, Window(0, 20, backward=True)),
    (90, 20, 100, Window(0, 10, backward=True)),  # the last, partial page
    (100, 20, 100, Window(0, 0, backward=True)),  # past the end: nothing to read
    (140, 20, 100, Window(0, 0, backward=True)),
])
def test_a_window_reads_from_the_nearer_end(offset: int, limit: int, total: int,
                                           expected: Window) -> None:
    assert window(offset, limit, total) == expected
