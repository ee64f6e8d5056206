"""From what is in effect for a provider to the `ProviderConfig` an adapter is built from.

This is the one place a stored key is decrypted, just before it goes to an SDK.
"""

from __future__ import annotations

from app.adapters.llm import ModelError, ProviderConfig
from app.adapters.server_secret import KeyCipher, UndecryptableKey
from app.config.settings import Settings
from app.domain.providers import ProviderState, StoredProvider, environment_key

_ENV_KEY = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}


def provider_config(state: ProviderState, stored: StoredProvider | None, cipher: KeyCipher,
                    settings: Settings, *, timeout_s: float = 60.0) -> ProviderConfig:
    """How to reach the provider now. `ModelError` (with no secret in it) when it needs a
    key and has none, or its stored key no longer decrypts. Says nothing of `enabled`."""
    name, spec = state.name, state.spec
    api_key: str | None = None
    if state.key_source == "stored" and stored and stored.api_key_encrypted:
        try:
            api_key = cipher.decrypt(stored.api_key_encrypted)
        except UndecryptableKey as exc:
            raise ModelError(f"model provider '{name}': {exc}") from None
    elif state.key_source == "environment":
        api_key = environment_key(settings, spec)
    elif spec.requires_api_key:
        raise ModelError(missing_key_message(state))
    return ProviderConfig(name=name, kind=spec.kind, api_key=api_key, base_url=state.base_url,
                          max_retries=settings.model_max_retries, timeout_s=timeout_s)


def missing_key_message(state: ProviderState) -> str:
    name = state.name
    message = (f"model provider '{name}' has no API key: an administrator can set one with"
               f" PATCH /robots/providers/{name}")
    env = _ENV_KEY.get(state.spec.kind)
    if env and state.spec.has_env_key:
        return (f"{message} ({env} is only sent to the environment's base URL, and the"
                " provider has another base URL set)")
    return f"{message} or the {env} environment variable" if env else message


def disabled_error(name: str) -> ModelError:
    return ModelError(f"model provider '{name}' is disabled; an administrator can enable it"
                      f" with PATCH /robots/providers/{name}")
