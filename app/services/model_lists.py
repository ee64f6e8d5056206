"""Refresh a provider's cached model list from its own model-list endpoint."""

from __future__ import annotations

import logging

from app.adapters.llm import ModelError, build_provider
from app.adapters.llm.configs import provider_config
from app.adapters.llm.errors import redact
from app.adapters.provider_settings import CachedModel, ModelCache, ProviderSettingsStore
from app.config.settings import Settings
from app.domain.providers import ProviderState, StoredProvider

log = logging.getLogger(__name__)

# An admin waits on this request: a provider that does not answer in time is an error.
REFRESH_TIMEOUT_S = 15.0


async def refresh_model_list(state: ProviderState, stored: StoredProvider | None,
                             store: ProviderSettingsStore, settings: Settings) -> ModelCache:
    """Fetch the model list and cache it. A failure is recorded as the cache's `last_error`
    (the old list stays, stale) and returned, never raised; the error holds no key."""
    name = state.name
    try:
        config = provider_config(state, stored, store.cipher, settings,
                                 timeout_s=REFRESH_TIMEOUT_S)
    except ModelError as exc:
        return await _failed(store, name, str(exc))
    # A throwaway adapter: the API process runs no turns, so it keeps no clients around.
    provider = build_provider(config)
    try:
        models = await provider.list_models()
    except Exception as exc:  # whatever the SDK raises is the provider's answer, not a 500
        message = str(exc) if isinstance(exc, ModelError) else (
            f"listing the models of provider '{name}' failed: {type(exc).__name__}: {exc}")
        return await _failed(store, name, redact(message, config.api_key))
    finally:
        await provider.aclose()
    return await store.record_models(name, [CachedModel(m.id, m.name) for m in models])


async def _failed(store: ProviderSettingsStore, name: str, error: str) -> ModelCache:
    log.warning("refreshing the model list of provider %s failed: %s", name, error)
    return await store.record_refresh_error(name, error)
