"""`python -m bench.reads`: the command line and the run (see bench/reads/__init__.py)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from psycopg_pool import AsyncConnectionPool

from app.adapters.accounts import AccountStore
from app.adapters.migrations import migrate_url
from app.domain.accounts import Role
from bench.harness.figures import Targets, note
from bench.harness.machine import CpuSample, quiet_machine
from bench.harness.processes import robots_env
from bench.harness.scratch import delete_redis_keys, scratch_database
from bench.harness.seeding import message_id
from bench.harness.servers import admin_postgres, redis_server, server_summary
from bench.harness.stack import robots_serve
from bench.reads import __doc__ as DESCRIPTION
from bench.reads.explain import explain
from bench.reads.report import (
    TARGET_P99_MS,
    explain_report,
    latency_report,
    preparation_report,
)
from bench.reads.seeding import FULL, QUICK, Plan, plan, prepare, table_sizes
from bench.reads.timing import (
    Case,
    Figures,
    detail_case,
    listing_case,
    time_http,
    time_in_process,
)

WARMUP_ROUNDS = 30


def cases(p: Plan) -> list[Case]:
    deep_page = int(0.8 * p.size.sessions / 20)
    longest = p.longest
    messages = 2 * max(p.exchanges)
    cursor = message_id(longest, messages // 4)  # three quarters of the way back
    return [
        listing_case("list page 1", 1, {}, {}),
        listing_case(f"list page {deep_page:,}", deep_page, {}, {}),
        listing_case("list topic=billing (~4%)", 1, {"topic": "billing"},
                     {"topic": "billing"}),
        listing_case("list tier=3&pinned (~1%)", 1, {"tier": "3", "pinned": "true"},
                     {"tier": 3, "pinned": True}),
        detail_case(f"session: newest 50 of {messages:,}", longest, None),
        detail_case(f"session: 50 before #{messages // 4:,}", longest, cursor),
    ]


async def reader_token(url: str) -> str:
    """A fresh member token for this run (tokens are stored hashed: a kept database's old
    ones cannot be read back)."""
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(url, min_size=1, max_size=2,
                                                         open=False)
    async with pool:
        _, token = await AccountStore(pool).create(f"bench-reader-{uuid.uuid4().hex[:8]}",
                                                   "Bench reader", Role.MEMBER)
    return token


class Timings(NamedTuple):
    http: dict[str, Figures]
    local: dict[str, Figures]
    busy: list[float | None]  # before / during http, before / during in process
    http_s: float


async def time_cases(url: str, env: dict[str, str], folder: Path, chosen: list[Case],
                     args: argparse.Namespace) -> Timings:
    token = await reader_token(url)
    note(f"timing over HTTP: {args.samples} rounds after {WARMUP_ROUNDS} warm-up ...")
    async with robots_serve(env, folder / "serve.log") as base:
        busy = [await quiet_machine(args.quiet_wait_s)]
        cpu, began = CpuSample(), time.perf_counter()
        http = await time_http(base, token, chosen, args.samples, WARMUP_ROUNDS)
        busy.append(cpu.busy())
        http_s = time.perf_counter() - began
    note("timing in process ...")
    busy.append(await quiet_machine(args.quiet_wait_s))
    cpu = CpuSample()
    local = await time_in_process(url, chosen, args.samples, WARMUP_ROUNDS)
    busy.append(cpu.busy())
    return Timings(http, local, busy, http_s)


async def report(url: str, chosen: list[Case], t: Timings, args: argparse.Namespace) -> None:
    targets = Targets()
    table = latency_report([c.name for c in chosen], t.http, t.local, targets)
    print(f"\n{args.samples} samples per case, cases interleaved; http: one request at a"
          " time over keep-alive; srv = http - /health (auth, queries, encoding);"
          " query = the handler's query functions in process")
    print(table)
    busy = [f"{b:.0%}" if b is not None else "?" for b in t.busy]
    print(f"machine CPU busy (every process, not only ours): before / during http"
          f" {busy[0]} / {busy[1]} ({t.http_s:.0f} s), in process {busy[2]} / {busy[3]}")
    found = {c.name: await explain(url, c) for c in chosen}
    print("\nEXPLAIN (ANALYZE, BUFFERS), execution time of each statement a case runs:")
    print(explain_report(found, set(targets.missed), args.explain))
    print("\n" + targets.summary(f" (p99 <= {TARGET_P99_MS:.0f} ms in process and over HTTP"
                                 " minus /health)"))


async def run(args: argparse.Namespace) -> int:
    p = plan(QUICK if args.quick else FULL)
    folder = Path(tempfile.mkdtemp(prefix="robots-bench-reads-"))
    prefix = f"robots-bench-reads-{uuid.uuid4().hex[:8]}"
    try:
        await measure(args, p, folder, prefix)
    except BaseException:
        note(f"process logs kept in {folder}")
        raise
    shutil.rmtree(folder, ignore_errors=True)
    return 0


async def measure(args: argparse.Namespace, p: Plan, folder: Path, prefix: str) -> None:
    """Servers, database and Redis keys for the run, and the run, all undone on exit."""
    async with contextlib.AsyncExitStack() as stack:
        if args.reuse_database:
            url = args.reuse_database
            await migrate_url(url)
        else:
            admin = stack.enter_context(admin_postgres(args.database_url))
            url = await stack.enter_async_context(
                scratch_database(admin, "robots_bench_reads", keep=args.keep))
            if args.keep:
                stack.callback(note, f"kept the database; rerun with --reuse-database '{url}'")
        redis_url = stack.enter_context(redis_server(args.redis_url))
        stack.push_async_callback(delete_redis_keys, redis_url, f"{prefix}:*")
        env = robots_env(url, redis_url, prefix, folder)
        print(server_summary(url), flush=True)
        prep = await prepare(url, p, env, folder, writers=args.writers, compact=args.compact)
        print(preparation_report(prep, p, args.writers, await table_sizes(url)), flush=True)
        chosen = cases(p)
        await report(url, chosen, await time_cases(url, env, folder, chosen, args), args)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.reads",
                                     description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10x smaller (a few minutes)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    # --database-url is the server, as in every other group, so one BENCH_ARGS fits all.
    parser.add_argument("--database-url", help="admin URL of the server for the scratch"
                        " database (default: BENCH_DATABASE_URL, else local, else embedded)")
    parser.add_argument("--reuse-database", help="an existing database to use (never"
                        " dropped); seeded unless it already holds the plan's events")
    parser.add_argument("--redis-url", help="default: BENCH_REDIS_URL, else local, else an"
                        " embedded one")
    parser.add_argument("--samples", type=int, default=300, help="timed rounds per case")
    parser.add_argument("--writers", type=int, default=4, help="seeding connections")
    parser.add_argument("--explain", action="store_true", help="print every plan in full")
    parser.add_argument("--quiet-wait-s", type=float, default=120,
                        help="wait up to this long for a quiet machine before each timing")
    parser.add_argument("--compact", action="store_true",
                        help="VACUUM FULL the read models before timing (see seeding.settle)")
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds like Ctrl-C: processes stopped, database dropped


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        note("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
