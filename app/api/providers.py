"""Model providers and their models (Storyden's shapes). API keys are write-only.

Our extension: `base_url` in a provider's settings, to point a provider (above all an
OpenAI-compatible endpoint) elsewhere. Model lists are served from the cache in Postgres;
`POST /robots/providers/{provider}/models/refresh` fetches them from the provider.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from app.adapters.provider_settings import CachedModel, ModelCache
from app.api.auth import requires
from app.api.problems import ProblemError
from app.bootstrap import Services
from app.domain.accounts import Account, Permission
from app.domain.providers import ProviderSpec, StoredProvider, effective, provider_specs
from app.services.model_lists import refresh_model_list

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


def _invalid(field: str, detail: str) -> ProblemError:
    return ProblemError(422, detail, slug="invalid-field", metadata={"field": field})


def _checked_key(key: str) -> str:
    key = key.strip()  # a pasted key often carries a newline
    if not key or not key.isascii() or not all(c.isprintable() and not c.isspace() for c in key):
        # Never quote the value: it is a secret, and this message is a response.
        raise _invalid("api_key", "api_key must be printable ASCII with no spaces;"
                       " to remove the key send clear_api_key: true")
    return key


def _checked_url(url: str) -> str:
    url = url.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = urlsplit(""), False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or any(
            c.isspace() or not c.isprintable() for c in url):
        raise _invalid("base_url", "base_url must be an http:// or https:// URL with a host,"
                       " e.g. http://127.0.0.1:11434/v1")
    if parts.username or parts.password:
        raise _invalid("base_url", "base_url must not contain credentials; set api_key instead")
    if parts.query or parts.fragment:
        raise _invalid("base_url", "base_url must not have a query string or fragment")
    return url


def _shown_url(url: str | None) -> str | None:
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


def _spec(services: Services, name: str) -> ProviderSpec:
    specs = provider_specs(services.settings)
    if name not in specs:
        raise ProblemError(404, f"no model provider named {name!r}; known providers:"
                           f" {', '.join(specs)}", slug="not-found")
    return specs[name]


def _model(provider: str, model: CachedModel) -> RobotModelInfo:
    return RobotModelInfo(ref=f"{provider}/{model.id}", provider=provider, model=model.id)


def _status(services: Services, spec: ProviderSpec, stored: StoredProvider | None,
            cache: ModelCache) -> RobotProviderStatus:
    state = effective(spec, stored)
    stale = cache.stale(stored, datetime.now(UTC), services.settings.model_list_max_age_s)
    return RobotProviderStatus(
        provider=spec.name,
        supported=True,
        settings=RobotProviderSettings(
            enabled=state.enabled, has_api_key=state.has_api_key,
            requires_api_key=spec.requires_api_key, base_url=_shown_url(state.base_url)),
        cache=RobotModelCacheStatus(stale=stale, last_refreshed_at=cache.last_refreshed_at,
                                    last_error=cache.last_error),
        models=[_model(spec.name, m) for m in cache.models],
    )


def _changes(data: RobotProviderMutableSettings, spec: ProviderSpec,
             stored: StoredProvider | None) -> dict[str, Any]:
    """The store's update arguments for `data`, checked; 422 naming the field if not."""
    changes: dict[str, Any] = {}
    if data.enabled is not msgspec.UNSET:
        changes["enabled"] = data.enabled
    if data.api_key is not msgspec.UNSET:
        if data.clear_api_key:
            raise _invalid("clear_api_key", "send api_key or clear_api_key: true, not both")
        changes["api_key"] = _checked_key(data.api_key)
    changes["clear_api_key"] = data.clear_api_key
    if data.base_url is not msgspec.UNSET:
        url = None if data.base_url is None else _checked_url(data.base_url)
        key_stays = (stored is not None and stored.api_key_encrypted is not None
                     and "api_key" not in changes and not data.clear_api_key)
        if url is not None and url != effective(spec, stored).base_url and key_stays:
            raise _invalid("base_url", "a stored API key would be sent to the new base_url:"
                           " send api_key again (or clear_api_key: true) with it")
        changes["base_url"] = url
    return changes


class ProvidersController(Controller):
    path = "/robots"
    tags = ["robots"]
    guards = [requires(Permission.MANAGE_ROBOTS)]

    @get("/providers")
    async def list_providers(self, state: State) -> RobotProviderListResult:
        """Every provider with its redacted settings, cache status and cached models."""
        services: Services = state.services
        store = services.provider_settings
        stored, caches = await store.all(), await store.caches()
        return RobotProviderListResult(providers=[
            _status(services, spec, stored.get(name), caches.get(name, ModelCache(provider=name)))
            for name, spec in provider_specs(services.settings).items()
        ])

    @patch("/providers/{provider:str}")
    async def update_provider(
        self, request: Request[Account, Any, Any], state: State, provider: FromPath[str],
        data: JSONBody[RobotProviderMutableSettings],
    ) -> RobotProviderStatus:
        """Change the fields sent. The key is write-only: answers say `has_api_key`."""
        services: Services = state.services
        store = services.provider_settings
        spec = _spec(services, provider)
        changes = _changes(data, spec, await store.get(provider))
        stored = await store.update(provider, request.user.id, **changes)
        return _status(services, spec, stored, await store.cache(provider))

    @post("/providers/{provider:str}/models/refresh", status_code=200)
    async def refresh_models(self, state: State, provider: FromPath[str]) -> RobotProviderStatus:
        """Fetch the provider's model list now. A provider that fails answers 200 with the
        error in `cache.last_error` and `cache.stale: true`; the old list stays."""
        services: Services = state.services
        store = services.provider_settings
        spec = _spec(services, provider)
        stored = await store.get(provider)
        cache = await refresh_model_list(effective(spec, stored), stored, store,
                                         services.settings)
        return _status(services, spec, stored, cache)

    @get("/models")
    async def list_models(self, state: State) -> RobotModelListResult:
        """Cached models of every enabled provider that has the key it needs."""
        services: Services = state.services
        stored, caches = (await services.provider_settings.all(),
                          await services.provider_settings.caches())
        models: list[RobotModelInfo] = []
        for name, spec in provider_specs(services.settings).items():
            usable = effective(spec, stored.get(name))
            if name in caches and usable.enabled and (
                    usable.has_api_key or not spec.requires_api_key):
                models += [_model(name, m) for m in caches[name].models]
        return RobotModelListResult(models=models)
