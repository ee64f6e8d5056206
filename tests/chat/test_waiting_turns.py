"""Turns that wait on a person: a tool that needs approval is not run until someone says
yes, and the turn goes on in the same assistant message (app/domain/decisions/waiting.py)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from app.adapters.llm.local_model import Script, ScriptedToolCall
from tests.chat.helpers import (
    calls,
    chat,
    client_as,
    doomed_robot,
    model_requests,
    native_results,
    new_id,
    part_types,
    parts_of,
    scripted_robot,
    turn_row,
)
from tests.chat.sse import Frame, chat_body, read_all, text_of
from tests.chat.stack import Stack


async def _deleting_robot(stack: Stack, victim: str, answer: str,
                          provider: str = "openai") -> tuple[str, str]:
    return await scripted_robot(
        stack, calls(ScriptedToolCall(name="robot_delete", call_id="call-del",
                                      arguments=json.dumps({"robot_id": victim}))),
        Script(text=answer), tools=("robot_delete",), provider=provider)


def _answer(session: str, frames: list[Frame], *, approved: bool,
            reason: str | None = None) -> dict[str, Any]:
    """The body `addToolApprovalResponse` + `sendAutomaticallyWhen` post: the assistant
    message with its tool part in state approval-responded."""
    start = parts_of(frames, "start")[0]
    request = parts_of(frames, "tool-approval-request")[0]
    approval: dict[str, Any] = {"id": request["approvalId"], "approved": approved}
    if reason:
        approval["reason"] = reason
    return {"id": session, "trigger": "submit-message", "messageId": start["messageId"],
            "messages": [{"id": start["messageId"], "role": "assistant", "parts": [
                {"type": "step-start"},
                {"type": "dynamic-tool", "toolName": "robot_delete",
                 "toolCallId": request["toolCallId"], "state": "approval-responded",
                 "input": {}, "approval": approval}]}]}


async def _post(stack: Stack, body: dict[str, Any], instance: int = 0) -> list[Frame]:
    async with client_as(stack, stack.token, instance) as client, client.stream(
            "POST", "/robots/chat/sse", json=body) as response:
        assert response.status_code == 200, await response.aread()
        return await read_all(response)


async def test_a_call_that_needs_approval_waits_and_runs_once_approved(stack: Stack) -> None:
    assert stack.services is not None
    victim = await doomed_robot(stack)
    robot, _ = await _deleting_robot(stack, victim, "Deleted it.")
    session = new_id("s")
    first = await chat(stack, session, "delete the victim", robot=robot)
    # The call streams, asks for approval, and the stream ends: nothing ran.
    assert part_types(first)[-4:] == ["tool-approval-request", "finish-step", "finish",
                                      "[DONE]"]
    assert parts_of(first, "finish")[0]["finishReason"] == "tool-calls"
    assert await stack.services.robots.get(uuid.UUID(victim)) is not None
    turn_id = parts_of(first, "start")[0]["messageId"].removeprefix("msg-")
    row = await turn_row(stack, turn_id)
    assert row is not None and row["status"] == "waiting"
    async with client_as(stack, stack.token) as client:
        shown = (await client.get(f"/robots/sessions/{session}")).json()
    tool = next(p for m in shown["message_list"]["messages"] if m["role"] == "assistant"
                for p in m["parts"] if p["type"] == "dynamic-tool")
    assert tool["state"] == "approval-requested"
    assert shown["waiting_on"] == [{"call_id": "call-del", "name": "robot_delete",
                                    "kind": "approval", "approval_id": "approval-call-del"}]

    # Approved through the other API instance: the same message goes on.
    second = await _post(stack, _answer(session, first, approved=True), instance=1)
    assert parts_of(second, "start")[0]["messageId"] == f"msg-{turn_id}"
    # As the AI SDK's own streamText does: the answered call first, then the next step.
    assert part_types(second)[:3] == ["start", "tool-output-available", "start-step"]
    assert [p["toolCallId"] for p in parts_of(second, "tool-output-available")] == [
        "call-del"], part_types(second)
    assert text_of(second) == "Deleted it."
    assert await stack.services.robots.get(uuid.UUID(victim)) is None
    row = await turn_row(stack, turn_id)
    assert row is not None and row["status"] == "completed"
    async with client_as(stack, stack.token) as client:
        shown = (await client.get(f"/robots/sessions/{session}")).json()
    replies = [m for m in shown["message_list"]["messages"] if m["role"] == "assistant"]
    assert len(replies) == 1 and "waiting_on" not in shown
    assert [p["state"] for p in replies[0]["parts"] if p["type"] == "dynamic-tool"] == [
        "output-available"]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_a_denied_call_is_not_run_and_the_model_is_told_why(stack: Stack,
                                                                  provider: str) -> None:
    assert stack.services is not None
    victim = await doomed_robot(stack)
    robot, model = await _deleting_robot(stack, victim, "Fine, I left it.", provider)
    session = new_id("s")
    first = await chat(stack, session, "delete the victim", robot=robot)
    second = await _post(stack, _answer(session, first, approved=False,
                                        reason="it is still in use"))
    assert parts_of(second, "tool-output-denied")[0]["toolCallId"] == "call-del"
    assert text_of(second) == "Fine, I left it."
    assert await stack.services.robots.get(uuid.UUID(victim)) is not None
    [(call, told, is_error)] = native_results(model_requests(stack, model)[-1], provider)
    assert call == "call-del" and "denied (it is still in use)" in told
    assert is_error is (True if provider == "anthropic" else None)


async def test_answers_that_do_not_fit_the_wait_are_409s_that_say_why(stack: Stack) -> None:
    victim = await doomed_robot(stack)
    robot, _ = await _deleting_robot(stack, victim, "ok")
    session = new_id("s")
    first = await chat(stack, session, "delete the victim", robot=robot)
    async with client_as(stack, stack.token) as client:
        # A new message while the call waits names the call.
        busy = await client.post("/robots/chat/sse", json=chat_body(session, new_id("m"),
                                                                    "hello?"))
        assert busy.status_code == 409
        assert busy.json()["type"] == "/problems/turn-waiting"
        assert busy.json()["metadata"]["waiting_call_ids"] == ["call-del"]
        # An answer to a call the turn never made.
        wrong = _answer(session, first, approved=True)
        wrong["messages"][0]["parts"][1]["toolCallId"] = "call-nope"
        stray = await client.post("/robots/chat/sse", json=wrong)
        assert stray.status_code == 409
        assert stray.json()["type"] == "/problems/not-waiting"
    await _post(stack, _answer(session, first, approved=True))
    async with client_as(stack, stack.token) as client:
        # The same answer again: the call no longer waits; nothing changes.
        again = await client.post("/robots/chat/sse", json=_answer(session, first,
                                                                   approved=True))
    assert again.status_code == 409
    assert "answered before" in again.json()["detail"]


async def test_interrupt_denies_the_waiting_calls_and_runs_the_new_message(
        stack: Stack) -> None:
    assert stack.services is not None
    victim = await doomed_robot(stack)
    robot, _ = await _deleting_robot(stack, victim, "unused")
    session = new_id("s")
    first = await chat(stack, session, "delete the victim", robot=robot)
    turn_id = parts_of(first, "start")[0]["messageId"].removeprefix("msg-")
    async with client_as(stack, stack.token) as client, client.stream(
            "POST", "/robots/chat/sse", json=chat_body(
                session, new_id("m"), "never mind", robotId=robot,
                multitask="interrupt")) as response:
        assert response.status_code == 200
        await read_all(response)
    row = await turn_row(stack, turn_id)
    assert row is not None and row["status"] == "cancelled"
    assert await stack.services.robots.get(uuid.UUID(victim)) is not None


def _output_body(session: str, frames: list[Frame], output: Any) -> dict[str, Any]:
    """What `addToolOutput` + `sendAutomaticallyWhen` post for a client tool's call."""
    start = parts_of(frames, "start")[0]
    call = parts_of(frames, "tool-input-available")[0]
    return {"id": session, "trigger": "submit-message", "messageId": start["messageId"],
            "messages": [{"id": start["messageId"], "role": "assistant", "parts": [
                {"type": "step-start"},
                {"type": "dynamic-tool", "toolName": call["toolName"],
                 "toolCallId": call["toolCallId"], "state": "output-available",
                 "input": call["input"], "output": output}]}]}


async def test_a_client_tool_waits_for_the_clients_output_and_the_model_gets_it(
        stack: Stack) -> None:
    async with client_as(stack, stack.token) as client:
        made = await client.post("/robots", json={
            "name": f"painter-{uuid.uuid4().hex[:8]}", "description": "", "playbook": "x",
            "model": "openai/painter-model", "client_tools": [{
                "name": "pick_colour", "description": "Ask the user for a colour",
                "input_schema": {"type": "object", "properties": {
                    "why": {"type": "string"}}, "required": ["why"]}}]})
        assert made.status_code == 201, made.text
        assert made.json()["client_tools"][0]["name"] == "pick_colour"
    model = f"painter-{uuid.uuid4().hex[:8]}"
    async with client_as(stack, stack.token) as client:
        patched = await client.patch(f"/robots/{made.json()['id']}",
                                     json={"model": f"openai/{model}"})
        assert patched.status_code == 200, patched.text
    stack.model.enqueue_for_model(
        model, calls(ScriptedToolCall(name="pick_colour", call_id="call-pick",
                                      arguments=json.dumps({"why": "the walls"}))),
        Script(text="Teal it is."))
    session = new_id("s")
    first = await chat(stack, session, "paint it", robot=made.json()["id"])
    assert parts_of(first, "tool-input-available")[0]["input"] == {"why": "the walls"}
    assert parts_of(first, "finish")[0]["finishReason"] == "tool-calls"
    assert not parts_of(first, "tool-output-available")  # the server never runs it
    second = await _post(stack, _output_body(session, first, {"colour": "teal"}))
    assert text_of(second) == "Teal it is."
    [(call, told, _)] = native_results(model_requests(stack, model)[-1], "openai")
    assert call == "call-pick" and json.loads(told) == {"colour": "teal"}


async def test_with_auto_run_tools_off_a_native_tool_call_waits_for_the_client(
        stack: Stack) -> None:
    robot, model = await scripted_robot(
        stack, calls(ScriptedToolCall(name="current_time", call_id="call-now")),
        Script(text="Thanks for the time."), tools=("current_time",))
    session = new_id("s")
    await chat(stack, session, "hello", robot=robot)  # the session exists; a plain turn
    async with client_as(stack, stack.token) as client:
        patched = await client.patch(f"/robots/sessions/{session}",
                                     json={"auto_run_tools": False})
        assert patched.status_code == 200, patched.text
        shown = (await client.get(f"/robots/sessions/{session}")).json()
        assert (shown["auto_run_tools"], shown["forward_tool_calls"]) == (False, False)
    stack.model.enqueue_for_model(
        model, calls(ScriptedToolCall(name="current_time", call_id="call-now2")),
        Script(text="Thanks for the time."))
    first = await chat(stack, session, "what time is it?", robot=robot)
    assert not parts_of(first, "tool-output-available")  # it waits for the client
    second = await _post(stack, _output_body(session, first, {"now": "teatime"}))
    assert text_of(second) == "Thanks for the time."
    [(_, told, _)] = native_results(model_requests(stack, model)[-1], "openai")
    assert json.loads(told) == {"now": "teatime"}
