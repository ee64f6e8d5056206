"""Shared fixtures: real PostgreSQL and Redis, each test run in databases of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from app.adapters.migrations import migrate_url
from app.domain.events import registry
from app.eventstore import EventStore
from tests.services import FoundServices, database_url


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (or see bench/)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def services() -> Iterator[FoundServices]:
    found = FoundServices()
    yield found
    found.stop()


def _create_database(admin_url: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        clause = f" TEMPLATE {template}" if template else ""
        conn.execute(f'CREATE DATABASE "{name}"{clause}')
    return database_url(admin_url, name)


def _drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def template_database(services: FoundServices) -> AsyncIterator[str]:
    """A migrated database that fresh test databases are copied from."""
    name = f"robots_test_tpl_{uuid.uuid4().hex[:8]}"
    url = _create_database(services.postgres_admin_url, name)
    await migrate_url(url)
    yield name
    _drop_database(services.postgres_admin_url, name)


@pytest.fixture(scope="session")
async def database(services: FoundServices, template_database: str) -> AsyncIterator[str]:
    """The run's shared database: tests that share it use their own stream ids."""
    name = f"robots_test_{uuid.uuid4().hex[:8]}"
    yield _create_database(services.postgres_admin_url, name, template_database)
    _drop_database(services.postgres_admin_url, name)


@pytest.fixture(scope="module")
async def module_database(services: FoundServices, template_database: str
                          ) -> AsyncIterator[str]:
    """An empty migrated database for one module: for a stack whose projector reads the
    log from zero after other modules wrote raw events (accounts such as "alice") into the
    shared one."""
    name = f"robots_test_{uuid.uuid4().hex[:8]}"
    yield _create_database(services.postgres_admin_url, name, template_database)
    _drop_database(services.postgres_admin_url, name)


@pytest.fixture
async def fresh_database(services: FoundServices, template_database: str) -> AsyncIterator[str]:
    """An empty migrated database for one test (for tests that read the whole log)."""
    name = f"robots_test_{uuid.uuid4().hex[:8]}"
    yield _create_database(services.postgres_admin_url, name, template_database)
    _drop_database(services.postgres_admin_url, name)


async def _open_pool(url: str, max_size: int = 10) -> AsyncConnectionPool[Any]:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url, min_size=1, max_size=max_size, open=False
    )
    await pool.open(wait=True)
    return pool


@pytest.fixture(scope="session")
async def pool(database: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    p = await _open_pool(database)
    yield p
    await p.close()


@pytest.fixture
async def fresh_pool(fresh_database: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    p = await _open_pool(fresh_database, max_size=12)
    yield p
    await p.close()


@pytest.fixture(scope="session")
def store(pool: AsyncConnectionPool[Any]) -> EventStore:
    return EventStore(pool, registry)


@pytest.fixture
def fresh_store(fresh_pool: AsyncConnectionPool[Any]) -> EventStore:
    return EventStore(fresh_pool, registry)
