"""The composition root: every long-lived dependency of a process is built here, once."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from arq.connections import ArqRedis
from psycopg_pool import AsyncConnectionPool

from app.adapters.accounts import AccountStore
from app.adapters.files import FileStore
from app.adapters.mcp_servers import McpServerStore
from app.adapters.provider_settings import ProviderSettingsStore
from app.adapters.robots import RobotStore
from app.adapters.server_secret import KeyCipher
from app.adapters.streams.hub import PubSubHub
from app.adapters.turn_queue import arq_pool
from app.config.settings import Settings
from app.domain.events import registry
from app.eventstore import EventStore
from app.services.handler import SessionHandler
from app.services.reactions import Reactions
from app.services.session_states import SessionStates


class Services:
    """What handlers need, built from settings; a test can build one with other parts."""

    def __init__(
        self, settings: Settings, pool: AsyncConnectionPool[Any], redis: aioredis.Redis,
        arq: ArqRedis,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.redis = redis
        self.arq = arq
        # One pub/sub connection per process, shared by every stream relayed here.
        self.hub = PubSubHub(redis)
        self.store = EventStore(pool, registry)
        # What follows each commit (queue a turn, signal a cancel, end a stream).
        self.reactions = Reactions(redis, arq, settings)
        # Folded sessions this process keeps, shared by every handler in it (a worker's too).
        self.session_states = SessionStates(settings.session_cache_size,
                                            settings.session_snapshot_every)
        self.handler = SessionHandler(self.store, self.reactions.run,
                                      states=self.session_states)
        self.accounts = AccountStore(pool, trust_s=settings.token_trust_s)
        self.robots = RobotStore(pool)
        # Files users send, by digest, outside the event log (app/adapters/files.py says why).
        self.files = FileStore(pool)
        # Provider settings and model lists; API keys are encrypted with the server secret,
        # and so are MCP servers' bearer tokens.
        cipher = KeyCipher(settings)
        self.provider_settings = ProviderSettingsStore(pool, cipher)
        self.mcp_servers = McpServerStore(pool, cipher)

    @classmethod
    async def start(cls, settings: Settings) -> Services:
        if not settings.database_url or not settings.redis_url:
            raise RuntimeError("DATABASE_URL and REDIS_URL must be set (robots dev sets them)")
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            settings.database_url,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            timeout=settings.db_pool_timeout_s,
            open=False,
        )
        await pool.open(wait=True, timeout=30)
        redis = aioredis.Redis.from_url(settings.redis_url)
        arq = await arq_pool(settings.redis_url, settings.redis_prefix)
        return cls(settings, pool, redis, arq)

    async def close(self) -> None:
        await self.reactions.close()
        await self.hub.close()
        await self.arq.aclose()
        await self.redis.aclose()
        await self.pool.close()
