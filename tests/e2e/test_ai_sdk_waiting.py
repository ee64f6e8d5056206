"""The real client, the `ai` npm package, through turns that wait on it: an approval
(approved, and denied with a reason) and a client tool's output.

Every test runs once with `ai` 6 and once with `ai` 7 (the `ai_sdk` fixture). The client is
the SDK's own Chat (the class useChat wraps) with `sendAutomaticallyWhen`: it sends a message,
the turn's stream ends waiting on a call, the client answers with `addToolApprovalResponse` /
`addToolOutput`, and the SDK itself posts the answer and folds the continuation into the same
assistant message (tests/e2e/ai_sdk/waiting-client.mjs).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from app.adapters.llm.local_model import Script, ScriptedToolCall
from tests.chat.helpers import (
    assistant_rows,
    calls,
    client_as,
    doomed_robot,
    model_requests,
    native_results,
    new_id,
    scripted_robot,
)
from tests.chat.stack import Stack
from tests.e2e.ai_sdk_support import AiSdkClient, chunk_types, comparable, tool_parts

DELETED = "Done: the robot is gone."
KEPT = "Understood, I left the robot alone."
PAINTED = "Teal it is, then."


def assert_no_failures(result: dict[str, Any]) -> None:
    """Fail with the SDK's own words for everything it rejected or reported."""
    if result["failures"]:
        pytest.fail(f"the AI SDK (ai {result['sdkVersion']}) failed: "
                    + json.dumps(result["failures"])[:2000]
                    + f"\nrequests: {json.dumps(result['requests'])[:2000]}")


def shown(part: dict[str, Any]) -> dict[str, Any]:
    """comparable(), and a tool part's approval: the client and the store agree on both."""
    out = comparable(part)
    if "toolCallId" in out and part.get("approval") is not None:
        out["approval"] = part["approval"]
    return out


async def assert_stored_as_shown(stack: Stack, session: str, result: dict[str, Any]) -> None:
    """The client's messages are the session's, as GET /robots/sessions/{id} shows them
    (which leaves out step-start) and as the messages read model holds them (with it)."""
    async with client_as(stack, stack.token) as client:
        got = await client.get(f"/robots/sessions/{session}")
    assert got.status_code == 200, got.text
    stored = [(m["id"], m["role"], [shown(p) for p in m["parts"]])
              for m in got.json()["message_list"]["messages"]]
    assert stored == [(m["id"], m["role"], [shown(p) for p in m["parts"]
                                           if p["type"] != "step-start"])
                      for m in result["messages"]]
    [row] = await assistant_rows(stack, session)
    [reply] = assistant_messages(result)
    assert [shown(p) for p in row["parts"]] == [shown(p) for p in reply["parts"]]


def assistant_messages(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in result["messages"] if m["role"] == "assistant"]


def text_of(message: dict[str, Any]) -> str:
    return "".join(p["text"] for p in message["parts"] if p["type"] == "text")


def assert_one_message_continued(result: dict[str, Any]) -> dict[str, Any]:
    """The first stream waited; the SDK's automatic send answered in the same assistant
    message, and the continuation's `start` named it. That message, as the client has it."""
    assert_no_failures(result)
    assert result["status"] == "ready"
    first, second = result["requests"]  # the message, then exactly one automatic send
    assert (first["status"], second["status"]) == (200, 200)
    assert chunk_types(first)[-2:] == ["finish-step", "finish"]
    assert first["finishReason"] == "tool-calls"
    message_id = first["startMessageId"]
    assert message_id and message_id.startswith("msg-")
    assert second["body"]["messageId"] == message_id
    assert second["body"]["messages"][-1]["id"] == message_id
    assert second["body"]["messages"][-1]["role"] == "assistant"
    assert second["startMessageId"] == message_id
    assert second["finishReason"] == "stop"
    [reply] = assistant_messages(result)
    assert reply["id"] == message_id
    assert [m["role"] for m in result["messages"]] == ["user", "assistant"]
    return reply


async def _robot_exists(stack: Stack, robot: str) -> bool:
    assert stack.services is not None
    return await stack.services.robots.get(uuid.UUID(robot)) is not None


async def _deleting_robot(stack: Stack, victim: str, call: str, answer: str
                          ) -> tuple[str, str]:
    return await scripted_robot(
        stack, calls(ScriptedToolCall(name="robot_delete", call_id=call,
                                      arguments=json.dumps({"robot_id": victim}))),
        Script(text=answer), tools=("robot_delete",))


async def test_an_approved_call_runs_and_the_same_assistant_message_goes_on(
    stack: Stack, ai_sdk: AiSdkClient,
) -> None:
    victim, call = await doomed_robot(stack), new_id("call")
    robot, model = await _deleting_robot(stack, victim, call, DELETED)
    session = new_id("s")
    result = await ai_sdk.answer_waiting(stack, session, "Delete the victim robot",
                                         robot=robot, answer=("--approve",))

    assert_no_failures(result)
    [waiting] = tool_parts(result["waiting"])
    assert (waiting["toolCallId"], waiting["state"]) == (call, "approval-requested")
    assert chunk_types(result["requests"][0])[-3] == "tool-approval-request"
    assert result["answered"]["state"] == "approval-responded"
    assert result["answered"]["approval"] == {"id": waiting["approval"]["id"],
                                              "approved": True}
    reply = assert_one_message_continued(result)
    assert "tool-output-available" in result["requests"][1]["chunkTypes"]
    [tool] = tool_parts(reply)
    assert (tool["toolCallId"], tool["toolName"], tool["state"]) == (
        call, "robot_delete", "output-available")
    assert text_of(reply) == DELETED
    [(told_call, told, _)] = native_results(model_requests(stack, model)[-1], "openai")
    assert told_call == call and json.loads(told) == tool["output"]
    assert tool["output"]["deleted"] is True
    await assert_stored_as_shown(stack, session, result)
    assert not await _robot_exists(stack, victim)


async def test_a_denied_call_is_not_run_and_the_model_hears_the_reason(
    stack: Stack, ai_sdk: AiSdkClient,
) -> None:
    victim, call = await doomed_robot(stack), new_id("call")
    robot, model = await _deleting_robot(stack, victim, call, KEPT)
    session = new_id("s")
    why = "it still answers the support queue"
    result = await ai_sdk.answer_waiting(stack, session, "Delete the victim robot",
                                         robot=robot, answer=("--deny", "--reason", why))

    assert_no_failures(result)
    assert result["answered"]["state"] == "approval-responded"
    assert result["answered"]["approval"]["approved"] is False
    assert result["answered"]["approval"]["reason"] == why
    reply = assert_one_message_continued(result)
    assert "tool-output-denied" in result["requests"][1]["chunkTypes"]
    [tool] = tool_parts(reply)
    assert (tool["toolCallId"], tool["state"]) == (call, "output-denied")
    assert text_of(reply) == KEPT
    [(told_call, told, _)] = native_results(model_requests(stack, model)[-1], "openai")
    assert told_call == call and why in told
    await assert_stored_as_shown(stack, session, result)
    assert await _robot_exists(stack, victim)


async def _painter(stack: Stack, call: str) -> tuple[str, str]:
    """A robot with a client tool, made through POST /robots: (robot id, model name)."""
    model = f"painter-{uuid.uuid4().hex[:8]}"
    async with client_as(stack, stack.token) as client:
        made = await client.post("/robots", json={
            "name": model, "description": "", "playbook": "You paint rooms.",
            "model": f"openai/{model}", "client_tools": [{
                "name": "pick_colour", "description": "Ask the user for a colour",
                "input_schema": {"type": "object", "properties": {
                    "room": {"type": "string"}}, "required": ["room"]}}]})
    assert made.status_code == 201, made.text
    stack.model.enqueue_for_model(
        model, calls(ScriptedToolCall(name="pick_colour", call_id=call,
                                      arguments=json.dumps({"room": "kitchen"}))),
        Script(text=PAINTED))
    return str(made.json()["id"]), model


async def test_a_client_tools_output_from_the_client_continues_the_same_message(
    stack: Stack, ai_sdk: AiSdkClient,
) -> None:
    call = new_id("call")
    robot, model = await _painter(stack, call)
    session = new_id("s")
    colour = {"colour": "teal", "finish": "matte"}
    result = await ai_sdk.answer_waiting(stack, session, "Paint the kitchen", robot=robot,
                                         answer=("--output", json.dumps(colour)))

    assert_no_failures(result)
    [waiting] = tool_parts(result["waiting"])
    assert (waiting["toolCallId"], waiting["toolName"], waiting["state"], waiting["input"]) == (
        call, "pick_colour", "input-available", {"room": "kitchen"})
    assert "tool-output-available" not in result["requests"][0]["chunkTypes"]
    assert (result["answered"]["state"], result["answered"]["output"]) == (
        "output-available", colour)
    reply = assert_one_message_continued(result)
    [tool] = tool_parts(reply)
    assert (tool["toolCallId"], tool["state"], tool["output"]) == (
        call, "output-available", colour)
    assert text_of(reply) == PAINTED
    [(told_call, told, _)] = native_results(model_requests(stack, model)[-1], "openai")
    assert told_call == call and json.loads(told) == colour
    await assert_stored_as_shown(stack, session, result)
