"""What a controller may ask for, by parameter name (Litestar's dependency injection).

Every value is a part of the process's `Services`, built once in the app's lifespan by the
composition root (app/bootstrap.py); these providers only hand the parts out, or wrap them
in a per-request service. A controller method names just what it uses, and a test can give
an app another part under the same name (`dependencies=` on the app or a controller).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from psycopg_pool import AsyncConnectionPool

from app.adapters.accounts import AccountStore
from app.adapters.mcp_servers import McpServerStore
from app.adapters.provider_settings import ProviderSettingsStore
from app.adapters.robots import RobotStore
from app.bootstrap import Services
from app.config.settings import Settings
from app.eventstore import EventStore
from app.services.mcp_servers import McpServerService
from app.services.providers import ProviderService
from app.services.robots import RobotService

Pool = AsyncConnectionPool[Any]


def provide_services(state: State) -> Services:
    """The whole bag, for the service functions that take it (app/services/chat.py, ...)."""
    services: Services = state.services
    return services


def provide_settings(services: NamedDependency[Services]) -> Settings:
    return services.settings


def provide_pool(services: NamedDependency[Services]) -> Pool:
    return services.pool


def provide_redis(services: NamedDependency[Services]) -> aioredis.Redis:
    return services.redis


def provide_store(services: NamedDependency[Services]) -> EventStore:
    return services.store


def provide_accounts(services: NamedDependency[Services]) -> AccountStore:
    return services.accounts


def provide_robots(services: NamedDependency[Services]) -> RobotStore:
    return services.robots


def provide_provider_settings(services: NamedDependency[Services]) -> ProviderSettingsStore:
    return services.provider_settings


def provide_robot_service(robots: NamedDependency[RobotStore], pool: NamedDependency[Pool],
                          settings: NamedDependency[Settings]) -> RobotService:
    return RobotService(robots, pool, settings)


def provide_provider_service(
    provider_settings: NamedDependency[ProviderSettingsStore],
    settings: NamedDependency[Settings],
) -> ProviderService:
    return ProviderService(provider_settings, settings)


def provide_mcp_servers(services: NamedDependency[Services]) -> McpServerStore:
    return services.mcp_servers


def provide_mcp_server_service(mcp_servers: NamedDependency[McpServerStore],
                               settings: NamedDependency[Settings]) -> McpServerService:
    return McpServerService(mcp_servers, settings)


_PROVIDERS: dict[str, Callable[..., Any]] = {
    "services": provide_services,
    "settings": provide_settings,
    "pool": provide_pool,
    "redis": provide_redis,
    "store": provide_store,
    "accounts": provide_accounts,
    "robots": provide_robots,
    "provider_settings": provide_provider_settings,
    "robot_service": provide_robot_service,
    "provider_service": provide_provider_service,
    "mcp_servers": provide_mcp_servers,
    "mcp_server_service": provide_mcp_server_service,
}


def dependencies() -> dict[str, Provide]:
    """The app's dependencies, new for each app: a Provide keeps per-app state once used.
    Every provider only reads attributes, so none needs a thread."""
    return {name: Provide(provider, sync_to_thread=False)
            for name, provider in _PROVIDERS.items()}
