"""EXPLAIN (ANALYZE, BUFFERS) of the statements a read case really runs, for bench.reads."""

from __future__ import annotations

from typing import Any, NamedTuple, cast

import psycopg
from psycopg import AsyncCursor
from psycopg.abc import Params

from bench.reads.timing import Case, Conn


class Statement(NamedTuple):
    query: str
    params: Params | None


class _Recorder:
    """Stands in for a connection in the query functions (they only call `execute`) and
    remembers each statement, so the real query text and parameters can be explained
    without copying the SQL out of the read models."""

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
