"""What a benchmark creates and removes again: scratch databases and Redis keys.

A benchmark never touches an existing database: it creates `<prefix>_<hex>`, migrates it,
and drops it at the end, even when the run fails or is interrupted. Its Redis keys carry a
prefix of their own and are deleted the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import psycopg

from app.adapters.migrations import migrate_url


def database_url(admin_url: str, name: str) -> str:
    """The admin URL pointed at another database on the same server."""
    return psycopg.conninfo.make_conninfo(admin_url, dbname=name)


def database_name(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])


@asynccontextmanager
async def scratch_database(admin_url: str, prefix: str = "robots_bench", *,
                           keep: bool = False, migrate: bool = True) -> AsyncIterator[str]:
    """A freshly created database (migrated in process unless `migrate` is False), dropped
    on exit whatever happened, unless `keep`."""
    name = await create_database(admin_url, prefix)
    try:
        url = database_url(admin_url, name)
        if migrate:
            await migrate_url(url)
        yield url
    finally:
        if not keep:
            await drop_database(admin_url, name)


async def create_database(admin_url: str, prefix: str) -> str:
    """A new empty database named `<prefix>_<10 hex digits>`; its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as admin:
        await admin.execute(f'CREATE DATABASE "{name}"'.encode())
    return name


async def drop_database(admin_url: str, name: str) -> None:
    # FORCE: a benchmark that died mid-run may leave connections (or child processes) open.
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as admin:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


async def delete_redis_keys(redis_url: str, pattern: str, named: Sequence[str] = ()) -> None:
    """Unlink the keys `named` and every key matching `pattern`, a thousand per command."""
    import redis.asyncio as aioredis  # imported here: eventlog's writer processes never need it

    client = aioredis.Redis.from_url(redis_url)
    try:
        for at in range(0, len(named), 1000):
            await client.unlink(*named[at : at + 1000])
        batch: list[bytes] = []
        async for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                await client.unlink(*batch)
                batch = []
        if batch:
            await client.unlink(*batch)
    finally:
        await client.aclose()
