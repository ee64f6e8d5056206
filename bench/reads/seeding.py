"""The read benchmark's data: a deterministic plan of sessions, seeded through the event log
by bench.harness.seeding (the path the API tests seed by too), a few writer connections at
once, several sessions' streams per transaction; then projected by `robots project` and
vacuumed, ready to read.

The workload is deterministic, so a kept database can be reused and the same sessions found
again.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
from psycopg_pool import AsyncConnectionPool

from app.adapters.accounts import AccountStore
from app.domain.accounts import Role
from app.domain.events import registry
from app.eventstore import EventStore
from app.eventstore.store import Conn
from bench.harness.figures import Progress, note
from bench.harness.seeding import EVENTS_PER_APPEND, EVENTS_PER_EXCHANGE, seed_session
from bench.reads.projecting import Projected, project

SEED = 20_240_611
EVENTS_PER_TRANSACTION = 2_000  # several sessions' streams commit together
AUTHORS = 8
# 25 topics: `metadata_filter.topic=billing` selects about 4% of sessions.
TOPICS = ("billing", "onboarding", "moderation", "events", "design", "support", "infra",
          "docs", "release", "security", "search", "mobile", "api", "growth", "legal",
          "hiring", "community", "translations", "accessibility", "analytics", "payments",
          "email", "storage", "performance", "roadmap")
_WORDS = ("the", "robot", "session", "team", "message", "answer", "question", "thread",
          "reply", "forum", "member", "library", "post", "draft", "review", "topic")


@dataclass(frozen=True)
class Size:
    sessions: int
    messages: int
    long_sessions: tuple[int, ...]  # message counts of the few long sessions

    @property
    def exchanges(self) -> int:
        return self.messages // 2

    @property
    def events(self) -> int:
        return self.sessions + EVENTS_PER_EXCHANGE * self.exchanges


FULL = Size(100_000, 1_000_000, (5_000, 2_000, 2_000, 2_000))
QUICK = Size(10_000, 100_000, (2_000,))


class Plan(NamedTuple):
    """Which sessions exist and how many exchanges each has, in creation order."""

    size: Size
    ids: list[str]
    exchanges: list[int]

    @property
    def longest(self) -> str:
        return self.ids[max(range(len(self.ids)), key=self.exchanges.__getitem__)]


def plan(size: Size) -> Plan:
    """Most sessions short (log-normal exchange counts), a few long ones at random places;
    exactly `size.messages` messages in all."""
    rng = random.Random(SEED)
    ids = [uuid.UUID(int=rng.getrandbits(128), version=4).hex for _ in range(size.sessions)]
    longs = [m // 2 for m in size.long_sessions]
    rest = size.exchanges - sum(longs)
    weights = [rng.lognormvariate(0, 1.0) for _ in range(size.sessions - len(longs))]
    scale = rest / sum(weights)
    counts = [math.floor(w * scale) for w in weights]
    for i in rng.sample(range(len(counts)), rest - sum(counts)):
        counts[i] += 1
    for n in longs:
        counts.insert(rng.randrange(len(counts) + 1), n)
    return Plan(size, ids, counts)


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words))


def metadata(rng: random.Random) -> dict[str, Any]:
    return {"topic": rng.choice(TOPICS), "tier": rng.randint(1, 5),
            "pinned": rng.random() < 0.05, "score": round(rng.random() * 100, 1)}


async def seed_planned(store: EventStore, conn: Conn, p: Plan, index: int,
                       authors: list[str]) -> int:
    """Session `index` of the plan, with its own deterministic words; its event count."""
    rng = random.Random(SEED * 1_000_003 + index)
    name, meta = _text(rng, 4), metadata(rng)

    def texts(n: int) -> tuple[str, str]:
        return _text(rng, rng.randint(5, 30)), _text(rng, rng.randint(20, 120))

    await seed_session(store, p.ids[index], author=authors[index % len(authors)],
                       exchanges=p.exchanges[index], name=name, metadata=meta, texts=texts,
                       conn=conn)
    return 1 + EVENTS_PER_EXCHANGE * p.exchanges[index]


def units(p: Plan) -> Iterator[range]:
    """Runs of consecutive sessions of about EVENTS_PER_TRANSACTION events: one commit each."""
    start, events = 0, 0
    for i, n in enumerate(p.exchanges):
        events += 1 + EVENTS_PER_EXCHANGE * n
        if events >= EVENTS_PER_TRANSACTION:
            yield range(start, i + 1)
            start, events = i + 1, 0
    if start < len(p.exchanges):
        yield range(start, len(p.exchanges))


async def create_authors(pool: AsyncConnectionPool[Any]) -> list[str]:
    """The members who start sessions: created on first seeding, found again on reuse."""
    accounts = AccountStore(pool)
    ids: list[str] = []
    for i in range(AUTHORS):
        handle = f"bench-author-{i}"
        found = await accounts.by_handle(handle)
        if found is None:
            found, _ = await accounts.create(handle, f"Author {i}", Role.MEMBER)
        ids.append(str(found.id))
    return ids


class Rate(NamedTuple):
    events: int
    seconds: float
    transactions: int = 0
    appends: int = 0

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else math.inf


async def seed(url: str, p: Plan, writers: int) -> Rate:
    """Append every session of the plan through EventStore.append, `writers` at a time."""
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(url, min_size=writers,
                                                         max_size=writers + 1, open=False)
    await pool.open(wait=True)
    try:
        authors = await create_authors(pool)
        store = EventStore(pool, registry)
        work = units(p)
        done = [0, 0, 0]  # events, transactions, appends
        progress = Progress(p.size.events, "seeding")

        async def writer() -> None:
            for unit in work:  # one iterator shared by every writer: each unit once
                async with pool.connection() as conn, conn.transaction():
                    for i in unit:
                        events = await seed_planned(store, conn, p, i, authors)
                        done[0] += events
                        done[2] += math.ceil(events / EVENTS_PER_APPEND)
                done[1] += 1
                progress.update(done[0])

        started = time.perf_counter()
        async with asyncio.TaskGroup() as tasks:
            for _ in range(writers):
                tasks.create_task(writer())
        return Rate(done[0], time.perf_counter() - started, done[1], done[2])
    finally:
        await pool.close()


async def event_count(url: str) -> int:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        row = await (await conn.execute("SELECT count(*) FROM events")).fetchone()
    return int(row[0]) if row else 0


async def settle(url: str, compact: bool) -> float:
    """VACUUM (ANALYZE) the read models: a table loaded a moment ago has no statistics and no
    visibility map yet, which autovacuum would give it within minutes in production.

    `compact`: VACUUM FULL instead. Seeding packs each session's whole life into one or two
    projection batches, so every one of its row versions (one per touching event) is still
    on disk when VACUUM runs; a plain VACUUM frees them but leaves the live rows scattered
    over the bloated heap. Production, where autovacuum runs between a session's exchanges
    and the space is reused, sits between the two states.
    """
    started = time.perf_counter()
    tables = "sessions, messages, turns, accounts, api_tokens, projection_checkpoints"
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        if compact:  # a rewritten table has no visibility map: the plain VACUUM sets it
            await conn.execute(f"VACUUM (FULL) {tables}".encode())
        await conn.execute(f"VACUUM (ANALYZE) {tables}".encode())
        await conn.execute("ANALYZE events")
    return time.perf_counter() - started


async def table_sizes(url: str) -> dict[str, int]:
    """Total bytes (with indexes) of the tables the reads touch."""
    sizes: dict[str, int] = {}
    async with await psycopg.AsyncConnection.connect(url) as conn:
        for table in ("events", "sessions", "messages", "turns"):
            row = await (await conn.execute(
                f"SELECT pg_total_relation_size('{table}')".encode())).fetchone()
            sizes[table] = int(row[0]) if row else 0
    return sizes


class Prepared(NamedTuple):
    seeded: Rate | None  # None: the database already held the plan's events
    projected: Projected
    vacuum_s: float
    compacted: bool


async def prepare(url: str, p: Plan, env: dict[str, str], folder: Path, *, writers: int,
                  compact: bool) -> Prepared:
    """Seed (unless already seeded), project with `robots project`, then VACUUM ANALYZE."""
    found = await event_count(url)
    seeded: Rate | None = None
    if found == 0:
        note(f"seeding {p.size.sessions:,} sessions, {p.size.messages:,} messages"
             f" ({p.size.events:,} events) with {writers} writers ...")
        seeded = await seed(url, p, writers)
    elif found != p.size.events:
        raise SystemExit(f"the database holds {found:,} events, the plan {p.size.events:,}:"
                         " not a database this benchmark seeded at this size (--quick?)")
    else:
        note(f"already seeded ({found:,} events): skipping seeding")
    note("projecting with `robots project` ...")
    projected = await project(url, env, folder / "project.log", p.size.events)
    note(f"VACUUM ({'FULL, ' if compact else ''}ANALYZE) of the read models ...")
    return Prepared(seeded, projected, await settle(url, compact), compact)
