"""Chat turns end to end: what the pipeline adds to what the model gives.

    .venv/bin/python -m bench.turns [--quick] [--database-url ADMIN_URL] [--show-statements]

Everything runs as real processes on loopback, started here with their own environment:
a scratch database (created, migrated by `robots migrate`, dropped at the end), a Redis
prefix of its own, the fake model server (`python -m app.adapters.llm.local_model`, or
`bench.turns_stamp`, the same app stamping each delta with its send time), `robots
serve` (1 process), `robots worker` (1, or 2 for the load), `robots project`, and the load
clients. Each pipeline figure sits beside its baseline from the same run: the same fake
model read straight (through the worker's own provider adapter in 1 and 2, as a worker
reads it; with the same lean SSE client as the pipeline's in 3).

1. Added time to first token: POST /robots/chat/sse -> first `text-delta`, minus request
   -> first delta straight from the model; sequential, a new session each, interleaved.
2. One stream offered at 5,000 deltas/s (4,000 tokens: a worker asks for at most 4,096):
   deltas/s read at the SSE client / deltas/s read from the model directly.
3. Many concurrent streams (1 web, 2 workers), 20 deltas/s each: all complete, per-delta
   latency (model send time -> SSE client read time, one monotonic clock), web RSS.
   Then (3b) the same load at 100, 200, 300... streams, each beside its own direct run,
   until a size misses: how many streams this machine holds within 3's targets.
4. PostgreSQL statements per turn for a 50- and a 2,000-token reply (the server's
   statement log for the scratch database).

The machine is 2 cores shared by everything above (and by whatever else runs on it): the
report says how much CPU went where, and warns when others took a large share.

A measurement, not a test: it exits 0 whether targets are met or not.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import platform
import resource
import shutil
import sys
import time
import traceback
from collections.abc import Awaitable, Callable

import httpx

from bench.common import admin_postgres, free_port, server_summary
from bench.turns_measure import (
    CpuMeter,
    Load,
    MachineShare,
    PeakRss,
    listening_pid,
    measure_rate,
    measure_ttft,
    run_load,
    sdk_client,
)
from bench.turns_report import (
    CapacityStep,
    LoadResult,
    Results,
    Sizes,
    StatementResult,
    print_report,
)
from bench.turns_sse import Connection, chat_body, text_delta
from bench.turns_stack import (
    Bench,
    ModelServer,
    redis_server,
    running_stack,
    scratch_bench,
    start_model,
    stop,
)
from bench.turns_statements import (
    Sized,
    StatementLog,
    backend_owners,
    count,
    disable,
    pg_stat_counts,
    settle_stats,
)

QUICK = Sizes(ttft_samples=40, ttft_warmup=5, rate_runs=1,
              load_streams=100, load_tokens=60, load_open_per_second=100, load_processes=1,
              capacity_streams=(),
              statement_reps=2)


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


async def restart_model(bench: Bench, model: ModelServer, **script: object) -> ModelServer:
    stop([model.proc], bench)
    return await start_model(bench, model.port, **script)  # type: ignore[arg-type]


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
    stop([model.proc], bench)


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
        backends = await _backend_pids(bench)
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
        backends |= await _backend_pids(bench)
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
    stop([model.proc], bench)


async def _backend_pids(bench: Bench) -> set[int]:
    import psycopg

    async with await psycopg.AsyncConnection.connect(bench.admin_url, autocommit=True) as c:
        rows = await (await c.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                      [bench.db_name])).fetchall()
    return {int(r[0]) for r in rows}


async def statements(bench: Bench, sizes: Sizes, results: Results) -> None:
    """4: 1 web, 1 worker, 1 projector, with the time-driven polls (projector safety net,
    sweeper, provider settings refresh) pushed out of the way so that only the turn talks
    to PostgreSQL."""
    log = await StatementLog.enable(bench.admin_url, bench.db_name)
    result = StatementResult("statement log" if log else "pg_stat_database")
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
        stop([model.proc], bench)


async def _stat_delta(bench: Bench, conn: Connection) -> tuple[int, int]:
    await settle_stats()
    before = await pg_stat_counts(bench.admin_url, bench.db_name)
    await one_turn(conn, "Count my statements.")
    await settle_stats()
    after = await pg_stat_counts(bench.admin_url, bench.db_name)
    return after[0] - before[0], after[1] - before[1]


async def run(args: argparse.Namespace) -> Results:
    sizes = QUICK if args.quick else Sizes()
    if args.streams:
        sizes = dataclasses.replace(sizes, load_streams=args.streams)
    results = Results(sizes)
    with admin_postgres(args.database_url) as admin, redis_server() as redis_url:
        print(f"{server_summary(admin)}; Redis at {redis_url}; Python "
              f"{platform.python_version()}", flush=True)
        async with scratch_bench(admin, redis_url) as bench:
            # The load goes last: turns it leaves unfinished stay in the database.
            parts: list[tuple[str, Callable[[Bench, Sizes, Results], Awaitable[None]]]] = [
                ("statements per turn", statements),
                ("time to first token and stream rate", latency_and_rate),
                ("concurrent streams", many_streams),
            ]
            for name, part in parts:
                if args.only and not name.startswith(args.only):
                    continue
                print(f"... {name}", end="", flush=True)
                share = MachineShare(lambda: _backend_pids(bench))
                await share.start()
                try:
                    await part(bench, sizes, results)
                except Exception as exc:
                    results.failures[name] = f"{type(exc).__name__}: {exc}"
                    if args.verbose:
                        traceback.print_exc()
                machine, ours, wall = await share.stop()
                results.shares[name] = (machine, ours, wall)
                print(f" ({wall:.0f} s; machine busy {machine:.0f} of {2 * wall:.0f} CPU-s, "
                      f"ours {ours:.0f})" + (" FAILED" if name in results.failures else ""),
                      flush=True)
            if results.failures:
                print(f"process logs kept in {bench.folder}")
            else:
                shutil.rmtree(bench.folder, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.turns", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a ~1 minute smoke run")
    parser.add_argument("--database-url", help="admin URL of the PostgreSQL server to use"
                        " (default: BENCH_DATABASE_URL, else the local server, else embedded)")
    parser.add_argument("--show-statements", action="store_true",
                        help="list the statements of one short turn")
    parser.add_argument("--verbose", action="store_true", help="tracebacks of failed parts")
    parser.add_argument("--only", choices=["statements", "time", "concurrent"],
                        help="run one part (by the first word of its name)")
    parser.add_argument("--streams", type=int, default=0,
                        help="concurrent streams in part 3 (default 1,000; 100 with --quick)")
    args = parser.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    began = time.monotonic()
    results = asyncio.run(run(args))
    print_report(results, show_statements=args.show_statements)
    print(f"\n(run took {time.monotonic() - began:.0f} s)")
    sys.exit(0)


if __name__ == "__main__":
    main()
