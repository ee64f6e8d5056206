"""The AI SDK client fixtures (`ai_sdk`, parametrized over `ai` 6 and 7; `ai_sdk_project`)
and the running stack each AI SDK test module talks to."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from app.config.settings import Settings
from tests.chat.stack import Stack, running_stack
from tests.e2e.ai_sdk_support import AiSdkProject, ai_sdk, ai_sdk_project
from tests.services import FoundServices

__all__ = ["ai_sdk", "ai_sdk_project", "stack"]


@pytest.fixture(scope="module")
async def stack(ai_sdk_project: AiSdkProject, services: FoundServices,
                database: str) -> AsyncIterator[Stack]:
    # Depends on the project so a first-run npm install happens before the stack starts (and
    # not on `ai_sdk`, so both majors share one stack). Default lease and sweep timings:
    # nothing here tests recovery, and a slow machine must not retry.
    base = Settings(database_url=database, redis_url=services.redis_url,
                    redis_prefix=f"{services.redis_prefix}-{uuid.uuid4().hex[:6]}",
                    db_pool_min=1, db_pool_max=8)
    async with running_stack(base) as running:
        yield running
