"""Fixtures: one local model server for the run, providers built against it and closed after."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from app.adapters.llm import Backoff, ModelProvider, ProviderConfig, build_provider
from app.adapters.llm.local_model import LocalModelServer

# Real waits are 0.5 s and up; these keep the retry tests fast while still exercising them.
TINY_BACKOFF = Backoff(initial_s=0.001, max_s=0.004, max_retry_after_s=2.0)
API_KINDS = ["anthropic", "openai", "openai-compatible"]

MakeProvider = Callable[..., ModelProvider]


@pytest.fixture(scope="session")
async def model_server() -> AsyncIterator[LocalModelServer]:
    async with LocalModelServer() as server:
        yield server


@pytest.fixture
def server(model_server: LocalModelServer) -> LocalModelServer:
    """The run's server with no scripts and no recorded requests."""
    model_server.reset()
    return model_server


@pytest.fixture(params=API_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


def config_for(server: LocalModelServer, kind: str, **changes: Any) -> ProviderConfig:
    """A provider of `kind` pointed at the local server (Anthropic's SDK wants no `/v1`)."""
    base_url = server.base_url if kind == "anthropic" else server.openai_base_url
    fields: dict[str, Any] = {"name": f"test-{kind}", "kind": kind, "api_key": "test-key",
                              "base_url": base_url, "max_retries": 2, "timeout_s": 5.0}
    return ProviderConfig(**(fields | changes))


@pytest.fixture
async def make_provider(server: LocalModelServer) -> AsyncIterator[MakeProvider]:
    """Build providers against `server`: `make_provider(kind, **config_changes)`."""
    built: list[ModelProvider] = []

    def make(kind: str, *, backoff: Backoff = TINY_BACKOFF, **changes: Any) -> ModelProvider:
        provider = build_provider(config_for(server, kind, **changes), backoff=backoff)
        built.append(provider)
        return provider

    yield make
    for provider in built:
        await provider.aclose()
