"""Event log throughput: appends against a plain-table baseline, and a projection rebuild.

    .venv/bin/python -m bench.eventlog [--quick] [--database-url ADMIN_URL]

Appends: every writer walks its own session streams, a few appends per stream, each with
the expected version, as the API does. The baseline inserts the same rows (same event
encoding, same batching and concurrency, one transaction per batch, autocommit off) into a
table with none of the log's guarantees (no unique keys, no xid8, no NOTIFY, no trigger),
done the cheap way: one INSERT from unnest() with the arrays sent in binary. The ratio is
the whole price of the log: its guarantees and how its statements are sent.

Eight writers run as 2 processes x 4 connections, like many API processes in production
(the figure the targets use); with --compare-in-process (default) also as 8 asyncio tasks
sharing one process, where that process's CPU is the limit instead.

Rebuild: session events seeded through the store, then `projections.rebuild.rebuild` of
the sessions projection; the baselines are a walk of the log with `read_all` (reading and
decoding without applying) and a plain SELECT of the same rows with msgspec decoding.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any, NamedTuple, Protocol, TypeVar

import msgspec
import psycopg
from psycopg_pool import AsyncConnectionPool

from app.domain.events import (
    SessionDeleted,
    SessionRenamed,
    SessionStarted,
    registry,
    session_stream,
)
from app.eventstore import Checkpoint, Event, EventMetadata, EventStore
from bench.common import (
    CpuSample,
    admin_postgres,
    format_table,
    percentile,
    scratch_database,
    server_summary,
    verdict,
)
from projections.rebuild import rebuild
from projections.sessions import SessionsProjection

APPEND_TARGET_EVENTS_S = 10_000  # with 8 writers
RATIO_TARGET = 0.5  # log / plain table
REBUILD_TARGET_EVENTS_S = 20_000
APPENDS_PER_STREAM = 4  # a session's stream gets a few appends, each at its expected version
SEED_EVENTS_PER_STREAM = 10  # rebuild seed: SessionStarted, renames, sometimes SessionDeleted
SEED_STREAMS_PER_COMMIT = 10
ACCOUNT_ID = str(uuid.UUID(int=1))  # sessions.created_by is a uuid column

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
_SEED_INSERT = """
INSERT INTO events (stream_id, stream_version, event_id, type, data, metadata)
SELECT u.s, u.v, u.id, u.t, u.d::jsonb, u.m::jsonb
FROM unnest(%b::text[], %b::bigint[], %b::uuid[], %b::text[], %b::text[], %b::text[])
     AS u(s, v, id, t, d, m)
"""
_PLAIN_READ = """
SELECT global_position, stream_id, stream_version, event_id, type, data::text, metadata::text,
       recorded_at
FROM events ORDER BY global_position
"""

_meta_encoder = msgspec.json.Encoder()
_meta_decoder = msgspec.json.Decoder(EventMetadata)

Pool = AsyncConnectionPool[Any]
T = TypeVar("T")


class Settings(NamedTuple):
    warmup_s: float
    duration_s: float
    rebuild_events: int
    compare_in_process: bool
    uvloop: bool  # uvicorn's loop (the web processes); arq workers run plain asyncio


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


class Measured(NamedTuple):
    events: int
    seconds: float
    latencies: list[float]  # seconds per append (or per plain batch)
    machine_busy: float | None = None  # all CPUs, including work that is not ours

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    def latency_ms(self) -> str:
        p50, p99 = (percentile(self.latencies, q) * 1000 for q in (50, 99))
        return f"{p50:.1f}/{p99:.1f}"


# ---- the workload ---------------------------------------------------------------------


def session_events(session_id: str, after_version: int, count: int) -> list[Event]:
    """The next `count` events of a session stream now at `after_version`."""
    events: list[Event] = []
    for version in range(after_version + 1, after_version + count + 1):
        if version == 1:
            meta = {"team": "bench", "tier": len(session_id) % 3}
            started = SessionStarted(
                session_id=session_id, created_by=ACCOUNT_ID, name="bench session", metadata=meta
            )
            events.append(started)
        else:
            events.append(SessionRenamed(session_id=session_id, name=f"renamed {version}"))
    return events


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
        meta = _meta_encoder.encode(EventMetadata()).decode()
        params = [
            stream_id,
            list(range(expected + 1, expected + len(events) + 1)),
            [uuid.uuid4() for _ in events],
            [e.event_type for e in events],
            [registry.encode(e).decode() for e in events],
            [meta] * len(events),
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


# ---- rebuild --------------------------------------------------------------------------


def seed_events(index: int) -> list[Event]:
    session_id = f"bench-{index:07d}"
    events = session_events(session_id, 0, SEED_EVENTS_PER_STREAM)
    if index % 10 == 0:  # a tenth of the sessions end deleted
        events[-1] = SessionDeleted(session_id=session_id)
    return events


async def seed(url: str, streams: int) -> float:
    """Write `streams` session streams into the log; returns the seconds it took.

    The rows are the ones EventStore.append writes (the registry's JSON, empty metadata,
    one transaction id per commit), inserted SEED_STREAMS_PER_COMMIT streams at a time
    with synchronous_commit off: the appends are measured above, this only has to be quick.
    """
    started = time.perf_counter()
    meta = _meta_encoder.encode(EventMetadata()).decode()
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await conn.execute("SET synchronous_commit = off")
        for first in range(0, streams, SEED_STREAMS_PER_COMMIT):
            rows: list[tuple[str, int, uuid.UUID, str, str, str]] = []
            for index in range(first, min(first + SEED_STREAMS_PER_COMMIT, streams)):
                stream_id = session_stream(f"bench-{index:07d}")
                rows += [
                    (
                        stream_id,
                        version,
                        uuid.uuid4(),
                        e.event_type,
                        registry.encode(e).decode(),
                        meta,
                    )
                    for version, e in enumerate(seed_events(index), start=1)
                ]
            await conn.execute(_SEED_INSERT, [list(column) for column in zip(*rows, strict=True)])
            await conn.commit()
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        # What a long-lived log looks like: visibility map set, statistics fresh.
        await conn.execute("VACUUM (ANALYZE) events")
    return time.perf_counter() - started


class RebuildFigures(NamedTuple):
    events: int
    seed_s: float
    rebuild: Measured
    walk: Measured
    plain_read: Measured


async def walk_log(conn: psycopg.AsyncConnection[Any], store: EventStore) -> int:
    checkpoint, seen = Checkpoint(), 0
    while True:
        batch = await store.read_all(checkpoint, 5000, conn=conn)
        if not batch.events:
            return seen
        seen += len(batch.events)
        checkpoint = batch.events[-1].checkpoint


async def plain_read(conn: psycopg.AsyncConnection[Any]) -> int:
    rows = await (await conn.execute(_PLAIN_READ)).fetchall()
    for row in rows:
        registry.decode(row[4], row[5])
        _meta_decoder.decode(row[6])
    return len(rows)


async def timed(work: Awaitable[int]) -> Measured:
    cpu, started = CpuSample(), time.perf_counter()
    events = await work
    seconds = time.perf_counter() - started
    return Measured(events, seconds, [seconds], cpu.busy())


async def rebuild_benchmark(admin_url: str, settings: Settings) -> RebuildFigures:
    streams = max(1, settings.rebuild_events // SEED_EVENTS_PER_STREAM)
    expected = streams * SEED_EVENTS_PER_STREAM
    async with scratch_database(admin_url) as url:
        seed_s = await seed(url, streams)
        note(f"seeded {expected:,} events in {seed_s:.1f} s")
        pool: Pool = AsyncConnectionPool(url, min_size=1, max_size=2, open=False)
        async with pool, await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            store = EventStore(pool, registry)
            cpu = CpuSample()
            report = await rebuild(conn, store, SessionsProjection())
            rebuilt = Measured(report.events, report.seconds, [report.seconds], cpu.busy())
            walk = await timed(walk_log(conn, store))
            plain = await timed(plain_read(conn))
            cur = await conn.execute("SELECT count(*) FROM sessions")
            sessions = (await cur.fetchone() or [0])[0]
    for name, got in (("rebuild", report.events), ("walk", walk.events), ("read", plain.events)):
        if got != expected:
            raise RuntimeError(f"{name} saw {got} events, expected {expected}")
    if sessions != streams:
        raise RuntimeError(f"rebuild made {sessions} sessions, expected {streams}")
    return RebuildFigures(expected, seed_s, rebuilt, walk, plain)


# ---- report ---------------------------------------------------------------------------


def note(message: str) -> None:
    sys.stdout.flush()  # keep the table and the progress notes in order on one terminal
    print(f"  .. {message}", file=sys.stderr, flush=True)


def event_loop_runner(settings: Settings) -> Callable[[Coroutine[Any, Any, T]], T]:
    if settings.uvloop:
        import uvloop

        return uvloop.run
    return asyncio.run


def busy(m: Measured) -> str:
    return "?" if m.machine_busy is None else f"{m.machine_busy * 100:.0f}"


def append_report(rows: list[AppendRow], targets: list[tuple[str, bool]]) -> str:
    table = []
    for row in rows:
        case, marks = row.case, []
        if row.counts_for_targets and case.writers == 8:
            ok = row.log.rate >= APPEND_TARGET_EVENTS_S
            marks.append(f">= {APPEND_TARGET_EVENTS_S:,}/s {verdict(ok)}")
            targets.append((f"append 8 writers batch {case.batch} >= 10,000 ev/s", ok))
        if row.counts_for_targets:
            ok = row.ratio >= RATIO_TARGET
            marks.append(f"ratio >= {RATIO_TARGET} {verdict(ok)}")
            targets.append((f"append {case.writers} writer(s) batch {case.batch} ratio", ok))
        else:
            marks.append("(in-process comparison)")
        table.append(
            [
                str(case.writers),
                case.layout,
                str(case.batch),
                f"{row.log.rate:,.0f}",
                row.log.latency_ms(),
                f"{row.plain.rate:,.0f}",
                row.plain.latency_ms(),
                f"{row.ratio:.2f}",
                f"{busy(row.log)}/{busy(row.plain)}",
                ", ".join(marks),
            ]
        )
    headers = [
        "writers", "layout", "batch", "log ev/s", "p50/p99 ms",
        "plain ev/s", "p50/p99 ms", "ratio", "cpu% log/plain", "targets",
    ]  # fmt: skip
    return format_table(headers, table)


def rebuild_report(figures: RebuildFigures, targets: list[tuple[str, bool]]) -> str:
    ok = figures.rebuild.rate >= REBUILD_TARGET_EVENTS_S
    targets.append((f"rebuild >= {REBUILD_TARGET_EVENTS_S:,} ev/s", ok))
    rows = [
        ("rebuild (sessions projection)", figures.rebuild, f">= 20,000/s {verdict(ok)}"),
        ("baseline: read_all walk, no apply", figures.walk, ""),
        ("baseline: plain SELECT + msgspec decode", figures.plain_read, ""),
    ]
    table = [
        [name, f"{m.events:,}", f"{m.seconds:.2f}", f"{m.rate:,.0f}", busy(m), mark]
        for name, m, mark in rows
    ]
    return format_table(["what", "events", "seconds", "ev/s", "cpu%", "target"], table)


async def run(admin_url: str, settings: Settings, parts: set[str]) -> None:
    print(f"event log benchmark: {server_summary(admin_url)}")
    loop = "uvloop" if settings.uvloop else "asyncio"
    print(f"client: Python {sys.version.split()[0]}, psycopg {psycopg.__version__}, {loop}")
    idle = CpuSample()
    await asyncio.sleep(1)
    if (busy_before := idle.busy()) is not None:
        warning = "  << other work is running: figures will be low" if busy_before > 0.2 else ""
        print(f"machine busy before start: {busy_before * 100:.0f}%{warning}")
    targets: list[tuple[str, bool]] = []
    if "append" in parts:
        rows = await append_benchmark(admin_url, settings)
        print(
            f"\nappends: {settings.duration_s:g} s per figure after {settings.warmup_s:g} s"
            f" warm-up; each stream gets {APPENDS_PER_STREAM} appends at its expected version."
            "\n8 writers as 2 processes x 4 pooled connections (many API processes); the"
            " latency is per append;\ncpu% is the whole machine's during the figure (PostgreSQL,"
            " the writers, and anything else)."
        )
        print(append_report(rows, targets))
    if "rebuild" in parts:
        figures = await rebuild_benchmark(admin_url, settings)
        print(
            f"\nrebuild: {figures.events:,} session events, {SEED_EVENTS_PER_STREAM} per stream"
            f" (seeded in {figures.seed_s:.1f} s, not a figure), rebuild's default batch size"
        )
        print(rebuild_report(figures, targets))
    missed = [name for name, ok in targets if not ok]
    print(f"\ntargets: {len(targets) - len(missed)}/{len(targets)} met")
    for name in missed:
        print(f"  missed: {name}")


def parse_args(argv: Sequence[str] | None) -> tuple[str | None, Settings, set[str]]:
    parser = argparse.ArgumentParser(prog="python -m bench.eventlog", description=__doc__)
    parser.add_argument(
        "--database-url",
        help="admin URL of the server to create a scratch database on"
        " (default: BENCH_DATABASE_URL, else the local server, else an embedded one)",
    )
    parser.add_argument("--quick", action="store_true", help="a ~20 s smoke run")
    parser.add_argument("--duration", type=float, help="seconds per append figure")
    parser.add_argument("--rebuild-events", type=int, help="events to seed and rebuild")
    parser.add_argument(
        "--compare-in-process",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also run 8 writers as tasks in one process (default: on, off with --quick)",
    )
    parser.add_argument("--only", choices=["append", "rebuild"], help="run one part")
    parser.add_argument("--uvloop", action="store_true", help="run the writers on uvloop")
    args = parser.parse_args(argv)
    settings = Settings(
        warmup_s=0.3 if args.quick else 0.5,
        duration_s=args.duration or (1.0 if args.quick else 4.0),
        rebuild_events=args.rebuild_events or (20_000 if args.quick else 200_000),
        compare_in_process=(
            not args.quick if args.compare_in_process is None else args.compare_in_process
        ),
        uvloop=args.uvloop,
    )
    parts = {args.only} if args.only else {"append", "rebuild"}
    return args.database_url, settings, parts


def main(argv: Sequence[str] | None = None) -> int:
    url, settings, parts = parse_args(argv)
    with admin_postgres(url) as admin_url:
        event_loop_runner(settings)(run(admin_url, settings, parts))
    return 0  # a measurement, not a test: missed targets are reported, not failed


if __name__ == "__main__":
    sys.exit(main())
