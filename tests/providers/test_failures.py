"""Each adapter, through its real SDK: rate limits, server errors, cut streams, hangs, keys."""

from __future__ import annotations

import time
import traceback

import pytest

from app.adapters.llm import Backoff, Finished, ModelError, TextDelta, build_provider
from app.adapters.llm.local_model import LocalModelServer, Script
from tests.providers.conftest import TINY_BACKOFF, MakeProvider, config_for
from tests.providers.support import collect, collect_until_error, request_for, text_of


async def test_rate_limit_is_retried_after_the_servers_wait(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    server.enqueue(Script(text="Worth the wait.", rate_limit=1, retry_after_s=0.3))

    started = time.monotonic()
    events = await collect(make_provider(kind), request_for(kind))

    assert time.monotonic() - started >= 0.3  # retry-after honoured, not the tiny backoff
    assert text_of(events) == "Worth the wait."
    assert events[-1] == Finished("stop")
    assert len(server.completions()) == 2


async def test_retry_after_is_capped(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    server.enqueue(Script(text="ok", rate_limit=1, retry_after_s=600))
    backoff = Backoff(initial_s=0.001, max_s=0.001, max_retry_after_s=0.2)

    started = time.monotonic()
    events = await collect(make_provider(kind, backoff=backoff), request_for(kind))

    assert 0.2 <= time.monotonic() - started < 3
    assert text_of(events) == "ok"


async def test_server_errors_end_in_a_clear_error_after_the_retries(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    server.set_default(Script(fail_status=500, fail_message="the GPUs are on fire"))

    events, error = await collect_until_error(make_provider(kind, max_retries=2),
                                              request_for(kind))

    assert events == []
    assert len(server.completions()) == 3  # 1 + max_retries
    assert error.status == 500
    assert error.attempts == 3
    assert error.retryable
    message = str(error)
    assert f"'test-{kind}'" in message
    assert "HTTP 500" in message
    assert "the GPUs are on fire" in message
    assert "gave up after 3 attempts" in message


async def test_overloaded_then_fine_is_retried(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    server.enqueue(Script(fail_status=529), Script(fail_status=503), Script(text="Back."))

    events = await collect(make_provider(kind), request_for(kind))

    assert text_of(events) == "Back."
    assert len(server.completions()) == 3


async def test_bad_request_is_not_retried(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    server.set_default(Script(fail_status=400, fail_message="messages: too many"))

    _, error = await collect_until_error(make_provider(kind), request_for(kind))

    assert len(server.completions()) == 1
    assert error.status == 400
    assert not error.retryable
    assert "messages: too many" in str(error)


async def test_stream_cut_midway_raises_and_is_not_retried(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    server.set_default(Script(text="one two three four five six", cut_after=3))

    events, error = await collect_until_error(make_provider(kind), request_for(kind))

    assert events == [TextDelta("one"), TextDelta(" two"), TextDelta(" three")]
    assert len(server.completions()) == 1  # a retry would repeat "one two three"
    assert error.retryable
    assert f"lost the connection to model provider 'test-{kind}'" in str(error)
    assert "already begun" in str(error)


async def test_stream_cut_before_any_token_is_retried(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    server.enqueue(Script(text="lost", cut_after=0), Script(text="Second try."))

    events = await collect(make_provider(kind), request_for(kind))

    assert text_of(events) == "Second try."
    assert len(server.completions()) == 2


async def test_a_hanging_server_times_out(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    server.set_default(Script(hang=True))

    started = time.monotonic()
    _, error = await collect_until_error(make_provider(kind, timeout_s=0.3, max_retries=1),
                                         request_for(kind))

    assert 0.6 <= time.monotonic() - started < 3
    assert len(server.completions()) == 2
    assert str(error).startswith(f"model provider 'test-{kind}' did not answer within 0.3s")


async def test_nothing_listening_is_a_connection_error(kind: str,
                                                       server: LocalModelServer) -> None:
    config = config_for(server, kind, base_url="http://127.0.0.1:9", max_retries=1)
    provider = build_provider(config, backoff=TINY_BACKOFF)
    try:
        _, error = await collect_until_error(provider, request_for(kind))
    finally:
        await provider.aclose()

    assert str(error).startswith(
        f"could not connect to model provider 'test-{kind}' at http://127.0.0.1:9")
    assert error.retryable
    assert error.attempts == 2


@pytest.mark.parametrize("key", ["sk-live-0123456789abcdefSECRET", "gw_0123456789abcdefSECRET"])
async def test_the_api_key_never_appears_in_an_error(
    kind: str, key: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    # OpenAI really does echo (a masked form of) the key in its 401 message.
    server.set_default(Script(fail_status=401, fail_message=f"Incorrect API key provided: {key}"))

    _, error = await collect_until_error(make_provider(kind, api_key=key), request_for(kind))

    seen = server.completions()[0].headers
    assert key in seen.get("authorization", "") + seen.get("x-api-key", "")
    assert error.status == 401
    assert "HTTP 401" in str(error)
    assert key not in str(error)
    assert key not in repr(error.args)
    assert key not in "".join(traceback.format_exception(error))  # as a log would print it
    assert "0123456789" not in str(error)


async def test_list_models_failure_is_a_model_error(
    kind: str, server: LocalModelServer, make_provider: MakeProvider
) -> None:
    provider = make_provider(kind, base_url=f"{server.base_url}/nowhere")

    with pytest.raises(ModelError) as caught:
        await provider.list_models()

    assert caught.value.status == 404


async def test_openai_without_any_key_says_so(monkeypatch: pytest.MonkeyPatch,
                                              server: LocalModelServer) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    provider = build_provider(config_for(server, "openai", api_key=None))
    try:
        _, error = await collect_until_error(provider, request_for("openai"))
    finally:
        await provider.aclose()

    assert "model provider 'test-openai' is not configured" in str(error)
    assert not error.retryable
    assert server.completions() == []


async def test_anthropic_without_any_key_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, server: LocalModelServer
) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_PROFILE",
                 "ANTHROPIC_CONFIG_DIR", "ANTHROPIC_IDENTITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HOME", "XDG_CONFIG_HOME"):  # and no profile on disk either
        monkeypatch.setenv(name, str(tmp_path))
    provider = build_provider(config_for(server, "anthropic", api_key=None))
    try:
        _, error = await collect_until_error(provider, request_for("anthropic"))
    finally:
        await provider.aclose()

    assert "model provider 'test-anthropic' has no API key" in str(error)
    assert not error.retryable


async def test_openai_compatible_needs_no_key(server: LocalModelServer,
                                              make_provider: MakeProvider) -> None:
    server.set_default(Script(text="Keyless."))

    events = await collect(make_provider("openai-compatible", api_key=None),
                           request_for("openai-compatible"))

    assert text_of(events) == "Keyless."
    assert server.completions()[0].headers["authorization"] == "Bearer not-needed"


async def test_sdk_base_url_variables_apply_when_no_base_url_is_set(
    kind: str, monkeypatch: pytest.MonkeyPatch, server: LocalModelServer,
    make_provider: MakeProvider,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    server.set_default(Script(text="Found via the environment."))

    events = await collect(make_provider(kind, base_url=None), request_for(kind))

    assert text_of(events) == "Found via the environment."
