"""The parts of bench.tools, each on a stack of its own: the tool round trip (1), where its
time goes (with --trace), and statements per turn by steps (2)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import psycopg

from app.cli.embedded import free_port
from bench.harness.processes import wait_connected
from bench.harness.sse import Connection
from bench.harness.stack import Bench, ModelServer, Stack, running_stack, start_model
from bench.harness.statements import (
    StatementLog,
    TurnCount,
    backend_owners,
    count,
    disable,
)
from bench.tools.report import Results, Sizes, StatementCounts
from bench.tools.roundtrip import (
    RoundTrips,
    Trip,
    adapter_client,
    adapter_exchange,
    new_tag,
    pipeline_turn,
    sdk_client,
    sdk_exchange,
    take_stamps,
    trips,
)
from bench.tools.trace import read_spans, step_breakdowns

SCRIPTED_MODEL = "bench.tools.scripted_model"

Part = Callable[[Bench, Sizes, Results], Awaitable[None]]


@contextlib.asynccontextmanager
async def tool_stack(bench: Bench, *, trace_file: str = "",
                     **settings: str) -> AsyncIterator[tuple[ModelServer, Stack]]:
    """The scripted model and 1 web, 1 worker, 1 projector; with `trace_file`, the worker
    is bench.tools.traced_worker (the same worker, its round trips timed)."""
    model = await start_model(bench, free_port(), tokens=20, module=SCRIPTED_MODEL)
    try:
        async with running_stack(bench, model.port, workers=0 if trace_file else 1,
                                 **settings) as stack:
            if trace_file:
                # running_stack's environment, rebuilt: same part, same model, same settings.
                env = bench.env(OPENAI_BASE_URL=model.openai_base_url, OPENAI_API_KEY="dummy",
                                DEFAULT_MODEL="openai/echo", **settings)
                worker = bench.spawn("worker-traced", [
                    sys.executable, "-m", "bench.tools.traced_worker",
                    "--trace-file", trace_file], env)
                stack.workers.append(worker)
                await wait_connected(worker, _server_ports(bench))
            yield model, stack
    finally:
        bench.stop([model.proc])


def _server_ports(bench: Bench) -> set[int]:
    """The PostgreSQL and Redis ports: a worker holding both has finished starting."""
    pg = psycopg.conninfo.conninfo_to_dict(bench.db_url).get("port")
    return {int(pg) if pg else 5432, httpx.URL(bench.redis_url).port or 6379}


async def _measure_trips(conn: Connection, model: ModelServer, sizes: Sizes,
                         turns: int) -> RoundTrips:
    """`turns` pipeline turns, each followed by as many direct exchanges of each kind as it
    had round trips (alternating which kind goes first), after a warm-up of both."""
    sdk, adapter = sdk_client(model.openai_base_url), adapter_client(model.openai_base_url)
    result = RoundTrips(steps=sizes.trip_steps)
    tags: dict[str, list[str]] = {"pipeline": [], "sdk": [], "adapter": []}
    try:
        for i in range(sizes.trip_warmup + turns):
            measured = i >= sizes.trip_warmup
            tag = new_tag()
            await pipeline_turn(conn, tag, sizes.trip_steps, sizes.trip_tokens)
            if measured:
                tags["pipeline"].append(tag)
            for j in range(sizes.trip_steps - 1):
                for kind in (("sdk", "adapter") if (i + j) % 2 else ("adapter", "sdk")):
                    tag = new_tag()
                    if kind == "sdk":
                        await sdk_exchange(sdk, tag)
                    else:
                        await adapter_exchange(adapter, tag)
                    if measured:
                        tags[kind].append(tag)
            await asyncio.sleep(0.02)  # the turn's tail (lease release) settles
            if i + 1 == sizes.trip_warmup:
                await take_stamps(model.openai_base_url)  # forget the warm-up's
    finally:
        await sdk.close()
        await adapter.aclose()
    found = trips(await take_stamps(model.openai_base_url))

    def of(kind: str) -> list[Trip]:
        wanted = set(tags[kind])
        return [t for t in found if t.tag in wanted]

    result.pipeline, result.sdk, result.adapter = of("pipeline"), of("sdk"), of("adapter")
    result.turns = turns
    expected = turns * (sizes.trip_steps - 1)
    if len(result.pipeline) != expected:
        raise RuntimeError(f"{len(result.pipeline)} pipeline round trips stamped, "
                           f"{expected} expected")
    return result


async def round_trip(bench: Bench, sizes: Sizes, results: Results) -> None:
    """1: pipeline turns and direct exchanges, interleaved, on one stack."""
    async with tool_stack(bench) as (model, stack):
        conn = Connection("127.0.0.1", stack.port, bench.token)
        try:
            results.trips = await _measure_trips(conn, model, sizes, sizes.trip_turns)
        finally:
            await conn.close()


async def traced_round_trip(bench: Bench, sizes: Sizes, results: Results) -> None:
    """Where the time goes: the same turns with the traced worker, the direct exchanges
    still between them so the machine sees the same pattern as in 1."""
    path = bench.folder / "worker-spans.jsonl"
    async with tool_stack(bench, trace_file=str(path)) as (model, stack):
        conn = Connection("127.0.0.1", stack.port, bench.token)
        try:
            path.unlink(missing_ok=True)
            results.traced = await _measure_trips(conn, model, sizes, sizes.trace_turns)
        finally:
            await conn.close()
    results.breakdown = step_breakdowns(results.traced.pipeline, read_spans(path))


async def statements(bench: Bench, sizes: Sizes, results: Results) -> None:
    """2: statements of 1-, 3- and 10-step turns for a short and a long reply; only the
    turn talks to PostgreSQL (the time-driven polls pushed out of the way, as in
    bench.turns)."""
    log = await StatementLog.enable(bench.admin_url, bench.db_name)
    if log is None:
        raise RuntimeError("the server's log is out of reach (log_line_prefix needs %p, %u "
                           "and %d, and the file must be readable): nothing to count with")
    counts = StatementCounts()
    results.statements = counts
    try:
        async with tool_stack(bench, PROJECTION_POLL_S="3600", SWEEP_INTERVAL_S="3600",
                              PROVIDER_SETTINGS_TTL_S="3600") as (model, stack):
            conn = Connection("127.0.0.1", stack.port, bench.token)
            owners = {"web": stack.web.pid, "worker": stack.workers[0].pid,
                      "projector": stack.projector.pid}
            try:
                for steps in sizes.statement_steps:  # warm every path once
                    await pipeline_turn(conn, new_tag(), steps, 20)
                await asyncio.sleep(0.5)
                await take_stamps(model.openai_base_url)
                for _ in range(sizes.statement_reps):
                    for steps in sizes.statement_steps:
                        for tokens in sizes.statement_tokens:
                            turn, worker = await _counted_turn(bench, conn, model, log,
                                                               owners, steps, tokens)
                            counts.turns.setdefault((steps, tokens), []).append(turn)
                            counts.worker_texts.setdefault((steps, tokens), []).append(worker)
            finally:
                await conn.close()
    finally:
        await disable(bench.admin_url, bench.db_name)


async def _counted_turn(bench: Bench, conn: Connection, model: ModelServer,
                        log: StatementLog, owners: dict[str, int], steps: int,
                        tokens: int) -> tuple[TurnCount, list[str]]:
    """One turn's statements, and the worker's own in the order it sent them."""
    tag = new_tag()
    mark = log.mark()
    deltas = await pipeline_turn(conn, tag, steps, tokens)
    await asyncio.sleep(0.5)  # the worker releases its lease after [DONE]
    if deltas != tokens:
        raise RuntimeError(f"a {tokens}-token turn streamed {deltas} deltas")
    asked = [s for s in await take_stamps(model.openai_base_url) if s.tag == tag]
    if len(asked) != steps:
        raise RuntimeError(f"a {steps}-step turn asked the model {len(asked)} times")
    who = await backend_owners(bench.admin_url, bench.db_name, owners)
    sent = log.since(mark)
    return count(sent, who), [s.text for s in sent if who.get(s.pid) == "worker"]


PARTS: list[tuple[str, Part]] = [
    ("round trip", round_trip),
    ("statements per turn", statements),
]
TRACE: tuple[str, Part] = ("where the time goes", traced_round_trip)
