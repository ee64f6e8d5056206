"""Model providers from the API's side: what is in effect for each one (never a key, never a
credential in a URL), a change checked before it is stored, a model-list refresh, and the
models an administrator may pick."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import msgspec

from app.adapters.provider_settings import CachedModel, ModelCache, ProviderSettingsStore
from app.config.settings import Settings
from app.domain.endpoints import secret_problem, url_problem
from app.domain.providers import (
    ProviderSpec,
    ProviderState,
    StoredProvider,
    effective,
    provider_specs,
)
from app.services.model_lists import refresh_model_list


class UnknownProvider(Exception):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(f"no model provider named {name!r}; known providers:"
                         f" {', '.join(known)}")


class InvalidProviderField(Exception):
    """A change the store must not take; the message never quotes a key."""

    def __init__(self, field: str, detail: str) -> None:
        self.field = field
        super().__init__(detail)


class ProviderChange(msgspec.Struct, kw_only=True):
    """The fields an administrator sent; UNSET: keep the value. base_url None: the
    environment's."""

    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    api_key: str | msgspec.UnsetType = msgspec.UNSET
    clear_api_key: bool = False
    base_url: str | msgspec.UnsetType | None = msgspec.UNSET

    def __repr__(self) -> str:  # the key must never reach a log line through a repr
        return "ProviderChange(...)"


class ProviderStatus(msgspec.Struct, frozen=True, kw_only=True):
    """One provider as an administrator may see it."""

    state: ProviderState  # what is in effect; holds no key
    shown_base_url: str | None  # the base URL in effect, credentials and query removed
    stale: bool  # the cached model list is old, failed, or predates the connection
    cache: ModelCache


class ProviderService:
    """Built per request from the process's parts (app/api/deps.py)."""

    def __init__(self, store: ProviderSettingsStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    async def statuses(self) -> list[ProviderStatus]:
        """Every provider, built-in first, with its cached models."""
        stored, caches = await self.store.all(), await self.store.caches()
        return [self._status(spec, stored.get(name), caches.get(name, ModelCache(provider=name)))
                for name, spec in provider_specs(self.settings).items()]

    async def update(self, name: str, change: ProviderChange,
                     changed_by: uuid.UUID) -> ProviderStatus:
        """Store the fields sent. Raises UnknownProvider, InvalidProviderField."""
        spec = self._spec(name)
        changes = _changes(change, spec, await self.store.get(name))
        stored = await self.store.update(name, changed_by, **changes)
        return self._status(spec, stored, await self.store.cache(name))

    async def refresh(self, name: str) -> ProviderStatus:
        """Fetch the model list now; a provider that fails leaves its error in the cache.
        Raises UnknownProvider."""
        spec = self._spec(name)
        stored = await self.store.get(name)
        cache = await refresh_model_list(effective(spec, stored), stored, self.store,
                                         self.settings)
        return self._status(spec, stored, cache)

    async def list_missing_models(self) -> list[str]:
        """Refresh the local provider's model list if it was never listed: it needs no key
        and no network, so a first start lists its models with no refresh asked. Others
        wait for an administrator (a key to set, a paid or unreachable endpoint). The
        names of the providers refreshed."""
        stored, caches = await self.store.all(), await self.store.caches()
        missing = [name for name, spec in provider_specs(self.settings).items()
                   if spec.kind == "local" and effective(spec, stored.get(name)).enabled
                   and (name not in caches or caches[name].last_refreshed_at is None)]
        for name in missing:
            await self.refresh(name)
        return missing

    async def usable_models(self) -> list[tuple[str, CachedModel]]:
        """(provider, model) of every enabled provider that has the key it needs."""
        stored, caches = await self.store.all(), await self.store.caches()
        models: list[tuple[str, CachedModel]] = []
        for name, spec in provider_specs(self.settings).items():
            usable = effective(spec, stored.get(name))
            if name in caches and usable.enabled and (
                    usable.has_api_key or not spec.requires_api_key):
                models += [(name, m) for m in caches[name].models]
        return models

    def _spec(self, name: str) -> ProviderSpec:
        specs = provider_specs(self.settings)
        if name not in specs:
            raise UnknownProvider(name, list(specs))
        return specs[name]

    def _status(self, spec: ProviderSpec, stored: StoredProvider | None,
                cache: ModelCache) -> ProviderStatus:
        state = effective(spec, stored)
        stale = cache.stale(stored, datetime.now(UTC), self.settings.model_list_max_age_s)
        return ProviderStatus(state=state, shown_base_url=shown_url(state.base_url),
                              stale=stale, cache=cache)


def shown_url(url: str | None) -> str | None:
    """`url` without anything secret-shaped: an operator's URL may carry credentials."""
    if url is None:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    try:
        netloc += f":{parts.port}" if parts.port else ""
    except ValueError:
        pass
    return parts._replace(netloc=netloc, query="", fragment="").geturl()


def _changes(change: ProviderChange, spec: ProviderSpec,
             stored: StoredProvider | None) -> dict[str, Any]:
    """The store's update arguments for `change`, checked; InvalidProviderField if not."""
    changes: dict[str, Any] = {}
    if change.enabled is not msgspec.UNSET:
        changes["enabled"] = change.enabled
    if change.api_key is not msgspec.UNSET:
        if change.clear_api_key:
            raise InvalidProviderField("clear_api_key",
                                       "send api_key or clear_api_key: true, not both")
        changes["api_key"] = _checked_key(change.api_key)
    changes["clear_api_key"] = change.clear_api_key
    if change.base_url is not msgspec.UNSET:
        url = None if change.base_url is None else _checked_url(change.base_url)
        key_stays = (stored is not None and stored.api_key_encrypted is not None
                     and "api_key" not in changes and not change.clear_api_key)
        if url is not None and url != effective(spec, stored).base_url and key_stays:
            raise InvalidProviderField(
                "base_url", "a stored API key would be sent to the new base_url:"
                " send api_key again (or clear_api_key: true) with it")
        changes["base_url"] = url
    return changes


def _checked_key(key: str) -> str:
    key = key.strip()
    if problem := secret_problem(key):
        raise InvalidProviderField("api_key", f"api_key {problem}; to remove the key send"
                                   " clear_api_key: true")
    return key


def _checked_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if problem := url_problem(url, query_allowed=False):
        raise InvalidProviderField("base_url", f"base_url {problem} (e.g."
                                   " http://127.0.0.1:11434/v1; a key goes in api_key)")
    return url
