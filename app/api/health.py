"""Liveness and readiness: what a load balancer and an orchestrator poll."""

from __future__ import annotations

import msgspec
import redis.asyncio as aioredis
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from app.api.deps import Pool
from app.api.openapi import problems
from app.services.health import readiness


class Health(msgspec.Struct):
    status: str
    checks: dict[str, str] = {}


# Public routes: an empty requirement tells clients (and the fuzzer) no token is needed.
NO_TOKEN: list[dict[str, list[str]]] = [{}]


@get("/health", sync_to_thread=False, tags=["health"], security=NO_TOKEN,
     summary="Liveness", responses=problems(public=True))
def health() -> Health:
    """The process is alive and serving HTTP."""
    return Health(status="ok")


@get("/ready", tags=["health"], security=NO_TOKEN, summary="Readiness",
     responses={**problems(public=True), 503: ResponseSpec(
         Health, generate_examples=False,
         description="PostgreSQL or Redis does not answer; `checks` says which.")})
async def ready(pool: NamedDependency[Pool],
                redis: NamedDependency[aioredis.Redis]) -> Response[Health]:
    """PostgreSQL and Redis both answer: send traffic here. 503 when either does not."""
    checks = await readiness(pool, redis)
    ok = all(v == "ok" for v in checks.values())
    return Response(Health(status="ready" if ok else "unavailable", checks=checks),
                    status_code=200 if ok else 503)
