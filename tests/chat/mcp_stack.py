"""For the MCP turn tests: a running stack on a database of its own (cached MCP tools show
in every GET /robots/tools, so they stay out of the shared database), a server registered
and refreshed through the API, and scripted calls of its tools."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx

from app.adapters.llm.local_model import ScriptedToolCall
from app.config.settings import Settings
from tests.chat.helpers import new_id
from tests.chat.stack import Stack, running_stack
from tests.conftest import _create_database, _drop_database
from tests.mcp_support import McpTestServer
from tests.services import FoundServices


@contextlib.asynccontextmanager
async def stack_of_its_own(services: FoundServices, template_database: str, *,
                           workers: int = 1, **overrides: Any) -> AsyncIterator[Stack]:
    name = f"robots_test_mcp_{uuid.uuid4().hex[:8]}"
    url = _create_database(services.postgres_admin_url, name, template_database)
    base = Settings(database_url=url, redis_url=services.redis_url,
                    redis_prefix=f"{services.redis_prefix}-{uuid.uuid4().hex[:6]}",
                    secret_key=f"mcp-turns-{uuid.uuid4().hex}", db_pool_min=1, db_pool_max=8,
                    turn_lease_s=1.5, sweep_interval_s=1, sweep_grace_s=1.0)
    try:
        async with running_stack(base, workers=workers, **overrides) as running:
            yield running
    finally:
        _drop_database(services.postgres_admin_url, name)


async def register(stack: Stack, mcp: McpTestServer,
                   seen: list[httpx.Response] | None = None) -> str:
    """Register `mcp` through the API and refresh its tools: its slug."""
    slug = f"wx-{uuid.uuid4().hex[:6]}"
    async with stack.client() as client:
        created = await client.post("/robots/mcp-servers", json={
            "name": "Weather", "slug": slug, "url": mcp.url, "bearer_token": mcp.token})
        refreshed = await client.post(f"/robots/mcp-servers/{created.json()['id']}/refresh")
        listed = await client.get("/robots/tools")
    assert refreshed.status_code == 200, refreshed.text
    if seen is not None:
        seen += [created, refreshed, listed]
    return slug


def call(name: str, arguments: dict[str, Any]) -> tuple[str, ScriptedToolCall]:
    """A scripted call of `name` and its call id."""
    call_id = new_id("call")
    return call_id, ScriptedToolCall(name=name, arguments=json.dumps(arguments),
                                     call_id=call_id)
