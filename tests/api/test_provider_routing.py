"""The worker's ModelRouter follows what administrators set through /robots/providers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.adapters.llm import Finished, ModelError, ModelProvider, ModelRequest, PromptMessage
from app.adapters.llm.local_model import LocalModelServer, ReceivedRequest
from app.adapters.llm.openai_adapter import OpenAIAdapter
from app.adapters.llm.router import ModelRouter
from app.api.app import create_app
from app.bootstrap import Services
from app.config.settings import Settings
from tests.api.conftest import bearer
from tests.api.providers_support import aimed_at, model_server_in_thread, tokens

Client = AsyncTestClient[Litestar]
REQUEST = ModelRequest(model="echo", system="", messages=[PromptMessage("user", "hello")])


@pytest.fixture
def model_server() -> Iterator[LocalModelServer]:
    with model_server_in_thread() as server:
        yield server


@pytest.fixture
def aimed_settings(fresh_settings: Settings, model_server: LocalModelServer) -> Settings:
    return aimed_at(fresh_settings, model_server, model_max_retries=0)


@pytest.fixture
async def api(aimed_settings: Settings) -> AsyncIterator[Client]:
    admin = bearer((await tokens(aimed_settings))[0])
    async with AsyncTestClient(app=create_app(aimed_settings)) as c:
        c.headers.update(admin)
        yield c


async def answer(provider: ModelProvider) -> None:
    events = [e async for e in provider.stream(REQUEST)]
    assert isinstance(events[-1], Finished)


def last_call(server: LocalModelServer) -> ReceivedRequest:
    return server.completions()[-1]


async def patch(api: Client, provider: str, body: dict[str, object]) -> None:
    response = await api.patch(f"/robots/providers/{provider}", json=body)
    assert response.status_code == 200, response.text


async def test_the_router_sends_the_stored_key_and_follows_changes(
    api: Client, aimed_settings: Settings, model_server: LocalModelServer,
) -> None:
    router = ModelRouter(aimed_settings)  # as a worker builds it: settings only
    openai = router.provider(router.resolve("openai/echo"))
    try:
        await patch(api, "openai", {"api_key": "tk-first"})
        await answer(openai)
        assert last_call(model_server).headers["authorization"] == "Bearer tk-first"

        await patch(api, "openai", {"api_key": "tk-second"})
        await answer(openai)  # the same provider object: the router rebuilt its adapter
        assert last_call(model_server).headers["authorization"] == "Bearer tk-second"

        await patch(api, "anthropic", {"api_key": "tk-anthropic"})
        await answer(router.provider(router.resolve("anthropic/echo")))
        assert last_call(model_server).path == "/v1/messages"
        assert "tk-anthropic" in str(last_call(model_server).headers.values())

        calls = len(model_server.completions())
        await patch(api, "openai", {"enabled": False})
        with pytest.raises(ModelError, match="'openai' is disabled"):
            await answer(openai)
        await patch(api, "openai", {"enabled": True, "clear_api_key": True})
        with pytest.raises(ModelError, match="'openai' has no API key"):
            await answer(openai)
        assert len(model_server.completions()) == calls  # refused before any request
    finally:
        await router.aclose()


async def test_a_stored_key_wins_over_the_environments(
    fresh_settings: Settings, model_server: LocalModelServer,
) -> None:
    settings = aimed_at(fresh_settings, model_server, openai_api_key="tk-env")
    services = await Services.start(settings)
    router = ModelRouter(settings, services.provider_settings)
    openai = router.provider(router.resolve("openai/echo"))
    try:
        await answer(openai)
        assert last_call(model_server).headers["authorization"] == "Bearer tk-env"
        await services.provider_settings.update("openai", None, api_key="tk-stored")
        await answer(openai)
        assert last_call(model_server).headers["authorization"] == "Bearer tk-stored"
    finally:
        await router.aclose()
        await services.close()


async def test_settings_are_reused_for_their_ttl_and_through_a_database_blip(
    aimed_settings: Settings, api: Client, model_server: LocalModelServer,
) -> None:
    await patch(api, "fake", {"api_key": "tk-old"})
    slow = ModelRouter(msgspec.structs.replace(aimed_settings, provider_settings_ttl_s=60))
    fast = ModelRouter(aimed_settings)
    try:
        for router in (slow, fast):
            await answer(router.provider(router.resolve("fake/echo")))
        await patch(api, "fake", {"api_key": "tk-new"})
        await answer(slow.provider(slow.resolve("fake/echo")))
        assert last_call(model_server).headers["authorization"] == "Bearer tk-old"

        assert fast._own_pool is not None
        await fast._own_pool.close()  # the database is gone: the last settings still serve
        await answer(fast.provider(fast.resolve("fake/echo")))
        assert last_call(model_server).headers["authorization"] == "Bearer tk-old"
    finally:
        await slow.aclose()
        await fast.aclose()


async def test_without_a_database_the_environment_decides(model_server: LocalModelServer) -> None:
    settings = aimed_at(Settings(), model_server, openai_api_key="tk-env-only")
    router = ModelRouter(settings)
    try:
        await answer(router.provider(router.resolve("openai/echo")))
        assert last_call(model_server).headers["authorization"] == "Bearer tk-env-only"
        with pytest.raises(ModelError, match="'anthropic' has no API key"):
            await answer(router.provider(router.resolve("anthropic/echo")))
    finally:
        await router.aclose()


async def test_warming_builds_usable_providers_before_any_turn(
    model_server: LocalModelServer,
) -> None:
    settings = aimed_at(Settings(), model_server, openai_api_key="tk-env-only")
    router = ModelRouter(settings)
    calls = model_server.app.request_count
    try:
        await router.warm()  # anthropic has no key here: left alone, nothing raised
        warmed = await router.adapter("openai")
        assert isinstance(warmed, OpenAIAdapter) and warmed._client is not None
        assert model_server.app.request_count == calls  # building asks the server nothing
        await answer(router.provider(router.resolve("openai/echo")))
        assert await router.adapter("openai") is warmed  # the warmed client serves turns
    finally:
        await router.aclose()
