"""The real client, the `ai` npm package, folds a tool-calling turn into the message we store.

Every test runs once with `ai` 6 and once with `ai` 7 (the `ai_sdk` fixture). Tool chunks
carry `dynamic: true`, so both majors assemble `dynamic-tool` parts, the stored shape; a
refused input stays in `input` for a dynamic tool in both (v6 moves it to `rawInput` only
for a static one; see tests/e2e/ai_sdk/chat-client.mjs).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from app.adapters.llm.local_model import Script, ScriptedToolCall
from tests.chat.helpers import assistant_rows, calls, new_id, scripted_robot
from tests.chat.stack import Stack
from tests.e2e.ai_sdk_support import (
    AiSdkClient,
    assert_no_rejections,
    chunk_types,
    comparable,
    tool_parts,
)

ANSWER = "You are talking to a test robot; the clock says it is late."


async def stored_parts(stack: Stack, session: str) -> list[dict[str, Any]]:
    [row] = await assistant_rows(stack, session)
    return [comparable(p) for p in row["parts"]]


async def test_the_ai_sdk_folds_a_three_step_tool_turn_into_the_stored_message(
    stack: Stack, ai_sdk: AiSdkClient,
) -> None:
    robot, model = await scripted_robot(stack, tools=("current_time", "robot_get"))
    clock, lookup = new_id("call"), new_id("call")
    stack.model.enqueue_for_model(
        model, calls(ScriptedToolCall(name="current_time", call_id=clock)),
        calls(ScriptedToolCall(name="robot_get", arguments=json.dumps({"robot_id": robot}),
                               call_id=lookup, pieces=8)),
        Script(text=ANSWER))
    session = new_id("s")
    sent = await ai_sdk.send(stack, session, "Who are you, and what time is it?", robot=robot)

    assert_no_rejections(sent)
    assert sent["errorChunks"] == [] and sent["finishReason"] == "stop"
    assert sent["chunkTypes"].count("start-step") == 3
    assert sent["chunkTypes"].count("tool-output-available") == 2
    assert [p["type"] for p in sent["parts"]] == [
        "step-start", "dynamic-tool", "step-start", "dynamic-tool", "step-start", "text"]
    assert [(p["toolCallId"], p["toolName"], p["state"]) for p in tool_parts(sent)] == [
        (clock, "current_time", "output-available"), (lookup, "robot_get", "output-available")]
    assert tool_parts(sent)[1]["output"]["id"] == robot
    assert [comparable(p) for p in sent["parts"]] == await stored_parts(stack, session)

    # Reconnecting to the finished (still buffered) turn folds the same message again.
    again = await ai_sdk.resume(stack, session)
    assert_no_rejections(again)
    assert again["streamed"] and again["parts"] == sent["parts"]


async def test_the_ai_sdk_folds_a_refused_input_and_a_failed_tool_into_the_stored_message(
    stack: Stack, ai_sdk: AiSdkClient,
) -> None:
    robot, model = await scripted_robot(stack, tools=("robot_get",))
    broken, failing, working = new_id("call"), new_id("call"), new_id("call")
    stack.model.enqueue_for_model(
        model, calls(ScriptedToolCall(name="robot_get", arguments='{"robot_id": ',
                                      call_id=broken),
                     ScriptedToolCall(name="robot_get", arguments=json.dumps(
                         {"robot_id": str(uuid.uuid4())}), call_id=failing)),
        calls(ScriptedToolCall(name="robot_get", arguments=json.dumps({"robot_id": robot}),
                               call_id=working)),
        Script(text=ANSWER))
    session = new_id("s")
    sent = await ai_sdk.send(stack, session, "Look those robots up", robot=robot)

    assert_no_rejections(sent)
    assert {"tool-input-error", "tool-output-error"} <= set(sent["chunkTypes"])
    assert [(p["toolCallId"], p["state"]) for p in tool_parts(sent)] == [
        (broken, "output-error"), (failing, "output-error"), (working, "output-available")]
    assert "not valid JSON" in tool_parts(sent)[0]["errorText"]
    assert "there is no robot with id" in tool_parts(sent)[1]["errorText"]
    assert [comparable(p) for p in sent["parts"]] == await stored_parts(stack, session)


async def test_a_turn_stopped_by_its_step_limit_ends_with_a_finish_chunk_the_ai_sdk_accepts(
    stack: Stack, ai_sdk: AiSdkClient,
) -> None:
    robot, model = await scripted_robot(stack, tools=("current_time",), max_steps=1)
    stack.model.enqueue_for_model(model, *(calls(ScriptedToolCall(
        name="current_time", call_id=new_id("call"))) for _ in range(2)))
    session = new_id("s")
    sent = await ai_sdk.send(stack, session, "Keep checking the time", robot=robot)

    assert_no_rejections(sent)
    assert chunk_types(sent)[-2:] == ["finish-step", "finish"]
    # "step-limit" is no finish reason the SDK knows: it says "other", and ours rides along
    # in the message's metadata.
    assert sent["finishReason"] == "other"
    assert sent["message"]["metadata"]["finishReason"] == "step-limit"
    assert sent["message"]["metadata"]["model"] == f"openai/{model}"
    assert [p["state"] for p in tool_parts(sent)] == ["output-available"]
    assert [comparable(p) for p in sent["parts"]] == await stored_parts(stack, session)


async def test_a_model_failing_after_a_tool_step_leaves_the_message_the_ai_sdk_showed(
    stack: Stack, ai_sdk: AiSdkClient,
) -> None:
    robot, model = await scripted_robot(stack, tools=("current_time",))
    call = new_id("call")
    stack.model.enqueue_for_model(  # the second step fails, and so does its one retry
        model, calls(ScriptedToolCall(name="current_time", call_id=call)),
        *(Script(fail_status=500) for _ in range(2)))
    session = new_id("s")
    sent = await ai_sdk.send(stack, session, "What time is it?", robot=robot)

    assert_no_rejections(sent)
    assert sent["chunkTypes"][-1] == "error" and len(sent["errorChunks"]) == 1
    assert [(p["toolCallId"], p["state"]) for p in tool_parts(sent)] == [
        (call, "output-available")]
    # The failed step said nothing, so the store keeps no empty step: the message is the one
    # the SDK showed.
    stored = await stored_parts(stack, session)
    assert stored[-1]["type"] == "dynamic-tool"
    assert [comparable(p) for p in sent["parts"]] == stored
