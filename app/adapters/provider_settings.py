"""Provider settings and model-list caches in Postgres (`migrations/0008_provider_settings.sql`).

API keys are encrypted here, on the way in, and leave only as Fernet tokens: callers that
need a key's value decrypt it with `store.cipher` just before handing it to an SDK.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec
from psycopg_pool import AsyncConnectionPool

from app.adapters.server_secret import KeyCipher
from app.domain.providers import StoredProvider

_SETTINGS_COLUMNS = "provider, enabled, api_key_encrypted, base_url, connection_changed_at"
_CACHE_COLUMNS = "provider, models, last_refreshed_at, last_attempt_at, last_error"


class CachedModel(msgspec.Struct, frozen=True):
    id: str
    name: str


class ModelCache(msgspec.Struct, frozen=True, kw_only=True):
    """The last model list fetched from a provider and how the latest refresh went."""

    provider: str
    models: list[CachedModel] = []
    last_refreshed_at: datetime | None = None  # the last successful refresh
    last_attempt_at: datetime | None = None
    last_error: str | None = None  # None when the latest refresh succeeded

    def stale(self, stored: StoredProvider | None, now: datetime, max_age_s: float) -> bool:
        """True unless the latest refresh succeeded, recently, with today's key and URL."""
        if self.last_refreshed_at is None or self.last_error is not None:
            return True
        changed = stored.connection_changed_at if stored else None
        if changed is not None and changed > self.last_refreshed_at:
            return True
        return now - self.last_refreshed_at > timedelta(seconds=max_age_s)


class ProviderSettingsStore:
    def __init__(self, pool: AsyncConnectionPool[Any], cipher: KeyCipher) -> None:
        self.pool = pool
        self.cipher = cipher

    async def get(self, name: str) -> StoredProvider | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_SETTINGS_COLUMNS} FROM provider_settings WHERE provider = %s", [name])
            row = await cur.fetchone()
        return _stored(row) if row else None

    async def all(self) -> dict[str, StoredProvider]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(f"SELECT {_SETTINGS_COLUMNS} FROM provider_settings")
            return {row[0]: _stored(row) for row in await cur.fetchall()}

    async def update(
        self, name: str, actor: uuid.UUID | None, *, enabled: bool | None = None,
        api_key: str | None = None, clear_api_key: bool = False,
        base_url: str | msgspec.UnsetType | None = msgspec.UNSET,
    ) -> StoredProvider:
        """Change what is given and keep the rest. `api_key` is encrypted before it is
        written; `clear_api_key` removes the stored one; `base_url=None` removes the stored
        URL (the environment's applies again)."""
        sets: dict[str, Any] = {}
        if enabled is not None:
            sets["enabled"] = enabled
        if api_key is not None or clear_api_key:
            sets["api_key_encrypted"] = self.cipher.encrypt(api_key) if api_key else None
        if base_url is not msgspec.UNSET:
            sets["base_url"] = base_url
        # now() is the database's clock, like the cache's: "changed after the last refresh"
        # then compares times from one clock.
        connection_changed = "api_key_encrypted" in sets or "base_url" in sets
        columns = ["provider", "updated_by", *sets]
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in ["updated_by", *sets])
        sql = (
            f"INSERT INTO provider_settings ({', '.join(columns)}, connection_changed_at)"
            f" VALUES ({', '.join(['%s'] * len(columns))}, CASE WHEN %s THEN now() END)"
            f" ON CONFLICT (provider) DO UPDATE SET {updates}, updated_at = now(),"
            " connection_changed_at = COALESCE(EXCLUDED.connection_changed_at,"
            " provider_settings.connection_changed_at)"
            f" RETURNING {_SETTINGS_COLUMNS}"
        )
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, [name, actor, *sets.values(), connection_changed])
            row = await cur.fetchone()
        assert row is not None  # an upsert always returns its row
        return _stored(row)

    async def cache(self, name: str) -> ModelCache:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_CACHE_COLUMNS} FROM provider_model_cache WHERE provider = %s", [name])
            row = await cur.fetchone()
        return _cache(row) if row else ModelCache(provider=name)

    async def caches(self) -> dict[str, ModelCache]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(f"SELECT {_CACHE_COLUMNS} FROM provider_model_cache")
            return {row[0]: _cache(row) for row in await cur.fetchall()}

    async def record_models(self, name: str, models: list[CachedModel]) -> ModelCache:
        """A successful refresh: the list replaces the cached one and clears the error."""
        return await self._record(
            "INSERT INTO provider_model_cache AS c (provider, models, last_refreshed_at,"
            " last_attempt_at, last_error) VALUES (%s, %s::jsonb, now(), now(), NULL)"
            " ON CONFLICT (provider) DO UPDATE SET models = EXCLUDED.models,"
            " last_refreshed_at = now(), last_attempt_at = now(), last_error = NULL",
            [name, msgspec.json.encode(models).decode()])

    async def record_refresh_error(self, name: str, error: str) -> ModelCache:
        """A failed refresh: the cached list stays (stale); `error` must hold no secret."""
        return await self._record(
            "INSERT INTO provider_model_cache AS c (provider, last_attempt_at, last_error)"
            " VALUES (%s, now(), %s) ON CONFLICT (provider) DO UPDATE"
            " SET last_attempt_at = now(), last_error = EXCLUDED.last_error",
            [name, error])

    async def _record(self, sql: str, params: list[Any]) -> ModelCache:
        async with self.pool.connection() as conn:
            row = await (await conn.execute(f"{sql} RETURNING {_CACHE_COLUMNS}",
                                            params)).fetchone()
        assert row is not None
        return _cache(row)


def _stored(row: Any) -> StoredProvider:
    token = bytes(row[2]) if row[2] is not None else None
    return StoredProvider(name=row[0], enabled=row[1], api_key_encrypted=token,
                          base_url=row[3], connection_changed_at=row[4])


def _cache(row: Any) -> ModelCache:
    return ModelCache(provider=row[0], models=msgspec.convert(row[1], list[CachedModel]),
                      last_refreshed_at=row[2], last_attempt_at=row[3], last_error=row[4])
