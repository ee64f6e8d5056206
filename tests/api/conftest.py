"""An API app on the test database and Redis, and accounts of each role."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from app.api.app import create_app
from app.bootstrap import Services
from app.config.settings import Settings
from app.domain.accounts import Role
from tests.services import FoundServices


@pytest.fixture(scope="session")
def settings(services: FoundServices, database: str) -> Settings:
    return Settings(
        database_url=database, redis_url=services.redis_url, redis_prefix=services.redis_prefix,
        db_pool_min=1, db_pool_max=5,
    )


@pytest.fixture(scope="session")
async def app_services(settings: Settings) -> AsyncIterator[Services]:
    built = await Services.start(settings)
    yield built
    await built.close()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    # The app builds its own services in its lifespan, on the loop that serves it.
    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c


async def _token(app_services: Services, role: Role) -> str:
    _, token = await app_services.accounts.create(f"{role}-{uuid.uuid4().hex[:8]}", None, role)
    return token


@pytest.fixture
async def admin_token(app_services: Services) -> str:
    return await _token(app_services, Role.ADMIN)


@pytest.fixture
async def member_token(app_services: Services) -> str:
    return await _token(app_services, Role.MEMBER)


@pytest.fixture
async def guest_token(app_services: Services) -> str:
    return await _token(app_services, Role.GUEST)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def fresh_settings(services: FoundServices, fresh_database: str) -> Settings:
    return msgspec.structs.replace(
        Settings(redis_url=services.redis_url, redis_prefix=services.redis_prefix,
                 db_pool_min=1, db_pool_max=5),
        database_url=fresh_database,
    )


@pytest.fixture
async def fresh_client(fresh_settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """A client on an empty database of its own (for counts and pagination)."""
    async with AsyncTestClient(app=create_app(fresh_settings)) as c:
        yield c


@pytest.fixture
async def fresh_admin_token(fresh_settings: Settings) -> AsyncIterator[str]:
    built = await Services.start(fresh_settings)
    try:
        yield await _token(built, Role.ADMIN)
    finally:
        await built.close()
