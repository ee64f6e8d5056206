"""The web playground's fixtures: a running stack for each module, one headless Chromium for
each module (Debian's `chromium`, driven by Playwright for Python), and the API app for
plain HTTP checks of the files it serves."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.api.app import create_app
from app.config.settings import Settings
from tests.chat.stack import Stack, running_stack
from tests.services import FoundServices
from tests.web.browser import launched_chromium


@pytest.fixture(scope="module")
async def stack(services: FoundServices, module_database: str) -> AsyncIterator[Stack]:
    # Its own database: the run's shared one may hold raw test events by then, which its
    # projector, starting from zero, could not project.
    base = Settings(database_url=module_database, redis_url=services.redis_url,
                    redis_prefix=f"{services.redis_prefix}-{uuid.uuid4().hex[:6]}",
                    db_pool_min=1, db_pool_max=8)
    async with running_stack(base) as running:
        yield running


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    """One headless Chromium for the module's tests; each test opens its own context."""
    async with launched_chromium() as chromium:
        yield chromium


@pytest.fixture
async def client(services: FoundServices, database: str) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    settings = Settings(database_url=database, redis_url=services.redis_url,
                        redis_prefix=services.redis_prefix, db_pool_min=1, db_pool_max=2)
    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c
