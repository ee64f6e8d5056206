"""The `robots` command line against a real database, with no Redis configured."""

from __future__ import annotations

import asyncio
import sys

from bench.harness.processes import env_without_robots_settings


async def robots(*args: str, database_url: str) -> tuple[int, str]:
    env = env_without_robots_settings()
    env["DATABASE_URL"] = database_url
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli.main", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_migrate_accounts_and_rebuild(fresh_database: str) -> None:
    code, out = await robots("migrate", database_url=fresh_database)
    assert code == 0 and "applied 0 migration(s)" in out  # the template is migrated
    code, out = await robots("accounts", "create", "--handle", "ada", "--role", "admin",
                             database_url=fresh_database)
    assert code == 0, out
    token = out.split("API token (shown once, keep it secret): ")[1].split()[0]
    assert token.startswith("rbt_")
    code, out = await robots("accounts", "create", "--handle", "ada",
                             database_url=fresh_database)
    assert code == 2 and "already exists" in out and "Traceback" not in out
    code, out = await robots("rebuild", database_url=fresh_database)
    assert code == 0, out
    assert "sessions: 0 events" in out and "events/s" in out
    code, out = await robots("rebuild", "nope", database_url=fresh_database)
    assert code == 2 and "known: sessions, messages, turns" in out
