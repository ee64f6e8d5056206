"""The model providers this server knows, and what is in effect for each one.

What is in effect is the environment's configuration overlaid with what an administrator
stored through the API: a stored key wins over the environment's, a stored base URL over
the environment's. The environment's key is only ever sent to the environment's base URL,
so an administrator who cannot read a key cannot redirect it elsewhere either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from app.config.settings import Settings
from app.domain.model_refs import BUILTIN_PROVIDERS

ProviderKind = Literal["anthropic", "openai", "openai-compatible", "local"]
KeySource = Literal["stored", "environment"]


class ProviderSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A provider as configured by the environment. It never holds a key's value."""

    name: str
    kind: ProviderKind
    requires_api_key: bool
    env_base_url: str | None
    has_env_key: bool


class StoredProvider(msgspec.Struct, frozen=True, kw_only=True):
    """An administrator's settings for one provider (the key as a Fernet token only)."""

    name: str
    enabled: bool = True
    api_key_encrypted: bytes | None = None
    base_url: str | None = None
    # When the key or base URL last changed: a model list fetched before then is stale.
    connection_changed_at: datetime | None = None

    def __repr__(self) -> str:  # the token is harmless without the secret; still, keep it out
        return f"StoredProvider(name={self.name!r}, enabled={self.enabled})"


class ProviderState(msgspec.Struct, frozen=True, kw_only=True):
    """What is in effect for one provider, without the key's value."""

    spec: ProviderSpec
    enabled: bool
    base_url: str | None
    key_source: KeySource | None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def has_api_key(self) -> bool:
        return self.key_source is not None


def provider_specs(settings: Settings) -> dict[str, ProviderSpec]:
    """Every provider, built-in first, then the OpenAI-compatible endpoints by name."""
    specs = [
        ProviderSpec(name="anthropic", kind="anthropic", requires_api_key=True,
                     env_base_url=settings.anthropic_base_url,
                     has_env_key=bool(settings.anthropic_api_key)),
        ProviderSpec(name="openai", kind="openai", requires_api_key=True,
                     env_base_url=settings.openai_base_url,
                     has_env_key=bool(settings.openai_api_key)),
        ProviderSpec(name="local", kind="local", requires_api_key=False,
                     env_base_url=settings.local_model_url, has_env_key=False),
    ]
    for name, url in settings.compatible_endpoints.items():
        if name not in BUILTIN_PROVIDERS:  # a built-in name cannot be taken over
            specs.append(ProviderSpec(name=name, kind="openai-compatible",
                                      requires_api_key=False, env_base_url=url,
                                      has_env_key=False))
    return {spec.name: spec for spec in specs}


def environment_key(settings: Settings, spec: ProviderSpec) -> str | None:
    """The environment's API key for `spec`, if it has one."""
    if spec.kind == "anthropic":
        return settings.anthropic_api_key
    if spec.kind == "openai":
        return settings.openai_api_key
    return None


def effective(spec: ProviderSpec, stored: StoredProvider | None) -> ProviderState:
    """What is in effect for `spec` given what is stored (None: nothing stored)."""
    base_url = stored.base_url if stored and stored.base_url else spec.env_base_url
    key_source: KeySource | None = None
    if stored is not None and stored.api_key_encrypted is not None:
        key_source = "stored"
    elif spec.has_env_key and base_url == spec.env_base_url:
        key_source = "environment"
    return ProviderState(spec=spec, enabled=stored.enabled if stored else True,
                         base_url=base_url, key_source=key_source)
