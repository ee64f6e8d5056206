"""Readiness: can this process reach PostgreSQL and Redis right now?"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from psycopg_pool import AsyncConnectionPool

# A load balancer polls often; a dependency slower than this counts as down.
CHECK_TIMEOUT_S = 2.0


async def readiness(pool: AsyncConnectionPool[Any], redis: aioredis.Redis) -> dict[str, str]:
    """{"postgres": ..., "redis": ...}: "ok", or what went wrong (never raises)."""
    postgres, redis_state = await asyncio.gather(_check_postgres(pool), _check_redis(redis))
    return {"postgres": postgres, "redis": redis_state}


async def _check_postgres(pool: AsyncConnectionPool[Any]) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            async with pool.connection() as conn:
                await conn.execute("SELECT 1")
        return "ok"
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"


async def _check_redis(redis: aioredis.Redis) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            pong: Any = await redis.ping()
        return "ok" if pong else "no answer"
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
