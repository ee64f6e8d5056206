"""session_counts moves with the sessions rows: exact through every change, and replays."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from app.adapters.migrations import migration_files
from app.domain.events import (
    MessagePosted,
    SessionDeleted,
    SessionRenamed,
    SessionSettingsChanged,
    SessionStarted,
)
from app.eventstore import EventStore
from app.readmodels.session_counts import count_filter
from tests.projections.sessions_support import Log, apply, counts_table, recounted
from tests.services import FoundServices, database_url

ADA, BOB = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))


def metadata(**pairs: Any) -> str:
    return json.dumps({"metadata": pairs}, sort_keys=True)


def account(who: str) -> str:
    return json.dumps({"account": who})


async def test_counts_follow_starts_deletes_and_metadata_changes_and_ignore_replays(
    fresh_store: EventStore, fresh_pool: AsyncConnectionPool[Any]
) -> None:
    log = Log(fresh_store)
    await log.append("a", SessionStarted(session_id="a", created_by=ADA,
                                         metadata={"tier": 3, "team": "gold"}))
    await log.append("b", SessionStarted(session_id="b", created_by=ADA,
                                         metadata={"tier": 3, "tags": ["x"], "gone": None}))
    await log.append("c", SessionStarted(session_id="c", metadata={"tier": "3", "o": {"k": 1}}))
    # Started and deleted within one batch: never counted.
    await log.append("d", SessionStarted(session_id="d", created_by=BOB, metadata={"tier": 3}),
                     SessionDeleted(session_id="d"))
    first = await log.batch()
    for _ in range(2):  # the second time is a replay after a crash: nothing moves
        await apply(fresh_pool, first)
        counts = await counts_table(fresh_pool)
        assert counts == await recounted(fresh_pool)
        assert counts["{}"] == 3 and counts[account(ADA)] == 2 and account(BOB) not in counts
        assert counts[metadata(tier=3)] == 2 and counts[metadata(tier="3")] == 1
        assert counts[metadata(gone=None)] == 1
        assert '"tags"' not in str(counts) and '"o"' not in str(counts)  # not scalars

    await log.append("a", SessionDeleted(session_id="a"))
    await log.append("b", SessionSettingsChanged(session_id="b", metadata={"tier": 4}),
                     SessionRenamed(session_id="b", name="renamed"))
    await log.append("c", MessagePosted(session_id="c", message_id="m", parts=[]))
    await log.append("d", SessionSettingsChanged(session_id="d", metadata={"tier": 5}))
    await log.append("e", SessionStarted(session_id="e", created_by=BOB, metadata={"tier": 4}))
    second = await log.batch()
    for _ in range(2):
        await apply(fresh_pool, second)
        counts = await counts_table(fresh_pool)
        assert counts == await recounted(fresh_pool)
        assert counts["{}"] == 3 and counts[account(ADA)] == 1 and counts[account(BOB)] == 1
        assert counts[metadata(tier=4)] == 2
        # Counts that fell to zero are gone, not kept as zeros.
        assert metadata(tier=3) not in counts and metadata(team="gold") not in counts
        assert metadata(tier=5) not in counts  # d is deleted: its metadata counts nowhere


async def test_a_count_falling_to_zero_and_rising_again_in_one_batch_is_kept(
    fresh_store: EventStore, fresh_pool: AsyncConnectionPool[Any]
) -> None:
    log = Log(fresh_store)
    await log.append("a", SessionStarted(session_id="a", metadata={"team": "gold"}))
    await apply(fresh_pool, await log.batch())
    # One batch: a is deleted (gold falls to zero), b starts with gold (it rises again).
    await log.append("a", SessionDeleted(session_id="a"))
    await log.append("b", SessionStarted(session_id="b", metadata={"team": "gold"}))
    await apply(fresh_pool, await log.batch())
    assert await counts_table(fresh_pool) == {"{}": 1, metadata(team="gold"): 1}


def test_only_the_filters_a_count_answers_have_a_count_filter() -> None:
    who = uuid.UUID(int=1)
    assert count_filter(None, {}) == "{}"
    assert count_filter(who, {}) == json.dumps({"account": str(who)}, separators=(",", ":"))
    assert count_filter(None, {"tier": 3}) == '{"metadata":{"tier":3}}'
    assert count_filter(None, {"tier": None}) == '{"metadata":{"tier":null}}'
    assert count_filter(who, {"tier": 3}) is None
    assert count_filter(None, {"tier": 3, "vip": True}) is None
    assert count_filter(None, {"tags": ["x"]}) is None


async def test_the_migration_counts_the_sessions_already_projected(
    services: FoundServices,
) -> None:
    """Migration 0010 fills session_counts from the rows an older projector wrote."""
    name = f"robots_test_{uuid.uuid4().hex[:8]}"
    admin = services.postgres_admin_url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = database_url(admin, name)
        files = migration_files()
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            for file, sql in files:
                if file < "0010":
                    await conn.execute(sql.encode())
            await conn.execute(
                "INSERT INTO sessions (id, created_by, created_at, updated_at, deleted_at,"
                " metadata, version) VALUES"
                " ('a', %(ada)s, now(), now(), NULL, '{\"tier\": 3, \"team\": \"gold\"}', 1),"
                " ('b', %(ada)s, now(), now(), NULL, '{\"tier\": 3, \"tags\": [1]}', 1),"
                " ('c', NULL, now(), now(), NULL, '{}', 1),"
                " ('d', %(bob)s, now(), now(), now(), '{\"tier\": 3}', 2)",
                {"ada": ADA, "bob": BOB})
            await conn.execute(dict(files)["0010_session_counts_and_listing_indexes.sql"].encode())
        async with AsyncConnectionPool(url, min_size=1, max_size=1) as pool:
            counts = await counts_table(pool)
            assert counts == await recounted(pool)
        assert counts == {"{}": 3, account(ADA): 2, metadata(tier=3): 2, metadata(team="gold"): 1}
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
