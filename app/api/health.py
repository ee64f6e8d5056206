"""Liveness and readiness: what a load balancer and an orchestrator poll."""

from __future__ import annotations

import msgspec
import redis.asyncio as aioredis
from litestar import Response, get
from litestar.di import NamedDependency

from app.api.deps import Pool
from app.services.health import readiness


class Health(msgspec.Struct):
    status: str
    checks: dict[str, str] = {}


@get("/health", sync_to_thread=False, tags=["health"])
def health() -> Health:
    """The process is alive and serving HTTP."""
    return Health(status="ok")


@get("/ready", tags=["health"])
async def ready(pool: NamedDependency[Pool],
                redis: NamedDependency[aioredis.Redis]) -> Response[Health]:
    """PostgreSQL and Redis both answer: send traffic here. 503 when either does not."""
    checks = await readiness(pool, redis)
    ok = all(v == "ok" for v in checks.values())
    return Response(Health(status="ready" if ok else "unavailable", checks=checks),
                    status_code=200 if ok else 503)
