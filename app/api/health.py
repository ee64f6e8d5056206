"""Liveness and readiness: what a load balancer and an orchestrator poll."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Response, get
from litestar.datastructures import State

from app.bootstrap import Services


class Health(msgspec.Struct):
    status: str
    checks: dict[str, str] = {}


@get("/health", sync_to_thread=False, tags=["health"])
def health() -> Health:
    """The process is alive and serving HTTP."""
    return Health(status="ok")


@get("/ready", tags=["health"])
async def ready(state: State) -> Response[Health]:
    """PostgreSQL and Redis both answer: send traffic here. 503 when either does not."""
    services: Services = state.services
    checks = dict(
        zip(
            ("postgres", "redis"),
            await asyncio.gather(_check_postgres(services), _check_redis(services)),
            strict=True,
        )
    )
    ok = all(v == "ok" for v in checks.values())
    return Response(Health(status="ready" if ok else "unavailable", checks=checks),
                    status_code=200 if ok else 503)


async def _check_postgres(services: Services) -> str:
    try:
        async with asyncio.timeout(2):
            async with services.pool.connection() as conn:
                await conn.execute("SELECT 1")
        return "ok"
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"


async def _check_redis(services: Services) -> str:
    try:
        async with asyncio.timeout(2):
            pong: Any = await services.redis.ping()
        return "ok" if pong else "no answer"
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
