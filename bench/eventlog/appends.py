"""Appends per second: EventStore.append against the same rows in a plain table, by
writers in one or several processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any, NamedTuple, Protocol

import psycopg
from psycopg_pool import AsyncConnectionPool

from app.domain.events import registry, session_stream
from app.eventstore import Event, EventStore
from bench.eventlog.workload import (
    EMPTY_METADATA,
    Measured,
    Settings,
    event_loop_runner,
    session_events,
)
from bench.harness.figures import note
from bench.harness.machine import CpuSample
from bench.harness.scratch import scratch_database

APPENDS_PER_STREAM = 4  # a session's stream gets a few appends, each at its expected version

_PLAIN_TABLE = """
CREATE TABLE bench_plain_events (
    stream_id text NOT NULL, version bigint NOT NULL, event_id uuid NOT NULL,
    type text NOT NULL, data jsonb NOT NULL, metadata jsonb NOT NULL
)"""
_PLAIN_INSERT = """
INSERT INTO bench_plain_events (stream_id, version, event_id, type, data, metadata)
SELECT %s, u.v, u.id, u.t, u.d::jsonb, u.m::jsonb
FROM unnest(%b::bigint[], %b::uuid[], %b::text[], %b::text[], %b::text[]) AS u(v, id, t, d, m)
"""

Pool = AsyncConnectionPool[Any]


class AppendCase(NamedTuple):
    processes: int
    tasks: int  # connections (and asyncio tasks) per process
    batch: int  # events per append

    @property
    def writers(self) -> int:
        return self.processes * self.tasks

    @property
    def layout(self) -> str:
        return f"{self.processes} proc x {self.tasks} conn"


class AppendRow(NamedTuple):
    case: AppendCase
    log: Measured
    plain: Measured

    @property
    def ratio(self) -> float:
        return self.log.rate / self.plain.rate if self.plain.rate else float("nan")

    @property
    def counts_for_targets(self) -> bool:
        return self.case.processes > 1 or self.case.writers == 1


class Sink(Protocol):
    async def append(self, stream_id: str, events: Sequence[Event], expected: int) -> None: ...


class LogSink:
    """The real thing: EventStore.append with an expected version."""

    def __init__(self, pool: Pool) -> None:
        self.store = EventStore(pool, registry)

    async def append(self, stream_id: str, events: Sequence[Event], expected: int) -> None:
        await self.store.append(stream_id, events, expected)


class PlainSink:
    """The same rows and Python encoding into a table that guarantees nothing."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def append(self, stream_id: str, events: Sequence[Event], expected: int) -> None:
        params = [
            stream_id,
            list(range(expected + 1, expected + len(events) + 1)),
            [uuid.uuid4() for _ in events],
            [e.event_type for e in events],
            [registry.encode(e).decode() for e in events],
            [EMPTY_METADATA] * len(events),
        ]
        async with self.pool.connection() as conn:  # commits on exit: one transaction
            await conn.execute(_PLAIN_INSERT, params)


class Window(NamedTuple):
    start: float
    end: float


async def write_until(sink: Sink, batch: int, window: Window) -> tuple[int, list[float]]:
    """Append to fresh streams until the window closes; count what completed inside it."""
    counted = 0
    latencies: list[float] = []
    while True:
        session_id = uuid.uuid4().hex
        stream_id, version = session_stream(session_id), 0
        for _ in range(APPENDS_PER_STREAM):
            events = session_events(session_id, version, batch)
            began = time.perf_counter()
            if began >= window.end:
                return counted, latencies
            await sink.append(stream_id, events, version)
            done = time.perf_counter()
            version += batch
            if window.start <= done < window.end:  # warm-up and overrun are not counted
                counted += batch
                latencies.append(done - began)


async def run_writers(
    url: str, sink_name: str, case: AppendCase, settings: Settings, ready: Callable[[], object]
) -> tuple[int, list[float]]:
    """One process's share: `case.tasks` writers, each on its own pooled connection."""
    pool: Pool = AsyncConnectionPool(url, min_size=case.tasks, max_size=case.tasks, open=False)
    async with pool:
        await pool.wait()
        sink: Sink = LogSink(pool) if sink_name == "log" else PlainSink(pool)
        ready()
        now = time.perf_counter()
        window = Window(now + settings.warmup_s, now + settings.warmup_s + settings.duration_s)
        shares = await asyncio.gather(
            *(write_until(sink, case.batch, window) for _ in range(case.tasks))
        )
    return sum(s[0] for s in shares), [lat for s in shares for lat in s[1]]


def _process_main(
    url: str,
    sink_name: str,
    case: AppendCase,
    settings: Settings,
    barrier: Barrier,
    results: Queue[tuple[str, Any]],
) -> None:
    """Entry point of a writer process: report ("ok", (events, latencies)) or ("error", tb)."""
    try:
        writers = run_writers(url, sink_name, case, settings, lambda: barrier.wait(timeout=60))
        results.put(("ok", event_loop_runner(settings)(writers)))
    except BaseException:
        barrier.abort()  # the others must not wait for a process that will never arrive
        results.put(("error", traceback.format_exc()))


def run_in_processes(
    url: str, sink_name: str, case: AppendCase, settings: Settings
) -> tuple[int, list[float]]:
    """Spawned processes start writing together (a barrier) once their pools are open."""
    ctx = multiprocessing.get_context("spawn")  # fork and a running event loop do not mix
    barrier = ctx.Barrier(case.processes)
    results: Queue[tuple[str, Any]] = ctx.Queue()
    procs = [
        ctx.Process(target=_process_main, args=(url, sink_name, case, settings, barrier, results))
        for _ in range(case.processes)
    ]
    for proc in procs:
        proc.start()
    try:
        timeout = 90 + settings.warmup_s + settings.duration_s
        outcomes = [results.get(timeout=timeout) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join()
    errors = [detail for status, detail in outcomes if status != "ok"]
    if errors:
        raise RuntimeError(f"a writer process failed:\n{errors[0]}")
    return sum(o[1][0] for o in outcomes), [lat for o in outcomes for lat in o[1][1]]


async def measure_appends(
    url: str, sink_name: str, case: AppendCase, settings: Settings
) -> Measured:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        # Each figure starts right after a checkpoint, so none pays another's full-page writes.
        await conn.execute("CHECKPOINT")
    cpu = CpuSample()
    if case.processes == 1:
        events, latencies = await run_writers(url, sink_name, case, settings, lambda: None)
    else:
        events, latencies = await asyncio.to_thread(
            run_in_processes, url, sink_name, case, settings
        )
    return Measured(events, settings.duration_s, latencies, cpu.busy())


def append_cases(settings: Settings) -> list[AppendCase]:
    cases = []
    for batch in (1, 50):
        cases += [AppendCase(1, 1, batch), AppendCase(2, 4, batch)]
        if settings.compare_in_process:
            cases.append(AppendCase(1, 8, batch))
    return cases


async def append_benchmark(admin_url: str, settings: Settings) -> list[AppendRow]:
    rows = []
    async with scratch_database(admin_url) as url:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute(_PLAIN_TABLE)
        for case in append_cases(settings):
            log = await measure_appends(url, "log", case, settings)
            plain = await measure_appends(url, "plain", case, settings)
            rows.append(AppendRow(case, log, plain))
            note(
                f"appends {case.layout}, batch {case.batch}:"
                f" log {log.rate:,.0f} ev/s, plain {plain.rate:,.0f} ev/s"
            )
    return rows
