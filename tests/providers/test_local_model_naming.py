"""The local model names a conversation offline, deterministically, when asked as a worker asks
(workers/turns/naming.py); a naming request takes no script queued for the conversation and
is recorded apart from the conversation's requests."""

from __future__ import annotations

from app.adapters.llm.local_model import LocalModelServer, Script, title_of
from tests.providers.conftest import MakeProvider
from tests.providers.support import MODEL_OF
from workers.turns.naming import naming_request

QUESTION = "Can you plan a trip to Lisbon in May?"


def test_a_title_is_the_first_content_words_capitalised() -> None:
    assert title_of(QUESTION) == "Plan Trip Lisbon May"
    assert title_of("What is the capital of France?") == "Capital France"
    assert title_of("hello there") == "Hello There"  # too few content words: the first ones
    assert title_of("  ") == ""


async def test_asked_for_a_name_the_local_model_answers_its_title_in_either_wire(
    server: LocalModelServer, make_provider: MakeProvider, kind: str
) -> None:
    request = naming_request(QUESTION, MODEL_OF.get(kind, kind))
    assert await make_provider(kind).complete(request) == "Plan Trip Lisbon May"
    assert await make_provider(kind).complete(request) == "Plan Trip Lisbon May"


async def test_a_naming_request_leaves_the_queued_scripts_and_the_counts_alone(
    server: LocalModelServer, make_provider: MakeProvider
) -> None:
    provider = make_provider("openai")
    model = MODEL_OF["openai"]
    server.enqueue(Script(text="For the conversation."))

    assert await provider.complete(naming_request(QUESTION, model)) == "Plan Trip Lisbon May"
    assert server.app.book.queued == 1 and server.completions() == []
    assert server.app.request_count == 0 and len(server.naming_requests()) == 1

    # The model's standing script answers it, never a queued one.
    server.set_model_script(model, Script(text="Trip planning"))
    assert await provider.complete(naming_request(QUESTION, model)) == "Trip planning"
    assert server.app.book.queued == 1
