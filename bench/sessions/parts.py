"""The one part of bench.sessions: on one stack (1 web, 1 worker, 1 projector), grow a
session through the API to each length, and sample turns there and in fresh sessions."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

import psycopg

from app.cli.embedded import free_port
from app.domain.robots import DEFAULT_ROBOT_ID
from bench.harness.figures import note
from bench.harness.machine import CpuMeter
from bench.harness.sse import Connection
from bench.harness.stack import Bench, Stack, backend_pids, running_stack, start_model
from bench.sessions.measure import Conversation, direct_turn, grow, pipeline_turn, sample
from bench.sessions.report import Breakdown, LengthResult, Results, Sizes
from bench.turns.measure import sdk_client

Part = Callable[[Bench, Sizes, Results], Awaitable[None]]


async def default_playbook(bench: Bench) -> str:
    """The system prompt the worker sends for the built-in robot (no situation set)."""
    async with await psycopg.AsyncConnection.connect(bench.db_url) as conn:
        row = await (await conn.execute("SELECT playbook FROM robots WHERE id = %s",
                                        [DEFAULT_ROBOT_ID])).fetchone()
    return str(row[0]) if row else ""


class TurnMeter:
    """CPU seconds each process spent during the metered turns, summed."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self.used = dict.fromkeys(groups, 0.0)
        self.turns = 0
        self._meter = CpuMeter()

    def __call__(self, starting: bool) -> None:
        if starting:
            self._meter.start([pid for pids in self.groups.values() for pid in pids])
            return
        used, _, _ = self._meter.stop(self.groups)
        for name, seconds in used.items():
            self.used[name] += seconds
        self.turns += 1

    def per_turn_ms(self) -> dict[str, float]:
        return {name: s / max(self.turns, 1) * 1000 for name, s in self.used.items()}


async def breakdown(bench: Bench, turn_ids: list[str]) -> Breakdown:
    """Where the turns' time went, as the log saw it (the database's clock)."""
    async with await psycopg.AsyncConnection.connect(bench.db_url) as conn:
        rows = await (await conn.execute(
            "SELECT data->>'turn_id', type, recorded_at,"
            " (data->>'time_to_first_token_ms')::float8 FROM events"
            " WHERE type IN ('TurnRequested', 'TurnStarted', 'TurnCompleted')"
            " AND data->>'turn_id' = ANY(%s)", [turn_ids])).fetchall()
    seen: dict[str, dict[str, tuple[datetime, float | None]]] = {}
    for turn_id, kind, at, ttft in rows:
        seen.setdefault(turn_id, {}).setdefault(kind, (at, ttft))  # first attempt's start
    out = Breakdown()
    for times in seen.values():
        if {"TurnRequested", "TurnStarted", "TurnCompleted"} <= times.keys():
            requested, started = times["TurnRequested"][0], times["TurnStarted"][0]
            completed, ttft = times["TurnCompleted"]
            out.claimed_ms.append((started - requested).total_seconds() * 1000)
            out.finished_ms.append((completed - started).total_seconds() * 1000)
            if ttft is not None:
                out.worker_ttft_ms.append(ttft)
    return out


async def _warm_up(conn: Connection, sizes: Sizes,
                   client_read: Callable[[Conversation, str], Awaitable[object]]) -> None:
    for _ in range(sizes.warmup):
        fresh = Conversation(f"warm-{uuid.uuid4().hex}")
        question = fresh.question()
        await pipeline_turn(conn, fresh.session_id, question)
        await client_read(fresh, question)


async def long_session(bench: Bench, sizes: Sizes, results: Results) -> None:
    model = await start_model(bench, free_port(), tokens=sizes.reply_tokens)
    async with running_stack(bench, model.port, workers=1) as stack:
        conn = Connection("127.0.0.1", stack.port, bench.token)
        client = sdk_client(model.openai_base_url)
        system = await default_playbook(bench)
        try:
            await _warm_up(conn, sizes,
                           lambda c, q: direct_turn(client, system, c.history(q)))
            long = Conversation(f"long-{uuid.uuid4().hex}")
            for length in sizes.lengths:
                grew_s = await grow(conn, long, length)
                note(f"{length:,} exchanges (grown in {grew_s:.0f} s); sampling")
                meter = TurnMeter(await _groups(bench, stack, model.proc.pid))
                at = len(long.exchanges)
                sampled = await sample(conn, client, system, long, sizes.samples, meter)
                results.lengths.append(LengthResult(
                    length=at, sampled=sampled, grew_s=grew_s,
                    long_log=await breakdown(bench, sampled.long_turn_ids),
                    fresh_log=await breakdown(bench, sampled.fresh_turn_ids),
                    cpu_ms=meter.per_turn_ms()))
        finally:
            await conn.close()
            await client.aclose()
    bench.stop([model.proc])


async def _groups(bench: Bench, stack: Stack, model_pid: int) -> dict[str, list[int]]:
    return {"web": [stack.web.pid], "worker": [w.pid for w in stack.workers],
            "projector": [stack.projector.pid], "postgres": sorted(await backend_pids(bench)),
            "model": [model_pid]}


PARTS: list[tuple[str, Part]] = [("one session grown long, beside fresh ones", long_session)]
