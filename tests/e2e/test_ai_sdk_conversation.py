"""The real client, the `ai` npm package, with a conversation's own features: the session's
name as a `data-session-name` part, the answer's metadata (model and usage) on the message,
and `regenerate()`.

Every test runs once with `ai` 6 and once with `ai` 7 (the `ai_sdk` fixture), through the
SDK's own Chat class (tests/e2e/ai_sdk/conversation-client.mjs).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.adapters.llm.local_model import Script
from tests.chat.helpers import client_as, model_requests, new_id, scripted_robot
from tests.chat.stack import Stack
from tests.e2e.ai_sdk_support import AiSdkClient, comparable


def assert_no_failures(result: dict[str, Any]) -> None:
    if result["failures"]:
        pytest.fail(f"the AI SDK (ai {result['sdkVersion']}) failed: "
                    + json.dumps(result["failures"])[:2000]
                    + f"\nrequests: {json.dumps(result['requests'])[:2000]}")


async def stored_messages(stack: Stack, session: str) -> list[dict[str, Any]]:
    async with client_as(stack, stack.token) as client:
        got = await client.get(f"/robots/sessions/{session}")
    assert got.status_code == 200, got.text
    messages: list[dict[str, Any]] = got.json()["message_list"]["messages"]
    return messages


def as_client_has_it(messages: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(m["id"], m["role"], [comparable(p) for p in m["parts"] if p["type"] != "step-start"],
             m.get("metadata")) for m in messages]


@pytest.mark.parametrize("by_id", [False, True], ids=["latest", "by-id"])
async def test_regenerate_replaces_the_answer_the_client_and_the_api_agree(
    stack: Stack, ai_sdk: AiSdkClient, by_id: bool,
) -> None:
    robot, model = await scripted_robot(stack, Script(text="First try.", output_tokens=2),
                                        Script(text="Second try.", output_tokens=2))
    session = new_id("s")
    result = await ai_sdk.converse(stack, session, "Name three rivers", robot=robot,
                                   regenerate_by_id=by_id)
    assert_no_failures(result)
    first, again = result["requests"]
    assert again["body"]["trigger"] == "regenerate-message"
    assert again["body"].get("messageId") == (result["first"][-1]["id"] if by_id else None)
    assert [m["role"] for m in again["body"]["messages"]] == ["user"]
    assert (first["status"], again["status"]) == (200, 200)
    question, answer = result["messages"]
    assert question["id"] == first["body"]["messages"][-1]["id"]
    assert [p["text"] for p in answer["parts"] if p["type"] == "text"] == ["Second try."]
    assert answer["id"] != result["first"][-1]["id"]
    # The answer's metadata came with the finish part: the model and the tokens it took.
    assert answer["metadata"]["model"] == f"openai/{model}"
    assert answer["metadata"]["usage"]["outputTokens"] == 2
    assert result["first"][-1]["metadata"]["model"] == f"openai/{model}"
    # What the client assembled is what the API serves.
    assert as_client_has_it(await stored_messages(stack, session)) == as_client_has_it(
        result["messages"])
    assert len(model_requests(stack, model)) == 2


async def test_the_session_name_reaches_the_client_as_a_data_part(
    stack: Stack, ai_sdk: AiSdkClient,
) -> None:
    robot, _ = await scripted_robot(stack, Script(text="Gladly."))
    session = new_id("s")
    result = await ai_sdk.converse(stack, session, "Plan the spring garden party", robot=robot)
    assert_no_failures(result)
    names = [p for p in result["data"] if p["type"] == "data-session-name"]
    assert len(names) == 1, result["data"]
    name = names[0]["data"]["name"]
    assert 2 <= len(name.split()) <= 5
    assert "finish" in result["requests"][0]["chunkTypes"]
    # Transient: on the client's onData only, never in a message's parts.
    assert all(p["type"] != "data-session-name" for m in result["messages"] for p in m["parts"])
    async with client_as(stack, stack.token) as client:
        shown = (await client.get(f"/robots/sessions/{session}")).json()
    assert shown["name"] == name
