"""Apply the SQL files in `migrations/` in order, once each, under an advisory lock."""

from __future__ import annotations

from importlib import resources

import psycopg

# Any constant works; it only has to differ from the other advisory locks we take.
MIGRATION_LOCK_KEY = 7_263_001


def migration_files() -> list[tuple[str, str]]:
    """(name, sql) for every migration, sorted by name (names start with a number)."""
    folder = resources.files("migrations")
    files = [f for f in folder.iterdir() if f.name.endswith(".sql")]
    return [(f.name, f.read_text()) for f in sorted(files, key=lambda f: f.name)]


async def migrate(conn: psycopg.AsyncConnection[object]) -> list[str]:
    """Apply pending migrations; returns the names applied. Safe to run from many processes.

    One transaction holds the lock and every pending file, so two processes starting at
    once serialize, and a failing file leaves the schema as it was.
    """
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK_KEY])
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur = await conn.execute("SELECT name FROM schema_migrations")
        done = {row[0] for row in await cur.fetchall()}  # type: ignore[index]
        for name, sql in migration_files():
            if name in done:
                continue
            await conn.execute(sql.encode())
            await conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", [name])
            applied_now.append(name)
    return applied_now


async def migrate_url(database_url: str) -> list[str]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        return await migrate(conn)
