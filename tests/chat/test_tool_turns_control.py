"""What keeps a tool-calling turn in bounds: a tool that fails, the step limit, the account's
permissions, a switch of robot, a cancel mid-turn,
and the offline model's own tool round trip. A real stack against the local model server
(tests/chat/test_tool_turns.py has the turns that go as planned)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest

from app.adapters.llm.local_model import Script, ScriptedToolCall
from app.domain.accounts import Role
from app.domain.events import (
    AssistantMessageCompleted,
    RobotSwitched,
    StepCompleted,
    ToolCallCompleted,
    TurnCancelled,
    TurnCompleted,
    TurnRequested,
)
from tests.chat.helpers import (
    assistant_rows,
    calls,
    chat,
    logged,
    model_requests,
    native_results,
    new_id,
    part_types,
    parts_of,
    robots_named,
    scripted_robot,
    wait_turn,
)
from tests.chat.sse import Frame, chat_body, frames, text_of
from tests.chat.stack import Stack

PROVIDERS = ("openai", "anthropic")
# How a tool result says it failed: Anthropic's is_error; OpenAI's tool messages have no flag.
ERROR_FLAG = {"openai": None, "anthropic": True}


def turn_of(got: list[Frame]) -> str:
    return str(got[0].id).rsplit(":", 1)[0]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_tool_that_fails_streams_its_error_and_the_turn_goes_on_to_its_answer(
    stack: Stack, provider: str,
) -> None:
    robot, model = await scripted_robot(stack, provider=provider, tools=("robot_get",))
    missing, call = str(uuid.uuid4()), new_id("call")
    stack.model.enqueue_for_model(
        model, calls(ScriptedToolCall(name="robot_get", arguments=json.dumps(
            {"robot_id": missing}), call_id=call)),
        Script(text="No such robot, sorry."))
    session = new_id("s")
    got = await chat(stack, session, "Look up that robot", robot=robot)

    assert parts_of(got, "tool-output-error") == [{
        "type": "tool-output-error", "toolCallId": call,
        "errorText": f"there is no robot with id {missing}", "dynamic": True}]
    assert text_of(got) == "No such robot, sorry."
    assert part_types(got)[-3:] == ["finish-step", "finish", "[DONE]"]
    events = await logged(stack, session)
    assert [(e.call_id, e.outcome) for e in events if isinstance(e, ToolCallCompleted)] == [
        (call, "error")]
    assert isinstance(events[-1], TurnCompleted)
    assert native_results(model_requests(stack, model)[1], provider) == [
        (call, f"there is no robot with id {missing}", ERROR_FLAG[provider])]


async def test_a_robot_at_its_step_limit_completes_the_turn_with_finish_reason_step_limit(
    stack: Stack,
) -> None:
    robot, model = await scripted_robot(stack, tools=("current_time",), max_steps=2)
    ids = [new_id("call") for _ in range(3)]  # it would call tools for ever
    stack.model.enqueue_for_model(model, *(calls(ScriptedToolCall(
        name="current_time", call_id=i)) for i in ids))
    session = new_id("s")
    got = await asyncio.wait_for(chat(stack, session, "Keep checking the time",
                                      robot=robot), 15)

    assert part_types(got)[-4:] == ["tool-output-available", "finish-step", "finish",
                                    "[DONE]"]
    # The AI SDK knows no "step-limit": the stream says "other" and names ours in metadata.
    assert got[-2].data["finishReason"] == "other"
    assert got[-2].data["messageMetadata"]["finishReason"] == "step-limit"
    assert [p["toolCallId"] for p in parts_of(got, "tool-output-available")] == ids[:2]
    assert len(model_requests(stack, model)) == 2
    events = await logged(stack, session)
    assert [e.step for e in events if isinstance(e, StepCompleted)] == [1, 2]
    assert [e.finish_reason for e in events if isinstance(e, TurnCompleted)] == ["step-limit"]
    row = await wait_turn(stack, turn_of(got))
    assert (row["status"], row["finish_reason"]) == ("completed", "step-limit")
    [message] = await assistant_rows(stack, session)
    assert [p["toolCallId"] for p in message["parts"] if p["type"] == "dynamic-tool"] == ids[:2]


async def robot_create_turn(stack: Stack, token: str) -> tuple[list[Any], str, str]:
    """A turn whose model calls robot_create then answers "Done.": its frames, the call's
    id and the robot name it asked for. The turn completes either way."""
    robot, model = await scripted_robot(stack, tools=("robot_create",))
    call, name = new_id("call"), new_id("made")
    stack.model.enqueue_for_model(
        model, calls(ScriptedToolCall(name="robot_create", arguments=json.dumps(
            {"name": name, "playbook": "Be helpful."}), call_id=call)),
        Script(text="Done."))
    session = new_id("s")
    got = await chat(stack, session, "Make me a robot", robot=robot, token=token)
    assert text_of(got) == "Done." and got[-2].data["type"] == "finish"
    assert isinstance((await logged(stack, session))[-1], TurnCompleted)
    return got, call, name


async def test_a_members_turn_is_refused_robot_create_and_no_robot_is_made(
    stack: Stack,
) -> None:
    assert stack.services is not None
    _, member = await stack.services.accounts.create(new_id("member"), None, Role.MEMBER)
    got, call, name = await robot_create_turn(stack, member)
    [refused] = parts_of(got, "tool-output-error")
    assert refused["toolCallId"] == call
    assert refused["errorText"].startswith("permission denied"), refused
    assert "MANAGE_ROBOTS" in refused["errorText"]
    assert await robots_named(stack, name) == 0


async def test_an_admins_turn_creates_exactly_one_robot(stack: Stack) -> None:
    assert stack.services is not None
    got, call, name = await robot_create_turn(stack, stack.token)
    [created] = parts_of(got, "tool-output-available")
    assert created["toolCallId"] == call
    assert (created["output"]["name"], created["output"]["playbook"]) == (name, "Be helpful.")
    assert await robots_named(stack, name) == 1
    made = await stack.services.robots.get(uuid.UUID(created["output"]["id"]))
    assert made is not None and made.name == name


async def test_robot_switch_hands_the_next_step_and_the_next_turn_to_the_other_robot(
    stack: Stack,
) -> None:
    b, b_model = await scripted_robot(stack, Script(text="B here, taking over."),
                                      Script(text="B again."))
    a, a_model = await scripted_robot(stack, tools=("robot_switch",))
    call = new_id("call")
    stack.model.enqueue_for_model(a_model, calls(ScriptedToolCall(
        name="robot_switch", arguments=json.dumps({"robot_id": b}), call_id=call)))
    session = new_id("s")
    got = await chat(stack, session, "Can someone else help?", robot=a)

    [switched] = parts_of(got, "tool-output-available")
    assert switched["output"]["switched_to"]["id"] == b
    assert text_of(got) == "B here, taking over."
    # The model server got A's step, then B's.
    asked = [r.body["model"] for r in stack.model.completions()
             if isinstance(r.body, dict) and r.body.get("model") in (a_model, b_model)]
    assert asked == [a_model, b_model]
    events = await logged(stack, session)
    assert [(e.robot_id, e.turn_id) for e in events if isinstance(e, RobotSwitched)] == [
        (b, turn_of(got))]
    [message] = [e for e in events if isinstance(e, AssistantMessageCompleted)]
    assert message.robot_id == b
    [row] = await assistant_rows(stack, session)
    assert row["robot_id"] == b and row["robot_name"] == b_model

    again = await chat(stack, session, "And now?")  # no robotId: the session's robot
    assert text_of(again) == "B again."
    assert [e.robot_id for e in await logged(stack, session)
            if isinstance(e, TurnRequested)] == [a, b]
    assert len(model_requests(stack, a_model)) == 1
    assert len(model_requests(stack, b_model)) == 2
    assert [r["robot_id"] for r in await assistant_rows(stack, session)] == [b, b]


async def test_after_a_robot_switch_the_session_shows_the_new_robot_as_its_active_one(
    stack: Stack,
) -> None:
    b, _ = await scripted_robot(stack, Script(text="B here."))
    a, a_model = await scripted_robot(stack, tools=("robot_switch",))
    stack.model.enqueue_for_model(a_model, calls(ScriptedToolCall(
        name="robot_switch", arguments=json.dumps({"robot_id": b}), call_id=new_id("call"))))
    session = new_id("s")
    assert text_of(await chat(stack, session, "Switch, please", robot=a)) == "B here."

    version = len(await logged(stack, session))
    async with stack.client() as client:
        now = (await client.get(f"/robots/sessions/{session}")).json()
        folded = (await client.get(f"/robots/sessions/{session}",
                                   params={"as_of": version})).json()
    # The log folded up to now says B answers next; the read model must say so too.
    assert folded["active_robot_id"] == b
    assert now["active_robot_id"] == b


async def test_cancel_during_a_slow_second_step_stops_within_a_second_and_keeps_step_one(
    stack: Stack,
) -> None:
    slow = " ".join(f"word{i}" for i in range(60))
    robot, model = await scripted_robot(stack, tools=("current_time",))
    call = new_id("call")
    stack.model.enqueue_for_model(
        model, calls(ScriptedToolCall(name="current_time", call_id=call)),
        Script(text=slow, tokens_per_second=20))
    session = new_id("s")
    seen: list[Frame] = []
    cancelled_at = stopped_at = None
    async with stack.client(0) as one, stack.client(1) as two, one.stream(
        "POST", "/robots/chat/sse", json=chat_body(session, new_id("m"), "go", robotId=robot)
    ) as response:
        async for frame in frames(response):
            seen.append(frame)
            kind = frame.data if frame.data == "[DONE]" else frame.data["type"]
            if kind == "abort":
                stopped_at = time.monotonic()
            if kind == "text-delta" and cancelled_at is None and len(
                    parts_of(seen, "text-delta")) == 3:
                cancelled_at = time.monotonic()
                answer = await two.post(
                    f"/robots/sessions/{session}/turns/{turn_of(seen)}/cancel")
                assert answer.status_code == 200, answer.text
    assert cancelled_at is not None and stopped_at is not None
    assert stopped_at - cancelled_at < 1.0
    assert part_types(seen)[-2:] == ["abort", "[DONE]"]
    [output] = parts_of(seen, "tool-output-available")
    events = await logged(stack, session)
    assert isinstance(events[-1], TurnCancelled)
    [row] = await assistant_rows(stack, session)
    assert row["parts"][:3] == [
        {"type": "step-start"},
        {"type": "dynamic-tool", "toolCallId": call, "toolName": "current_time",
         "state": "output-available", "input": {}, "output": output["output"]},
        {"type": "step-start"}]
    [kept] = row["parts"][3:]
    assert kept["type"] == "text" and kept["text"] == text_of(seen)
    assert slow.startswith(kept["text"]) and kept["text"] != slow


async def test_the_offline_model_asked_the_time_calls_current_time_and_quotes_its_answer(
    stack: Stack,
) -> None:
    assert stack.services is not None
    robot, _ = await scripted_robot(stack, tools=("current_time",))
    await stack.services.robots.update(uuid.UUID(robot), {"model": "local/echo"},
                                       uuid.uuid4())
    session = new_id("s")
    got = await chat(stack, session, "what time is it?", robot=robot)

    [asked] = parts_of(got, "tool-input-available")
    assert (asked["toolName"], asked["input"]) == ("current_time", {})
    [answered] = parts_of(got, "tool-output-available")
    assert answered["toolCallId"] == asked["toolCallId"]
    assert text_of(got) == (
        f"The current_time tool answered: {json.dumps(answered['output'])}.")
    assert part_types(got)[-3:] == ["finish-step", "finish", "[DONE]"]
    [row] = await assistant_rows(stack, session)
    assert [p["type"] for p in row["parts"]] == [
        "step-start", "dynamic-tool", "step-start", "text"]
    assert row["parts"][1]["output"] == answered["output"]
