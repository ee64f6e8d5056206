"""Model providers and their models (Storyden's shapes). API keys are write-only.

Our extension: `base_url` in a provider's settings, to point a provider (above all an
OpenAI-compatible endpoint) elsewhere. Model lists are served from the cache in Postgres;
`POST /robots/providers/{provider}/models/refresh` fetches them from the provider.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from app.adapters.provider_settings import CachedModel
from app.api.auth import requires
from app.api.openapi import problems
from app.api.problems import ProblemError
from app.domain.accounts import Account, Permission
from app.services.providers import (
    InvalidProviderField,
    ProviderChange,
    ProviderService,
    ProviderStatus,
    UnknownProvider,
)

ApiKey = Annotated[str, msgspec.Meta(
    min_length=1, max_length=1000,
    description="Write-only provider API key. Omit to preserve the current key.")]
BaseUrl = Annotated[str, msgspec.Meta(
    min_length=1, max_length=2048,
    description="Extension (not in Storyden's API): the provider's http(s) base URL; null"
    " goes back to the server's configured one. Changing it while a key is stored needs"
    " the key sent again (or cleared), so a stored key never follows a new URL unseen.")]


class RobotProviderMutableSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    api_key: ApiKey | msgspec.UnsetType = msgspec.UNSET
    clear_api_key: Annotated[bool, msgspec.Meta(
        description="Remove the stored provider API key.")] = False
    base_url: BaseUrl | msgspec.UnsetType | None = msgspec.UNSET  # null: back to the default

    def __repr__(self) -> str:  # the key must never reach a log line through a repr
        return "RobotProviderMutableSettings(...)"


class RobotProviderSettings(msgspec.Struct, kw_only=True, omit_defaults=True):
    enabled: bool
    has_api_key: Annotated[bool, msgspec.Meta(
        description="Whether this provider has an API key configured (stored, or from the"
        " server's environment). The key value is never returned.")]
    requires_api_key: Annotated[bool, msgspec.Meta(
        description="Whether this provider expects an API key.")]
    base_url: Annotated[str | None, msgspec.Meta(
        description="Extension: the base URL in effect (credentials and query removed);"
        " absent: the SDK's default.")] = None


class RobotModelCacheStatus(msgspec.Struct, kw_only=True, omit_defaults=True):
    stale: bool
    last_refreshed_at: datetime | None = None
    last_error: str | None = None


class RobotModelInfo(msgspec.Struct, kw_only=True):
    ref: str
    provider: str
    model: str


class RobotProviderStatus(msgspec.Struct, kw_only=True):
    provider: str
    supported: bool
    settings: RobotProviderSettings
    cache: RobotModelCacheStatus
    models: list[RobotModelInfo]


class RobotProviderListResult(msgspec.Struct, kw_only=True):
    providers: list[RobotProviderStatus]


class RobotModelListResult(msgspec.Struct, kw_only=True):
    models: list[RobotModelInfo]


def _model(provider: str, model: CachedModel) -> RobotModelInfo:
    return RobotModelInfo(ref=f"{provider}/{model.id}", provider=provider, model=model.id)


def _status(status: ProviderStatus) -> RobotProviderStatus:
    state, cache = status.state, status.cache
    return RobotProviderStatus(
        provider=state.name,
        supported=True,
        settings=RobotProviderSettings(
            enabled=state.enabled, has_api_key=state.has_api_key,
            requires_api_key=state.spec.requires_api_key, base_url=status.shown_base_url),
        cache=RobotModelCacheStatus(stale=status.stale, last_refreshed_at=cache.last_refreshed_at,
                                    last_error=cache.last_error),
        models=[_model(state.name, m) for m in cache.models],
    )


def _change(data: RobotProviderMutableSettings) -> ProviderChange:
    return ProviderChange(enabled=data.enabled, api_key=data.api_key,
                          clear_api_key=data.clear_api_key, base_url=data.base_url)


def _unknown(exc: UnknownProvider) -> ProblemError:
    return ProblemError(404, str(exc), slug="not-found", metadata={"provider": exc.name})


class ProvidersController(Controller):
    path = "/robots"
    tags = ["robots"]
    guards = [requires(Permission.MANAGE_ROBOTS)]

    @get("/providers", summary="List providers", responses=problems(403))
    async def list_providers(
        self, provider_service: NamedDependency[ProviderService],
    ) -> RobotProviderListResult:
        """Every provider with its redacted settings, cache status and cached models."""
        return RobotProviderListResult(
            providers=[_status(s) for s in await provider_service.statuses()])

    @patch("/providers/{provider:str}", summary="Change a provider's settings",
           responses=problems(403, 404, 413, 422))
    async def update_provider(
        self, request: Request[Account, Any, Any],
        provider_service: NamedDependency[ProviderService], provider: FromPath[str],
        data: JSONBody[RobotProviderMutableSettings],
    ) -> RobotProviderStatus:
        """Change the fields sent. The key is write-only: answers say `has_api_key`."""
        try:
            return _status(await provider_service.update(provider, _change(data),
                                                         request.user.id))
        except UnknownProvider as exc:
            raise _unknown(exc) from None
        except InvalidProviderField as exc:
            raise ProblemError(422, str(exc), slug="invalid-field",
                               metadata={"field": exc.field}) from None

    @post("/providers/{provider:str}/models/refresh", status_code=200,
          summary="Refresh a provider's models", responses=problems(403, 404))
    async def refresh_models(self, provider_service: NamedDependency[ProviderService],
                             provider: FromPath[str]) -> RobotProviderStatus:
        """Fetch the provider's model list now. A provider that fails answers 200 with the
        error in `cache.last_error` and `cache.stale: true`; the old list stays."""
        try:
            return _status(await provider_service.refresh(provider))
        except UnknownProvider as exc:
            raise _unknown(exc) from None

    @get("/models", summary="List usable models", responses=problems(403))
    async def list_models(
        self, provider_service: NamedDependency[ProviderService],
    ) -> RobotModelListResult:
        """Cached models of every enabled provider that has the key it needs."""
        return RobotModelListResult(
            models=[_model(name, m) for name, m in await provider_service.usable_models()])
