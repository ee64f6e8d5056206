"""Regenerate, message ids and an answer's metadata, through HTTP, the worker and the local
model: what the stream sent, what the API serves and what the log keeps."""

from __future__ import annotations

from typing import Any

from app.adapters.llm.local_model import Script
from tests.chat.helpers import (
    client_as,
    event_types,
    logged,
    model_requests,
    new_id,
    scripted_robot,
    wait_turn,
)
from tests.chat.sse import chat_body, read_all, text_of
from tests.chat.stack import Stack


def regenerate_body(session: str, question: str, text: str, **extra: Any) -> dict[str, Any]:
    """What the AI SDK's `regenerate()` sends: the messages up to the question."""
    return {**chat_body(session, question, text, **extra), "trigger": "regenerate-message"}


async def post(stack: Stack, body: dict[str, Any]) -> list[Any]:
    async with client_as(stack, stack.token) as client, client.stream(
        "POST", "/robots/chat/sse", json=body
    ) as response:
        assert response.status_code == 200, await response.aread()
        return await read_all(response)


def started(frames: list[Any]) -> str:
    """The answer's message id, from the stream's `start` part."""
    return str(frames[0].data["messageId"])


async def session_json(stack: Stack, session: str) -> dict[str, Any]:
    async with client_as(stack, stack.token) as client:
        response = await client.get(f"/robots/sessions/{session}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


async def test_regenerate_replaces_the_latest_answer_and_the_log_keeps_both(
    stack: Stack,
) -> None:
    robot, model = await scripted_robot(stack, Script(text="First answer."),
                                        Script(text="Second answer."))
    session, question = new_id("s"), new_id("m")
    first = await post(stack, chat_body(session, question, "Tell me", robotId=robot))
    again = await post(stack, regenerate_body(session, question, "Tell me",
                                              messageId=started(first)))
    assert text_of(again) == "Second answer."
    assert started(again) != started(first)
    # The model was asked the question alone: the replaced answer is no history.
    asked = model_requests(stack, model)[-1]["messages"]
    assert [m["role"] for m in asked if m["role"] != "system"] == ["user"]
    shown = (await session_json(stack, session))["message_list"]["messages"]
    assert [(m["id"], m["role"]) for m in shown] == [(question, "user"),
                                                      (started(again), "assistant")]
    assert shown[1]["parts"] == [{"type": "text", "text": "Second answer."}]
    answers = [e for e in await logged(stack, session)
               if type(e).__name__ == "AssistantMessageCompleted"]
    assert [a.message_id for a in answers] == [started(first), started(again)]  # type: ignore[attr-defined]
    async with client_as(stack, stack.token) as client:
        history = (await client.get(f"/robots/sessions/{session}/events")).text
    assert "First answer." in history and "Second answer." in history


async def test_regenerate_without_a_message_id_answers_the_last_message_sent(
    stack: Stack,
) -> None:
    robot, _ = await scripted_robot(stack, Script(text="One."), Script(text="Two."),
                                    Script(text="Three."))
    session, first_q, second_q = new_id("s"), new_id("m"), new_id("m")
    await post(stack, chat_body(session, first_q, "a", robotId=robot))
    await post(stack, chat_body(session, second_q, "b", robotId=robot))
    again = await post(stack, regenerate_body(session, second_q, "b"))
    assert text_of(again) == "Three."
    shown = (await session_json(stack, session))["message_list"]["messages"]
    assert [m["parts"][-1]["text"] for m in shown] == ["a", "One.", "b", "Three."]


async def test_an_older_answer_is_a_409_that_says_to_fork(stack: Stack) -> None:
    robot, _ = await scripted_robot(stack, Script(text="One."), Script(text="Two."))
    session, first_q = new_id("s"), new_id("m")
    first = await post(stack, chat_body(session, first_q, "a", robotId=robot))
    await post(stack, chat_body(session, new_id("m"), "b", robotId=robot))
    async with client_as(stack, stack.token) as client:
        for named in (started(first), first_q):
            refused = await client.post("/robots/chat/sse", json=regenerate_body(
                session, first_q, "a", messageId=named))
            assert refused.status_code == 409, refused.text
            problem = refused.json()
            assert problem["type"] == "/problems/not-latest-answer"
            assert "fork" in problem["detail"]
            assert problem["metadata"]["message_id"] == named
        unknown = await client.post("/robots/chat/sse", json=regenerate_body(
            session, first_q, "a", messageId="msg-nothing"))
        assert unknown.status_code == 404, unknown.text
    assert (await event_types(stack, session)).count("TurnRequested") == 2  # nothing more


async def test_a_message_id_posted_again_with_other_content_is_a_409(stack: Stack) -> None:
    robot, _ = await scripted_robot(stack, Script(text="Hello."))
    session, question = new_id("s"), new_id("m")
    first = await post(stack, chat_body(session, question, "Hi", robotId=robot))
    async with client_as(stack, stack.token) as client:
        taken = await client.post("/robots/chat/sse",
                                  json=chat_body(session, question, "Something else"))
        assert taken.status_code == 409, taken.text
        assert taken.json()["type"] == "/problems/message-id-taken"
        assert taken.json()["metadata"] == {"message_id": question}
    retried = await post(stack, chat_body(session, question, "Hi"))  # the same: a retry
    assert started(retried) == started(first) and text_of(retried) == "Hello."
    assert (await event_types(stack, session)).count("MessagePosted") == 1


async def test_the_finish_part_and_the_stored_answer_carry_the_same_metadata(
    stack: Stack,
) -> None:
    robot, model = await scripted_robot(stack, Script(text="Counted.", input_tokens=21,
                                                      output_tokens=7))
    session = new_id("s")
    frames = await post(stack, chat_body(session, new_id("m"), "count", robotId=robot))
    finish = next(f.data for f in frames if f.data != "[DONE]" and f.data["type"] == "finish")
    expected = {"model": f"openai/{model}",
                "usage": {"inputTokens": 21, "outputTokens": 7, "totalTokens": 28}}
    assert finish["messageMetadata"] == expected
    shown = (await session_json(stack, session))["message_list"]["messages"]
    assert shown[-1]["metadata"] == expected
    turn = await wait_turn(stack, started(frames).removeprefix("msg-"))
    assert turn["status"] == "completed"
