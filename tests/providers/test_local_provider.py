"""The `local` provider: offline, keyless, deterministic, through the real OpenAI SDK path."""

from __future__ import annotations

from app.adapters.llm import (
    LOCAL_MODEL,
    Finished,
    LocalProvider,
    ProviderConfig,
    ReasoningDelta,
    TextDelta,
    UsageReported,
    build_provider,
)
from app.adapters.llm.local_model import LocalModelServer, Script, default_reply
from tests.providers.support import collect, of_type, request_for, text_of


async def test_local_streams_the_default_reply_the_same_way_twice() -> None:
    provider = build_provider(ProviderConfig(name="local", kind="local"))
    try:
        request = request_for(LOCAL_MODEL, "What is on the agenda today?")
        first = await collect(provider, request)
        second = await collect(provider, request)
    finally:
        await provider.aclose()

    assert text_of(first) == default_reply("What is on the agenda today?")
    assert len(of_type(first, TextDelta)) > 10  # streamed word by word, not in one piece
    assert first[-1] == Finished("stop")
    assert of_type(first, UsageReported)[0].output_tokens == len(text_of(first).split())
    assert first == second


async def test_local_server_listens_on_loopback_only_and_stops_on_close() -> None:
    provider = build_provider(ProviderConfig(name="local", kind="local"))
    assert isinstance(provider, LocalProvider)
    assert provider.server is None  # nothing starts before the first call

    models = await provider.list_models()
    server = provider.server
    assert server is not None
    assert server.base_url.startswith("http://127.0.0.1:")
    assert LOCAL_MODEL in [m.id for m in models]
    assert {m.provider for m in models} == {"local"}

    await provider.aclose()
    assert provider.server is None


async def test_local_prefix_model_names_pick_presets() -> None:
    provider = build_provider(ProviderConfig(name="local", kind="local"))
    try:
        events = await collect(provider, request_for("thinking", "Hi"))
    finally:
        await provider.aclose()

    assert isinstance(events[0], ReasoningDelta)
    assert text_of(events) == default_reply("Hi")


async def test_local_with_a_base_url_uses_that_server(server: LocalModelServer) -> None:
    provider = build_provider(ProviderConfig(name="local", kind="local",
                                             base_url=server.openai_base_url))
    try:
        events = await collect(provider, request_for(LOCAL_MODEL, "ping"))
    finally:
        await provider.aclose()

    assert text_of(events) == default_reply("ping")
    assert len(server.completions()) == 1
    assert isinstance(provider, LocalProvider)
    assert provider.server is None


async def test_a_server_can_stop_and_start_again() -> None:
    server = LocalModelServer(Script(text="again"))
    for _ in range(2):
        async with server:
            provider = build_provider(ProviderConfig(name="local", kind="local",
                                                     base_url=server.openai_base_url))
            try:
                assert text_of(await collect(provider, request_for(LOCAL_MODEL))) == "again"
            finally:
                await provider.aclose()
