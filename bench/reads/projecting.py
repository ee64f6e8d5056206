"""Projecting the seeded log, for bench.reads: one `robots project` process, watched through
the projection checkpoints until every projection has reached the end of the log.
"""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path
from typing import Any, NamedTuple

import psycopg

from bench.harness.figures import Progress
from bench.harness.processes import robots_command, running
from projections import all_projections

Conn = psycopg.AsyncConnection[Any]
Point = tuple[int, int]  # (transaction id, global position): the log's reading order


class Projected(NamedTuple):
    seconds: float  # until the last projection caught up
    applied: dict[str, int]  # events each projection applied
    finished: dict[str, float]  # when each projection caught up

    def rate(self, name: str) -> float:
        return self.applied[name] / self.seconds if self.seconds > 0 else math.inf

    @property
    def slowest_rate(self) -> float:
        return min(self.rate(n) for n in self.applied)


async def _points(conn: Conn) -> dict[str, Point]:
    cur = await conn.execute("SELECT name, transaction_id::text::bigint, global_position"
                             " FROM projection_checkpoints")
    return {str(r[0]): (int(r[1]), int(r[2])) for r in await cur.fetchall()}


async def _events_up_to(conn: Conn, point: Point) -> int:
    row = await (await conn.execute(
        "SELECT count(*) FROM events WHERE (transaction_id, global_position)"
        " <= (%s::text::xid8, %s)", [str(point[0]), point[1]])).fetchone()
    return int(row[0]) if row else 0


async def _log_end(conn: Conn) -> Point:
    row = await (await conn.execute(
        "SELECT transaction_id::text::bigint, global_position FROM events"
        " ORDER BY events.transaction_id DESC, events.global_position DESC LIMIT 1")).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


async def project(url: str, env: dict[str, str], log: Path, total: int,
                  timeout_s: float = 4 * 3600) -> Projected:
    """`robots project` from wherever the checkpoints are until every projection has
    caught up with the log; the events each applied are counted after it stopped."""
    names = [p.name for p in all_projections()]
    finished: dict[str, float] = {}
    progress = Progress(total, "projecting (the slowest projection's position)")
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        end, before = await _log_end(conn), await _points(conn)
        with running("robots project", robots_command("project"), env, log) as proc:
            started = time.perf_counter()
            while len(finished) < len(names):
                proc.check_alive()
                if time.perf_counter() - started > timeout_s:
                    raise RuntimeError(f"projections not caught up in {timeout_s:.0f} s")
                points = await _points(conn)
                for name in names:
                    if name not in finished and points.get(name, (0, 0)) >= end:
                        finished[name] = time.perf_counter() - started
                progress.update(min(points.get(n, (0, 0))[1] for n in names))
                await asyncio.sleep(0.2)
        after = await _points(conn)
        applied = {n: await _events_up_to(conn, after.get(n, (0, 0)))
                   - await _events_up_to(conn, before.get(n, (0, 0))) for n in names}
    return Projected(max(finished.values()), applied, finished)
