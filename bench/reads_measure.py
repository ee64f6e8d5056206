"""Timing the session reads two ways, for bench.reads.

End to end: `robots serve` as a process, one request at a time over a kept-alive
connection, beside `GET /health` (no database work, no auth) in the same rounds: the
difference is roughly what the server spends on the route (auth lookup, queries,
encoding). In process: the very functions the handlers call (list_sessions,
session_view.from_read_model) on a warmed pool: the query time alone. Cases take turns
round by round, so background noise falls on all of them alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, cast
from urllib.parse import urlencode

import httpx
import psycopg
from psycopg import AsyncCursor
from psycopg.abc import Params
from psycopg_pool import AsyncConnectionPool

from app.api.session_view import from_read_model
from app.readmodels.messages import page_messages
from app.readmodels.session_listing import ListQuery, list_sessions
from app.readmodels.sessions import get_session
from bench.common import CpuSample, free_port, percentile, robots_command

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


# ---- the server -------------------------------------------------------------------------


@contextlib.contextmanager
def process(argv: Sequence[str], env: dict[str, str], log: Path) -> Any:
    """A child process, stopped by its pid on exit (SIGTERM, then SIGKILL)."""
    with log.open("wb") as out:
        proc = subprocess.Popen(list(argv), env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@contextlib.asynccontextmanager
async def server(env: dict[str, str], log: Path) -> AsyncIterator[str]:
    """`robots serve` on a free port; its base URL once /health answers."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with process(robots_command("serve"), {**env, "HOST": "127.0.0.1", "PORT": str(port)},
                 log) as proc:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"robots serve exited with {proc.returncode}; see {log}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{base}/health")).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"robots serve did not answer in 60 s; see {log}")
                await asyncio.sleep(0.1)
        yield base


# ---- timing -----------------------------------------------------------------------------


async def quiet_machine(max_wait_s: float, busy_below: float = 0.3,
                        sample_s: float = 2.0) -> float | None:
    """Wait (at most `max_wait_s`) until the machine's CPUs are less than `busy_below` busy
    over `sample_s`: other people's work on a shared box skews every percentile. The last
    reading (fraction busy), or None where /proc/stat is missing."""
    deadline = time.monotonic() + max_wait_s
    while True:
        cpu = CpuSample()
        await asyncio.sleep(sample_s)
        busy = cpu.busy()
        if busy is None or busy < busy_below or time.monotonic() >= deadline:
            return busy


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


# ---- EXPLAIN of the real statements -----------------------------------------------------


class Statement(NamedTuple):
    query: str
    params: Params | None


class _Recorder:
    """Stands in for a connection in the query functions (they only call `execute`) and
    remembers each statement, so the real query text and parameters can be explained
    without copying the SQL out of the projections."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.statements: list[Statement] = []

    async def execute(self, query: str, params: Params | None = None) -> AsyncCursor[Any]:
        self.statements.append(Statement(query, params))
        return await self.conn.execute(query, params)


async def statements_of(url: str, case: Case) -> list[Statement]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        recorder = _Recorder(conn)
        await case.queries(cast(Conn, recorder))
    return recorder.statements


class Explained(NamedTuple):
    statement: Statement
    plan: list[str]
    execution_ms: float


async def explain(url: str, case: Case) -> list[Explained]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement the case's query functions run, each
    after one unrecorded run of it (warm cache, as in the timed loop)."""
    found: list[Explained] = []
    async with await psycopg.AsyncConnection.connect(url) as conn:
        for statement in await statements_of(url, case):
            await conn.execute(statement.query, statement.params)
            text = f"EXPLAIN (ANALYZE, BUFFERS) {statement.query}".encode()
            rows = await (await conn.execute(text, statement.params)).fetchall()
            plan = [str(r[0]) for r in rows]
            took = next((float(line.split(":")[1].split()[0]) for line in plan
                         if line.startswith("Execution Time")), float("nan"))
            found.append(Explained(statement, plan, took))
        await conn.rollback()
    return found
