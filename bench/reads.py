"""Session reads at scale: the listing and one session's messages, timed on the server.

    .venv/bin/python -m bench.reads [--quick] [--keep] [--database-url URL] [--samples N]

Seeds 100,000 sessions and 1,000,000 messages (--quick: 10,000 and 100,000) through the
event log with EventStore.append, lets `robots project` build the read models, then times
`GET /robots/sessions` (first page, a deep page, two metadata filters) and
`GET /robots/sessions/{id}` (newest 50 messages of a long session, and a `before` page
deep inside it): end to end against `robots serve` beside a `GET /health` baseline, and in
process through the handlers' own query functions. Target: p99 <= 15 ms each. Finally
EXPLAIN (ANALYZE, BUFFERS) of every statement each case runs.

The scratch database is dropped at the end, even on error, unless --keep; --database-url
reuses a kept one (seeding is skipped when its event count matches the plan). --compact
times the read models after VACUUM FULL instead of a plain VACUUM (see reads_seed.settle).
Each timing phase first waits (up to --quiet-wait-s) for the machine to be quiet.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from psycopg_pool import AsyncConnectionPool

from app.adapters.accounts import AccountStore
from app.adapters.migrations import migrate_url
from app.domain.accounts import Role
from bench.common import (
    LOCAL_REDIS,
    CpuSample,
    admin_postgres,
    delete_redis_keys,
    format_table,
    robots_env,
    scratch_database,
    server_summary,
    verdict,
)
from bench.reads_measure import (
    HEALTH,
    Case,
    Explained,
    Figures,
    detail_case,
    explain,
    listing_case,
    quiet_machine,
    server,
    time_http,
    time_in_process,
)
from bench.reads_project import Projected, project
from bench.reads_seed import (
    FULL,
    QUICK,
    Plan,
    Rate,
    event_count,
    message_id,
    plan,
    seed,
    settle,
    table_sizes,
)

TARGET_P99_MS = 15.0
WARMUP_ROUNDS = 30


class Prepared(NamedTuple):
    seeded: Rate | None  # None: the database already held the plan's events
    projected: Projected
    vacuum_s: float
    compacted: bool


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.asynccontextmanager
async def database(admin_url: str, keep: bool) -> AsyncIterator[str]:
    """A new migrated database, dropped on exit unless `keep`."""
    async with scratch_database(admin_url, "robots_bench_reads", keep=keep) as url:
        try:
            yield url
        finally:
            if keep:
                say(f"kept the database; rerun with --database-url '{url}'")


async def prepare(url: str, p: Plan, env: dict[str, str], folder: Path,
                  args: argparse.Namespace) -> Prepared:
    """Seed (unless already seeded), project with `robots project`, then VACUUM ANALYZE."""
    found = await event_count(url)
    seeded: Rate | None = None
    if found == 0:
        say(f"seeding {p.size.sessions:,} sessions, {p.size.messages:,} messages"
            f" ({p.size.events:,} events) with {args.writers} writers ...")
        seeded = await seed(url, p, args.writers)
    elif found != p.size.events:
        raise SystemExit(f"the database holds {found:,} events, the plan {p.size.events:,}:"
                         " not a database this benchmark seeded at this size (--quick?)")
    else:
        say(f"already seeded ({found:,} events): skipping seeding")
    say("projecting with `robots project` ...")
    projected = await project(url, env, folder / "project.log", p.size.events)
    say(f"VACUUM ({'FULL, ' if args.compact else ''}ANALYZE) of the read models ...")
    return Prepared(seeded, projected, await settle(url, args.compact), args.compact)


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
    async with psycopg_pool(url) as pool:
        _, token = await AccountStore(pool).create(f"bench-reader-{uuid.uuid4().hex[:8]}",
                                                   "Bench reader", Role.MEMBER)
    return token


@contextlib.asynccontextmanager
async def psycopg_pool(url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(url, min_size=1, max_size=2,
                                                         open=False)
    await pool.open(wait=True)
    try:
        yield pool
    finally:
        await pool.close()


# ---- the report -------------------------------------------------------------------------


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def preparation_report(prep: Prepared, p: Plan, writers: int, sizes: dict[str, int]) -> str:
    lines = []
    if prep.seeded:
        s = prep.seeded
        lines.append(f"seeding:    {s.events:,} events, {p.size.sessions:,} streams, {s.appends:,}"
                     f" appends in {s.transactions:,} transactions, {writers} connections:"
                     f" {s.seconds:,.1f} s = {s.per_second:,.0f} events/s")
    else:
        lines.append("seeding:    skipped (database reused)")
    lines.append(projected_line(prep.projected))
    vacuum = "VACUUM (FULL, ANALYZE)" if prep.compacted else "VACUUM (ANALYZE)"
    lines.append(f"settling:   {vacuum} {prep.vacuum_s:,.1f} s; sizes with indexes: "
                 + ", ".join(f"{k} {_mb(v)}" for k, v in sizes.items()))
    return "\n".join(lines)


def projected_line(done: Projected) -> str:
    """Each projection's events, rate and finishing time; the slowest one's rate."""
    if not any(done.applied.values()):
        return "projecting: skipped (the read models were already up to date)"
    per = ", ".join(f"{n} {done.applied[n]:,} events ({done.rate(n):,.0f}/s, done at"
                    f" {done.finished[n]:,.1f} s)" for n in done.applied)
    return (f"projecting: one `robots project`, {done.seconds:,.1f} s to catch up:"
            f" {per}; {done.slowest_rate:,.0f} events/s through all three")


def latency_report(names: Sequence[str], http: dict[str, Figures],
                   local: dict[str, Figures]) -> tuple[str, list[tuple[str, bool]]]:
    base50, base99 = http[HEALTH].ms(50), http[HEALTH].ms(99)
    rows = [[HEALTH, f"{base50:.2f}", f"{base99:.2f}", "", "", "", "", ""]]
    outcomes = []
    for name in names:
        h50, h99 = http[name].ms(50), http[name].ms(99)
        q50, q99 = local[name].ms(50), local[name].ms(99)
        ok = q99 <= TARGET_P99_MS and h99 - base99 <= TARGET_P99_MS
        outcomes.append((name, ok))
        rows.append([name, f"{h50:.2f}", f"{h99:.2f}", f"{h50 - base50:.2f}",
                     f"{h99 - base99:.2f}", f"{q50:.2f}", f"{q99:.2f}", verdict(ok)])
    headers = ["case (ms)", "http p50", "http p99", "srv p50", "srv p99", "query p50",
               "query p99", f"p99<={TARGET_P99_MS:.0f}"]
    return format_table(headers, rows), outcomes


def explain_report(found: dict[str, list[Explained]], missed: set[str], full: bool) -> str:
    """One line per statement; whole plans for the cases that missed (all with --explain)."""
    out: list[str] = []
    for name, explained in found.items():
        out.append(f"{name}:")
        for e in explained:
            first = " ".join(e.statement.query.split())[:90]
            out.append(f"  {e.execution_ms:8.2f} ms  {first}")
            if full or name in missed:
                out.extend(f"      {line}" for line in e.plan)
    return "\n".join(out)


# ---- the run ----------------------------------------------------------------------------


class Timings(NamedTuple):
    http: dict[str, Figures]
    local: dict[str, Figures]
    busy: list[float | None]  # before / during http, before / during in process
    http_s: float


async def time_cases(url: str, env: dict[str, str], folder: Path, chosen: list[Case],
                     args: argparse.Namespace) -> Timings:
    token = await reader_token(url)
    say(f"timing over HTTP: {args.samples} rounds after {WARMUP_ROUNDS} warm-up ...")
    async with server(env, folder / "serve.log") as base:
        busy = [await quiet_machine(args.quiet_wait_s)]
        cpu, began = CpuSample(), time.perf_counter()
        http = await time_http(base, token, chosen, args.samples, WARMUP_ROUNDS)
        busy.append(cpu.busy())
        http_s = time.perf_counter() - began
    say("timing in process ...")
    busy.append(await quiet_machine(args.quiet_wait_s))
    cpu = CpuSample()
    local = await time_in_process(url, chosen, args.samples, WARMUP_ROUNDS)
    busy.append(cpu.busy())
    return Timings(http, local, busy, http_s)


async def report(url: str, chosen: list[Case], t: Timings, args: argparse.Namespace) -> None:
    table, outcomes = latency_report([c.name for c in chosen], t.http, t.local)
    print(f"\n{args.samples} samples per case, cases interleaved; http: one request at a"
          " time over keep-alive; srv = http - /health (auth, queries, encoding);"
          " query = the handler's query functions in process")
    print(table)
    busy = [f"{b:.0%}" if b is not None else "?" for b in t.busy]
    print(f"machine CPU busy (every process, not only ours): before / during http"
          f" {busy[0]} / {busy[1]} ({t.http_s:.0f} s), in process {busy[2]} / {busy[3]}")
    missed = {name for name, ok in outcomes if not ok}
    found = {c.name: await explain(url, c) for c in chosen}
    print("\nEXPLAIN (ANALYZE, BUFFERS), execution time of each statement a case runs:")
    print(explain_report(found, missed, args.explain))
    met = len(outcomes) - len(missed)
    print(f"\ntargets: {met}/{len(outcomes)} met (p99 <= {TARGET_P99_MS:.0f} ms in process"
          " and over HTTP minus /health)"
          + (f"; missed: {', '.join(sorted(missed))}" if missed else ""))


async def run(args: argparse.Namespace) -> int:
    p = plan(QUICK if args.quick else FULL)
    folder = Path(tempfile.mkdtemp(prefix="robots-bench-reads-"))
    prefix = f"robots-bench-reads-{uuid.uuid4().hex[:8]}"
    async with contextlib.AsyncExitStack() as stack:
        if args.database_url:
            url = args.database_url
            await migrate_url(url)
        else:
            admin = stack.enter_context(admin_postgres(args.admin_url))
            url = await stack.enter_async_context(database(admin, args.keep))
        stack.push_async_callback(delete_redis_keys, args.redis_url, f"{prefix}:*")
        env = robots_env(url, args.redis_url, prefix, folder)
        print(server_summary(url), flush=True)
        prep = await prepare(url, p, env, folder, args)
        print(preparation_report(prep, p, args.writers, await table_sizes(url)), flush=True)
        chosen = cases(p)
        await report(url, chosen, await time_cases(url, env, folder, chosen, args), args)
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.reads", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10x smaller (a few minutes)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--database-url", help="an existing database to use (never dropped);"
                        " seeded unless it already holds the plan's events")
    parser.add_argument("--admin-url", help="server for the scratch database (default:"
                        " BENCH_DATABASE_URL, else local, else an embedded one)")
    parser.add_argument("--redis-url", default=LOCAL_REDIS)
    parser.add_argument("--samples", type=int, default=300, help="timed rounds per case")
    parser.add_argument("--writers", type=int, default=4, help="seeding connections")
    parser.add_argument("--explain", action="store_true", help="print every plan in full")
    parser.add_argument("--quiet-wait-s", type=float, default=120,
                        help="wait up to this long for a quiet machine before each timing")
    parser.add_argument("--compact", action="store_true",
                        help="VACUUM FULL the read models before timing (see reads_seed.settle)")
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds like Ctrl-C: processes stopped, database dropped


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
