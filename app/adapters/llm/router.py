"""Which provider serves a `provider/model` reference, built once per worker process.

The router reads each provider's settings (what an administrator stored through
`/robots/providers`, over the environment's) when a call is made, and reuses what it read
for `provider_settings_ttl_s`, so a new key, a new base URL or a disabled provider reaches
running workers without a restart. An adapter is rebuilt when its configuration changed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from app.adapters.llm import (
    ModelError,
    ModelEvent,
    ModelInfo,
    ModelProvider,
    ModelRequest,
    ProviderConfig,
    build_provider,
)
from app.adapters.llm.configs import disabled_error, provider_config
from app.adapters.provider_settings import ProviderSettingsStore
from app.adapters.server_secret import KeyCipher
from app.config.settings import Settings
from app.domain.model_refs import ModelRef, parse_model_ref
from app.domain.providers import StoredProvider, effective, provider_specs

log = logging.getLogger(__name__)


class ModelRouter:
    """`provider_settings`: where stored settings are read. None: the router opens a small
    pool of its own on `settings.database_url` (or, with no database, uses the environment's
    settings only)."""

    def __init__(self, settings: Settings,
                 provider_settings: ProviderSettingsStore | None = None) -> None:
        self.settings = settings
        self._specs = provider_specs(settings)
        self._store = provider_settings
        self._own_pool: AsyncConnectionPool[Any] | None = None
        self._store_lock = asyncio.Lock()
        self._routed: dict[str, RoutedProvider] = {}
        self._adapters: dict[str, tuple[ProviderConfig, ModelProvider]] = {}
        # Adapters whose configuration changed; turns may still be streaming through them.
        self._retired: list[ModelProvider] = []
        # name -> (monotonic time read, the config or why there is none)
        self._read: dict[str, tuple[float, ProviderConfig | str]] = {}

    def resolve(self, model: str | None) -> ModelRef:
        return parse_model_ref(model or self.settings.model_for_new_robots, self.settings)

    def provider(self, ref: ModelRef) -> ModelProvider:
        """The provider of `ref`. Its calls raise `ModelError` while it is disabled or has
        no usable key; settings are looked up per call, not here."""
        if ref.provider not in self._routed:
            self._routed[ref.provider] = RoutedProvider(ref.provider, self)
        return self._routed[ref.provider]

    async def adapter(self, name: str) -> ModelProvider:
        """The adapter for `name` as configured now (rebuilt if the configuration changed)."""
        config = await self._config(name)
        current = self._adapters.get(name)
        if current is None or current[0] != config:
            if current is not None:
                self._retired.append(current[1])
            current = (config, build_provider(config))
            self._adapters[name] = current
        return current[1]

    async def warm(self) -> None:
        """Build each usable provider's SDK client now, before the first turn: the first
        build imports most of the SDK and sets up TLS (~0.1 s, blocking), which would stall
        that turn and every other turn of the worker. Unusable ones are left for the turn
        that needs one to report."""
        for name in self._specs:
            try:
                adapter = await self.adapter(name)
            except ModelError:
                continue
            await adapter.warm()

    async def aclose(self) -> None:
        for provider in [*(a for _, a in self._adapters.values()), *self._retired]:
            await provider.aclose()
        self._adapters.clear()
        self._retired.clear()
        self._read.clear()
        if self._own_pool is not None:
            await self._own_pool.close()
            self._own_pool, self._store = None, None

    async def _config(self, name: str) -> ProviderConfig:
        now = time.monotonic()
        cached = self._read.get(name)
        if cached is None or now - cached[0] >= self.settings.provider_settings_ttl_s:
            cached = (now, await self._read_config(name, cached))
            self._read[name] = cached
        if isinstance(cached[1], str):
            raise ModelError(cached[1])
        return cached[1]

    async def _read_config(self, name: str,
                           previous: tuple[float, ProviderConfig | str] | None
                           ) -> ProviderConfig | str:
        spec = self._specs.get(name)
        if spec is None:
            return f"unknown model provider '{name}'"
        try:
            stored = await self._stored(name)
        except (psycopg.Error, OSError) as exc:
            if previous is not None:  # a database blip should not fail turns we can serve
                log.warning("reading provider settings failed, reusing the last: %s", exc)
                return previous[1]
            raise ModelError(f"could not read the settings of model provider '{name}'",
                             retryable=True) from None
        state = effective(spec, stored)
        if not state.enabled:
            return str(disabled_error(name))
        cipher = self._store.cipher if self._store else KeyCipher(self.settings)
        try:
            return provider_config(state, stored, cipher, self.settings)
        except ModelError as exc:
            return str(exc)

    async def _stored(self, name: str) -> StoredProvider | None:
        store = await self._settings_store()
        return await store.get(name) if store else None

    async def _settings_store(self) -> ProviderSettingsStore | None:
        if self._store is not None or not self.settings.database_url:
            return self._store
        async with self._store_lock:
            if self._store is None:
                pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
                    self.settings.database_url, min_size=1, max_size=2, open=False)
                await pool.open(wait=True, timeout=10)
                self._own_pool = pool
                self._store = ProviderSettingsStore(pool, KeyCipher(self.settings))
        return self._store


class RoutedProvider:
    """What `ModelRouter.provider` hands out: each call goes to the adapter configured now.
    Closing it does nothing: the router owns the adapters."""

    def __init__(self, name: str, router: ModelRouter) -> None:
        self.name = name
        self._router = router

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        events = (await self._router.adapter(self.name)).stream(request)
        try:
            async for event in events:
                yield event
        finally:
            await events.aclose()

    async def complete(self, request: ModelRequest) -> str:
        return await (await self._router.adapter(self.name)).complete(request)

    async def list_models(self) -> list[ModelInfo]:
        return await (await self._router.adapter(self.name)).list_models()

    async def warm(self) -> None:
        await (await self._router.adapter(self.name)).warm()

    async def aclose(self) -> None:
        return None
