"""Timing the session reads two ways, for bench.reads.

End to end: `robots serve` as a process, one request at a time over a kept-alive
connection, beside `GET /health` (no database work, no auth) in the same rounds: the
difference is roughly what the server spends on the route (auth lookup, queries,
encoding). In process: the very functions the handlers call (list_sessions,
session_view.from_read_model) on a warmed pool: the query time alone. Cases take turns
round by round, so background noise falls on all of them alike.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlencode

import httpx
import psycopg
from psycopg_pool import AsyncConnectionPool

from app.api.session_view import from_read_model
from app.readmodels.messages import page_messages
from app.readmodels.session_listing import ListQuery, list_sessions
from app.readmodels.sessions import get_session
from bench.harness.figures import percentile

Pool = AsyncConnectionPool[Any]
Conn = psycopg.AsyncConnection[Any]
HEALTH = "GET /health (baseline)"


@dataclass(frozen=True)
class Case:
    name: str
    path: str  # with its query string
    run: Callable[[Pool], Awaitable[object]]  # what the handler does, in process
    queries: Callable[[Conn], Awaitable[object]]  # the same query functions on one conn


def listing_case(name: str, page: int, filters: dict[str, str],
                 metadata: dict[str, Any]) -> Case:
    """`GET /robots/sessions?page=N[&metadata_filter.k=v]`; `metadata` is what the handler
    parses `filters` into."""
    query = ListQuery(limit=20, offset=(page - 1) * 20, metadata=metadata)
    params = {"page": str(page), **{f"metadata_filter.{k}": v for k, v in filters.items()}}

    async def run(pool: Pool) -> object:
        async with pool.connection() as conn:
            return await list_sessions(conn, query)

    return Case(name, f"/robots/sessions?{urlencode(params)}", run,
                lambda conn: list_sessions(conn, query))


def detail_case(name: str, session_id: str, before: str | None, limit: int = 50) -> Case:
    """`GET /robots/sessions/{id}[?before=]`: the session row and a page of messages."""
    params = {"limit": str(limit), **({"before": before} if before else {})}

    async def queries(conn: Conn) -> object:
        await get_session(conn, session_id)
        return await page_messages(conn, session_id, before=before, limit=limit)

    return Case(name, f"/robots/sessions/{session_id}?{urlencode(params)}",
                lambda pool: from_read_model(pool, session_id, before=before, limit=limit),
                queries)


class Figures(NamedTuple):
    samples: list[float]  # seconds

    def ms(self, q: float) -> float:
        return percentile(self.samples, q) * 1000


async def _round_robin(jobs: dict[str, Callable[[], Awaitable[None]]], samples: int,
                       warmup: int) -> dict[str, Figures]:
    """Each job once per round, `warmup` rounds unrecorded, then `samples` rounds."""
    timings: dict[str, list[float]] = {name: [] for name in jobs}
    for round_ in range(warmup + samples):
        for name, job in jobs.items():
            began = time.perf_counter()
            await job()
            if round_ >= warmup:
                timings[name].append(time.perf_counter() - began)
    return {name: Figures(values) for name, values in timings.items()}


async def time_http(base: str, token: str, cases: Sequence[Case], samples: int,
                    warmup: int) -> dict[str, Figures]:
    """Client-side latency of each case and of /health, one request in flight at a time."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:

        def get(path: str) -> Callable[[], Awaitable[None]]:
            async def job() -> None:
                response = await client.get(path)
                if response.status_code != 200:
                    raise RuntimeError(f"GET {path}: {response.status_code} {response.text}")
                await response.aread()
            return job

        jobs = {HEALTH: get("/health"), **{c.name: get(c.path) for c in cases}}
        return await _round_robin(jobs, samples, warmup)


async def time_in_process(url: str, cases: Sequence[Case], samples: int,
                          warmup: int) -> dict[str, Figures]:
    """The handlers' query functions on a warmed pool of the server's default size."""
    pool: Pool = AsyncConnectionPool(url, min_size=2, max_size=10, open=False)
    await pool.open(wait=True)
    try:
        def job(case: Case) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                await case.run(pool)
            return run

        return await _round_robin({c.name: job(c) for c in cases}, samples, warmup)
    finally:
        await pool.close()
