"""The local model's list at start (`robots dev`, `robots serve`): `GET /robots/models` lists
the local models on a first start, with no administrator's refresh."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest

from app.adapters.llm.local_model import DEFAULT_MODEL, PRESETS
from app.bootstrap import Services
from app.config.settings import Settings
from app.services.providers import ProviderService
from tests.api.providers_support import SECRET, closed_port

LOCAL_MODELS = {f"local/{m}" for m in [DEFAULT_MODEL, *PRESETS]}


@pytest.fixture
async def started(fresh_settings: Settings) -> AsyncIterator[Services]:
    services = await Services.start(msgspec.structs.replace(fresh_settings, secret_key=SECRET))
    try:
        yield services
    finally:
        await services.close()


async def usable(service: ProviderService) -> set[str]:
    return {f"{provider}/{model.id}" for provider, model in await service.usable_models()}


async def test_a_first_start_lists_the_local_models_and_a_restart_fetches_nothing(
        started: Services) -> None:
    service = ProviderService(started.provider_settings, started.settings)
    assert await usable(service) == set()  # what a first start answered before
    assert await service.list_missing_models() == ["local"]
    assert await usable(service) == LOCAL_MODELS
    assert await service.list_missing_models() == []


async def test_a_disabled_local_provider_is_not_listed_at_start(started: Services) -> None:
    await started.provider_settings.update("local", None, enabled=False)
    service = ProviderService(started.provider_settings, started.settings)
    assert await service.list_missing_models() == []
    assert (await started.provider_settings.cache("local")).last_attempt_at is None


async def test_a_local_list_that_never_succeeded_is_asked_again_at_the_next_start(
        started: Services) -> None:
    down = msgspec.structs.replace(
        started.settings, local_model_url=f"http://127.0.0.1:{closed_port()}/v1")
    service = ProviderService(started.provider_settings, down)
    assert await service.list_missing_models() == ["local"]
    failed = await started.provider_settings.cache("local")
    assert failed.last_error and not failed.models
    assert await service.list_missing_models() == ["local"]
