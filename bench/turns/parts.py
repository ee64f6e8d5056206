"""The parts of bench.turns, each on a stack of its own: 1 and 2 (latency and rate), 3
(concurrent streams) and 4 (statements per turn)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx

from app.cli.embedded import free_port
from bench.harness.machine import CpuMeter, PeakRss, listening_pid
from bench.harness.sse import Connection, chat_body, text_delta
from bench.harness.stack import (
    LOCAL_MODEL,
    Bench,
    ModelServer,
    backend_pids,
    running_stack,
    start_model,
)
from bench.harness.statements import (
    Sized,
    StatementLog,
    backend_owners,
    count,
    disable,
    pg_stat_counts,
    settle_stats,
)
from bench.turns.measure import Load, measure_rate, measure_ttft, run_load, sdk_client
from bench.turns.report import CapacityStep, LoadResult, Results, Sizes, StatementResult

STAMPED_MODEL = "bench.turns.stamped_model"  # the local model, each delta stamped

Part = Callable[[Bench, Sizes, Results], Awaitable[None]]


async def one_turn(conn: Connection, text: str) -> int:
    """A whole turn in a new session; the number of text deltas it streamed."""
    deltas = 0
    async for _, data in conn.stream("/robots/chat/sse",
                                     chat_body(f"t-{time.monotonic_ns()}", "m-1", text)):
        if text_delta(data) is not None:
            deltas += 1
    return deltas


async def warm_up(port: int, token: str, turns: int, concurrent: int) -> None:
    """Turns through the whole stack, so pools, imports and caches are warm."""
    conns = [Connection("127.0.0.1", port, token) for _ in range(concurrent)]
    try:
        for _ in range(max(1, turns // concurrent)):
            await asyncio.gather(*(one_turn(c, "warm up") for c in conns))
    finally:
        for conn in conns:
            await conn.close()


async def restart_model(bench: Bench, model: ModelServer, *, tokens: int,
                        tokens_per_second: float = 0, stamped: bool = False) -> ModelServer:
    bench.stop([model.proc])
    return await start_model(bench, model.port, tokens=tokens,
                             tokens_per_second=tokens_per_second,
                             module=STAMPED_MODEL if stamped else LOCAL_MODEL)


async def latency_and_rate(bench: Bench, sizes: Sizes, results: Results) -> None:
    """1 and 2 on one stack: 1 web, 1 worker, 1 projector."""
    model = await start_model(bench, free_port(), tokens=20)
    async with running_stack(bench, model.port, workers=1) as stack:
        conn = Connection("127.0.0.1", stack.port, bench.token)
        client = sdk_client(model.openai_base_url)
        try:
            results.ttft = await measure_ttft(conn, client, sizes.ttft_samples,
                                              sizes.ttft_warmup)
            model = await restart_model(bench, model, tokens=sizes.rate_tokens,
                                        tokens_per_second=sizes.rate_tokens_per_second,
                                        stamped=True)
            await measure_rate(conn, client, 1)  # warm-up run, discarded
            results.rates = await measure_rate(conn, client, sizes.rate_runs)
        finally:
            await conn.close()
            await client.aclose()
    bench.stop([model.proc])


async def many_streams(bench: Bench, sizes: Sizes, results: Results) -> None:
    """3: 1 web, 2 workers, 1 projector; clients in their own processes."""
    model = await start_model(bench, free_port(), tokens=5)
    async with running_stack(bench, model.port, workers=2) as stack:
        await warm_up(stack.port, bench.token, turns=80, concurrent=40)
        model = await restart_model(bench, model, tokens=sizes.load_tokens,
                                    tokens_per_second=sizes.load_tokens_per_second,
                                    stamped=True)
        rss = PeakRss(stack.web.pid)
        rss.start()
        backends = await backend_pids(bench)
        redis_pid = listening_pid(httpx.URL(bench.redis_url).port or 6379)
        redis_pids = [redis_pid] if redis_pid else []
        cpu = CpuMeter()
        cpu.start([*[p.pid for p in stack.procs], model.proc.pid, *backends, *redis_pids])

        async def load(mode: str, streams: int) -> Load:
            # Each client reads what its mode needs: the API's port and token, or the model.
            return await run_load(
                mode, bench.folder, processes=sizes.load_processes, streams=streams,
                rate=sizes.load_open_per_second, tokens=sizes.load_tokens,
                tokens_per_second=sizes.load_tokens_per_second, port=stack.port,
                token=bench.token, base_url=model.openai_base_url)

        pipeline = await load("pipeline", sizes.load_streams)
        backends |= await backend_pids(bench)
        groups = {"web": [stack.web.pid], "workers": [w.pid for w in stack.workers],
                  "projector": [stack.projector.pid], "model": [model.proc.pid],
                  "postgres": sorted(backends), "redis (shared)": redis_pids}
        used, machine, wall = cpu.stop(groups)
        used["clients"] = pipeline.client_cpu_s
        await rss.stop()
        cpu.start([model.proc.pid])
        direct = await load("direct", sizes.load_streams)
        used_direct, _, _ = cpu.stop({"model": [model.proc.pid]})
        used_direct["clients"] = direct.client_cpu_s
        results.load = LoadResult(pipeline, direct, max(rss.hwm_mb(), rss.peak_mb), used,
                                  used_direct, wall, machine)
        for streams in sizes.capacity_streams:
            await asyncio.sleep(5)  # the projector and PostgreSQL catch up on the last load
            step = CapacityStep(await load("pipeline", streams), await load("direct", streams))
            results.capacity.append(step)
            if not step.met:
                break
    bench.stop([model.proc])


async def statements(bench: Bench, sizes: Sizes, results: Results) -> None:
    """4: 1 web, 1 worker, 1 projector, with the time-driven polls (projector safety net,
    sweeper, provider settings refresh) pushed out of the way so that only the turn talks
    to PostgreSQL."""
    log = await StatementLog.enable(bench.admin_url, bench.db_name)
    result = StatementResult()
    results.statements = result
    small, large = sizes.statement_sizes
    model = await start_model(bench, free_port(), tokens=small)
    try:
        # Time-driven statements (projector safety-net poll, sweeper, the worker's re-read
        # of provider settings every 2 s) would land in some turns and not others.
        async with running_stack(bench, model.port, workers=1, PROJECTION_POLL_S="3600",
                                 SWEEP_INTERVAL_S="3600", PROVIDER_SETTINGS_TTL_S="3600"
                                 ) as stack:
            conn = Connection("127.0.0.1", stack.port, bench.token)
            owners = {"web": stack.web.pid, "worker": stack.workers[0].pid,
                      "projector": stack.projector.pid}
            try:
                for tokens in (small, large):
                    if tokens != model.tokens:
                        model = await restart_model(bench, model, tokens=tokens)
                    for _ in range(3):
                        await one_turn(conn, "warm up")
                    await asyncio.sleep(0.5)
                    if log is None:
                        result.fallback[tokens] = await _stat_delta(bench, conn)
                        continue
                    sized = Sized(tokens, [])
                    for _ in range(sizes.statement_reps):
                        mark = log.mark()
                        got = await one_turn(conn, "Count my statements.")
                        await asyncio.sleep(0.5)  # the worker releases its lease after [DONE]
                        if got != tokens:
                            raise RuntimeError(f"a {tokens}-token turn streamed {got} deltas")
                        who = await backend_owners(bench.admin_url, bench.db_name, owners)
                        sized.turns.append(count(log.since(mark), who))
                    result.sized.append(sized)
            finally:
                await conn.close()
    finally:
        if log is not None:
            await disable(bench.admin_url, bench.db_name)
        bench.stop([model.proc])


async def _stat_delta(bench: Bench, conn: Connection) -> tuple[int, int]:
    await settle_stats()
    before = await pg_stat_counts(bench.admin_url, bench.db_name)
    await one_turn(conn, "Count my statements.")
    await settle_stats()
    after = await pg_stat_counts(bench.admin_url, bench.db_name)
    return after[0] - before[0], after[1] - before[1]


# The load goes last: turns it leaves unfinished stay in the database.
PARTS: list[tuple[str, Part]] = [
    ("statements per turn", statements),
    ("time to first token and stream rate", latency_and_rate),
    ("concurrent streams", many_streams),
]
