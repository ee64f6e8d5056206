"""The local model server itself, over HTTP: non-stream answers, pacing, routes, model scripts."""

from __future__ import annotations

import asyncio
import time

import anthropic
import httpx
import openai

from app.adapters.llm import TextDelta, build_provider
from app.adapters.llm.local_model import LocalModelServer, Script, default_reply
from tests.providers.conftest import MakeProvider, config_for
from tests.providers.support import collect, request_for, text_of


async def test_non_stream_answers_parse_in_both_sdks(server: LocalModelServer) -> None:
    server.set_default(Script(text="Whole answer.", input_tokens=4, output_tokens=2))
    oai = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0)
    ant = anthropic.AsyncAnthropic(base_url=server.base_url, api_key="k", max_retries=0)
    try:
        completion = await oai.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "hi"}])
        message = await ant.messages.create(
            model="claude-test", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    finally:
        await oai.close()
        await ant.close()

    assert completion.choices[0].message.content == "Whole answer."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.prompt_tokens == 4
    assert message.content[0].type == "text" and message.content[0].text == "Whole answer."
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 2


async def test_pacing_follows_time_to_first_token_and_rate(
    server: LocalModelServer, make_provider: MakeProvider
) -> None:
    server.set_default(Script(text="a b c d e f", time_to_first_token_s=0.2,
                              tokens_per_second=25))
    provider = make_provider("openai-compatible")

    started = time.monotonic()
    arrivals = [time.monotonic() - started async for e in
                provider.stream(request_for("openai-compatible")) if isinstance(e, TextDelta)]

    assert len(arrivals) == 6
    assert arrivals[0] >= 0.2
    assert arrivals[-1] - arrivals[0] >= 5 / 25 * 0.9  # five gaps of 40 ms


async def test_scripts_by_model_name(server: LocalModelServer,
                                     make_provider: MakeProvider) -> None:
    server.set_model_script("special-model", Script(text="Special."))
    provider = make_provider("openai")

    special = await collect(provider, request_for("special-model"))
    plain = await collect(provider, request_for("plain-model", "plain"))

    assert text_of(special) == "Special."
    assert text_of(plain) == default_reply("plain")


async def test_counts_requests_and_rejects_unknown_routes(server: LocalModelServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        missing = await client.get("/v2/nothing")
        no_max_tokens = await client.post("/v1/messages", json={"model": "m", "messages": []})

    assert missing.status_code == 404
    assert no_max_tokens.status_code == 400
    assert no_max_tokens.json()["error"]["type"] == "invalid_request_error"
    assert server.app.request_count == 2
    assert [r.path for r in server.requests] == ["/v1/v2/nothing", "/v1/messages"]


async def test_either_base_url_works_for_either_sdk(server: LocalModelServer) -> None:
    server.set_default(Script(text="Found."))
    # An OpenAI client given the root URL, an Anthropic client given the `/v1` one.
    for kind, base_url in [("openai", server.base_url), ("anthropic", server.openai_base_url)]:
        provider = build_provider(config_for(server, kind, base_url=base_url))
        try:
            assert text_of(await collect(provider, request_for(kind))) == "Found."
        finally:
            await provider.aclose()


async def test_a_hanging_request_ends_when_the_client_leaves(server: LocalModelServer) -> None:
    server.set_default(Script(hang=True))
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}

    async with httpx.AsyncClient(base_url=server.openai_base_url, timeout=0.2) as client:
        try:
            await client.post("/chat/completions", json=body)
        except httpx.ReadTimeout:
            pass
        else:
            raise AssertionError("a hanging server answered")

    for _ in range(100):
        if server.in_flight == 0:
            break
        await asyncio.sleep(0.01)
    assert server.in_flight == 0
