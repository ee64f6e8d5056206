"""One running stack per test module (starting one costs about a second)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from app.config.settings import Settings
from tests.chat.stack import Stack, running_stack
from tests.services import FoundServices


@pytest.fixture(scope="module")
async def stack(services: FoundServices, database: str) -> AsyncIterator[Stack]:
    base = Settings(database_url=database, redis_url=services.redis_url,
                    redis_prefix=f"{services.redis_prefix}-{uuid.uuid4().hex[:6]}",
                    db_pool_min=1, db_pool_max=8, turn_lease_s=1.5, sweep_interval_s=1,
                    sweep_grace_s=1.0)
    async with running_stack(base) as running:
        yield running


@pytest.fixture(scope="module")
async def bare_stack(services: FoundServices, database: str) -> AsyncIterator[Stack]:
    """API and projector, no worker: each test brings the workers it needs. A dead
    worker's turn is retried about 1.5 s after it died."""
    base = Settings(database_url=database, redis_url=services.redis_url,
                    redis_prefix=f"{services.redis_prefix}-{uuid.uuid4().hex[:6]}",
                    db_pool_min=1, db_pool_max=8, turn_lease_s=1.5, sweep_interval_s=1,
                    sweep_grace_s=1.0)
    async with running_stack(base, workers=0) as running:
        yield running
