"""`complete`: one answer's whole text from a call that is not streamed (summaries use it), in
every provider, retried like a stream; and the local model's own summaries."""

from __future__ import annotations

import pytest

from app.adapters.llm import ModelError, ModelRequest, PromptMessage
from app.adapters.llm.local_model import LocalModelServer, Script, summary_of
from tests.providers.conftest import MakeProvider
from tests.providers.support import request_for

TRANSCRIPT = ("User: what is on the menu for the team dinner tonight\n"
              "Assistant: pasta with a green salad and lemon cake after it\n"
              "Assistant called current_time({})\n"
              'Tool current_time answered: {"now": "2025-06-01T12:00:00Z"}')


async def test_complete_returns_the_whole_answer_from_one_request_that_is_not_streamed(
    server: LocalModelServer, make_provider: MakeProvider, kind: str
) -> None:
    server.set_default(Script(text="The whole answer, at once."))

    text = await make_provider(kind).complete(request_for(kind))

    assert text == "The whole answer, at once."
    [request] = server.completions()
    assert request.body.get("stream") is not True


async def test_complete_retries_a_rate_limit_and_reports_an_error_that_is_final(
    server: LocalModelServer, make_provider: MakeProvider, kind: str
) -> None:
    server.enqueue(Script(text="Worth the wait.", rate_limit=1, retry_after_s=0.01))
    provider = make_provider(kind)
    assert await provider.complete(request_for(kind)) == "Worth the wait."
    assert len(server.completions()) == 2

    server.enqueue(Script(fail_status=401))
    with pytest.raises(ModelError) as failed:
        await provider.complete(request_for(kind))
    assert failed.value.status == 401 and failed.value.attempts == 1


async def test_the_local_provider_completes_offline(make_provider: MakeProvider) -> None:
    local = make_provider("local", base_url=None, api_key=None)
    text = await local.complete(request_for("echo", "good morning"))
    assert text.startswith("Hello! You said: good morning.")


def summary_asked(kind: str) -> ModelRequest:
    return ModelRequest(model=request_for(kind).model, max_tokens=500,
                        system="Summarise the conversation below for the assistant.",
                        messages=[PromptMessage(role="user", text=TRANSCRIPT)])


async def test_asked_to_summarise_the_local_model_quotes_the_first_words_of_each_line(
    server: LocalModelServer, make_provider: MakeProvider, kind: str
) -> None:
    text = await make_provider(kind).complete(summary_asked(kind))

    assert text == ("Summary: User: what is on the menu / Assistant: pasta with a green"
                    " salad / Assistant called current_time({}) / Tool current_time answered:"
                    ' {"now": "2025-06-01T12:00:00Z"}')
    assert text == summary_of(TRANSCRIPT)
    # The same request, the same summary: streamed too, in either wire format.
    again = [e async for e in make_provider(kind).stream(summary_asked(kind))]
    assert "".join(getattr(e, "text", "") for e in again) == text


async def test_only_instructions_that_begin_by_asking_for_a_summary_get_one(
    server: LocalModelServer, make_provider: MakeProvider
) -> None:
    provider = make_provider("openai")
    text = await provider.complete(request_for("openai", TRANSCRIPT,
                                               system="Be brief; never summarise."))
    assert not text.startswith("Summary:")
