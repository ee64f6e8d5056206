"""Turns of many steps: the model calls tools, the worker runs them and records each call,
and the model answers from their results. A real stack (API, worker, projector) against
the local model server, in both wire formats where the wire carries the tool calls.

tests/chat/test_tool_turns_control.py has the rest: failures, limits, permissions,
switching robot, cancelling, and the offline model.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from app.adapters.llm.local_model import Script, ScriptedToolCall
from app.adapters.streams.keys import buffer_key
from app.domain.events import (
    AssistantMessageCompleted,
    StepCompleted,
    ToolCallCompleted,
    ToolCallStarted,
    TurnCompleted,
)
from tests.chat.helpers import (
    assistant_rows,
    calls,
    chat,
    logged,
    model_requests,
    native_calls,
    native_results,
    new_id,
    part_types,
    parts_of,
    scripted_robot,
)
from tests.chat.sse import Frame, read_all, text_of
from tests.chat.stack import Stack

PROVIDERS = ("openai", "anthropic")
ANSWER = "This robot is a test robot, and it is a little after midnight."
TOOL_STEP = ["start-step", "tool-input-start", "tool-input-delta", "tool-input-available",
             "tool-output-available", "finish-step"]
TEXT_STEP = ["start-step", "text-start", "text-delta", "text-end", "finish-step"]


def squeezed(types: list[str]) -> list[str]:
    """Part types with runs of one type (the deltas) said once."""
    return [t for i, t in enumerate(types) if i == 0 or types[i - 1] != t]


def streamed_arguments(got: list[Frame]) -> dict[str, str]:
    """Each call's input text, assembled from its tool-input-delta parts."""
    out: dict[str, str] = {}
    for part in parts_of(got, "tool-input-delta"):
        out[part["toolCallId"]] = out.get(part["toolCallId"], "") + part["inputTextDelta"]
    return out


def robot_output(robot: str, model: str, provider: str, tools: list[str]) -> dict[str, Any]:
    """What robot_get answers for a robot made by `scripted_robot`."""
    return {"id": robot, "name": model, "description": "", "model": f"{provider}/{model}",
            "playbook": "Test robot.", "tools": tools}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_three_step_turn_streams_each_call_and_result_then_the_answer_and_records_them(
    stack: Stack, provider: str,
) -> None:
    tools = ["current_time", "robot_get"]
    robot, model = await scripted_robot(stack, provider=provider, tools=tuple(tools))
    clock, lookup = new_id("call"), new_id("call")
    arguments = json.dumps({"robot_id": robot})
    stack.model.enqueue_for_model(
        model, calls(ScriptedToolCall(name="current_time", call_id=clock)),
        calls(ScriptedToolCall(name="robot_get", arguments=arguments, call_id=lookup)),
        Script(text=ANSWER))
    session = new_id("s")
    before = datetime.now(UTC)
    got = await chat(stack, session, "Who are you, and what time is it?", robot=robot)
    after = datetime.now(UTC)

    assert squeezed(part_types(got)) == ["start", *TOOL_STEP, *TOOL_STEP, *TEXT_STEP,
                                         "finish", "[DONE]"]
    [finish] = parts_of(got, "finish")
    assert finish["finishReason"] == "stop"
    # The chunks that name or settle a call mark it dynamic (deltas carry no such field).
    tool_chunks = [f.data for f in got if isinstance(f.data, dict)
                   and f.data["type"].startswith("tool-")
                   and f.data["type"] != "tool-input-delta"]
    assert len(tool_chunks) == 6 and all(p["dynamic"] is True for p in tool_chunks)
    assert text_of(got) == ANSWER
    assert streamed_arguments(got) == {clock: "{}", lookup: arguments}
    assert [(p["toolCallId"], p["toolName"], p["input"])
            for p in parts_of(got, "tool-input-available")] == [
        (clock, "current_time", {}), (lookup, "robot_get", {"robot_id": robot})]
    outputs = {p["toolCallId"]: p["output"] for p in parts_of(got, "tool-output-available")}
    assert outputs[lookup] == robot_output(robot, model, provider, tools)
    assert outputs[clock]["timezone"] == "UTC"
    assert before <= datetime.fromisoformat(outputs[clock]["now"]) <= after

    events = await logged(stack, session)
    steps = [e for e in events if isinstance(e, StepCompleted)]
    assert [(s.step, [c.call_id for c in s.tool_calls]) for s in steps] == [
        (1, [clock]), (2, [lookup]), (3, [])]
    assert [e.call_id for e in events if isinstance(e, ToolCallStarted)] == [clock, lookup]
    assert [(e.call_id, e.outcome, e.output) for e in events
            if isinstance(e, ToolCallCompleted)] == [
        (clock, "output", outputs[clock]), (lookup, "output", outputs[lookup])]
    assert sum(isinstance(e, AssistantMessageCompleted) for e in events) == 1
    assert [e.finish_reason for e in events if isinstance(e, TurnCompleted)] == ["stop"]
    # The finish part carries the turn's usage over its three steps, and its model.
    used = (sum(s.usage.input_tokens for s in steps), sum(s.usage.output_tokens for s in steps))
    assert finish["messageMetadata"] == {"model": f"{provider}/{model}", "usage": {
        "inputTokens": used[0], "outputTokens": used[1], "totalTokens": sum(used)}}
    assert min(used) > 0

    def tool(call_id: str, name: str, tool_input: dict[str, Any]) -> dict[str, Any]:
        return {"type": "dynamic-tool", "toolCallId": call_id, "toolName": name,
                "state": "output-available", "input": tool_input, "output": outputs[call_id]}

    expected = [{"type": "step-start"}, tool(clock, "current_time", {}),
                {"type": "step-start"}, tool(lookup, "robot_get", {"robot_id": robot}),
                {"type": "step-start"}, {"type": "text", "text": ANSWER}]
    [row] = await assistant_rows(stack, session)
    assert row["parts"] == expected
    async with stack.client() as client:
        view = (await client.get(f"/robots/sessions/{session}")).json()
    shown = view["message_list"]["messages"][-1]
    assert (shown["role"], shown["robot"]["id"]) == ("assistant", robot)
    # The session view shows Storyden's parts: the stored ones without `step-start`.
    assert shown["parts"] == [p for p in expected if p["type"] != "step-start"]

    # Each step's request held what the steps before it said and got back.
    asked = model_requests(stack, model)
    assert len(asked) == 3
    assert native_calls(asked[2], provider) == [(lookup, "robot_get", {"robot_id": robot})]
    assert [(c, json.loads(text), error) for c, text, error in native_results(
        asked[2], provider)] == [(lookup, outputs[lookup], None if provider == "openai"
                                  else False)]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_parallel_calls_in_one_step_both_run_and_the_next_request_holds_both_results(
    stack: Stack, provider: str,
) -> None:
    tools = ["robot_get"]
    robot, model = await scripted_robot(stack, provider=provider, tools=tuple(tools))
    other, other_model = await scripted_robot(stack)
    first, second = new_id("call"), new_id("call")
    args = {first: json.dumps({"robot_id": robot}), second: json.dumps({"robot_id": other})}
    stack.model.enqueue_for_model(
        model, calls(*(ScriptedToolCall(name="robot_get", arguments=args[c], call_id=c,
                                        pieces=12) for c in (first, second))),
        Script(text="Two robots."))
    session = new_id("s")
    got = await chat(stack, session, "Tell me about both", robot=robot)

    assert (got[-2].data["type"], got[-2].data["finishReason"]) == ("finish", "stop")
    assert got[-1].data == "[DONE]"
    deltas = parts_of(got, "tool-input-delta")
    assert [sum(p["toolCallId"] == c for p in deltas) for c in (first, second)] == [12, 12]
    assert streamed_arguments(got) == args
    outputs = {p["toolCallId"]: p["output"] for p in parts_of(got, "tool-output-available")}
    assert outputs == {first: robot_output(robot, model, provider, tools),
                       second: robot_output(other, other_model, "openai", [])}
    assert text_of(got) == "Two robots."

    events = await logged(stack, session)
    assert [e.call_id for e in events if isinstance(e, ToolCallStarted)] == [first, second]
    assert {e.call_id: e.output for e in events if isinstance(e, ToolCallCompleted)} == outputs

    asked = model_requests(stack, model)
    assert len(asked) == 2
    assert native_calls(asked[1], provider) == [
        (c, "robot_get", json.loads(args[c])) for c in (first, second)]
    assert [(c, json.loads(text), error) for c, text, error in native_results(
        asked[1], provider)] == [(c, outputs[c], None if provider == "openai" else False)
                                 for c in (first, second)]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_invalid_json_arguments_are_refused_unrun_and_the_models_retry_succeeds(
    stack: Stack, provider: str,
) -> None:
    tools = ["robot_get"]
    robot, model = await scripted_robot(stack, provider=provider, tools=tuple(tools))
    broken, retry = new_id("call"), new_id("call")
    bad = '{"robot_id": "' + robot  # cut off: not JSON
    stack.model.enqueue_for_model(
        model, calls(ScriptedToolCall(name="robot_get", arguments=bad, call_id=broken)),
        calls(ScriptedToolCall(name="robot_get", arguments=json.dumps({"robot_id": robot}),
                               call_id=retry)),
        Script(text="Got it on the second try."))
    session = new_id("s")
    got = await chat(stack, session, "Look yourself up", robot=robot)

    refused_step = ["start-step", "tool-input-start", "tool-input-delta", "tool-input-error",
                    "finish-step"]
    assert squeezed(part_types(got)) == ["start", *refused_step, *TOOL_STEP, *TEXT_STEP,
                                         "finish", "[DONE]"]
    [refusal] = parts_of(got, "tool-input-error")
    assert (refusal["toolCallId"], refusal["toolName"], refusal["dynamic"]) == (
        broken, "robot_get", True)
    assert refusal["errorText"].startswith("the input is not valid JSON"), refusal
    assert bad in refusal["errorText"]
    assert streamed_arguments(got)[broken] == bad
    [output] = parts_of(got, "tool-output-available")
    assert output["toolCallId"] == retry
    assert output["output"] == robot_output(robot, model, provider, tools)

    events = await logged(stack, session)
    assert [e.call_id for e in events if isinstance(e, ToolCallStarted)] == [retry]
    assert [(e.call_id, e.outcome, e.error) for e in events
            if isinstance(e, ToolCallCompleted)] == [
        (broken, "error", refusal["errorText"]), (retry, "output", None)]
    assert isinstance(events[-1], TurnCompleted)

    # The model was told what was wrong, as the broken call's result.
    asked = model_requests(stack, model)
    assert len(asked) == 3
    assert native_results(asked[1], provider) == [
        (broken, refusal["errorText"], None if provider == "openai" else True)]
    [row] = await assistant_rows(stack, session)
    assert row["parts"][1] == {"type": "dynamic-tool", "toolCallId": broken,
                               "toolName": "robot_get", "state": "output-error", "input": {},
                               "errorText": refusal["errorText"]}
    assert row["parts"][3]["state"] == "output-available"


def assembled(got: list[Frame]) -> list[dict[str, Any]]:
    """The message a client folds from a stream, as the AI SDK does for dynamic tools
    (text and tool parts by id, a step-start per step), in the stored parts' shape."""
    parts: list[dict[str, Any]] = []
    by_id: dict[str, dict[str, Any]] = {}
    for part in (f.data for f in got if isinstance(f.data, dict)):
        kind, key = part["type"], str(part.get("toolCallId") or part.get("id"))
        if kind == "start-step":
            parts.append({"type": "step-start"})
        elif kind == "text-start":
            by_id[key] = {"type": "text", "text": ""}
            parts.append(by_id[key])
        elif kind == "text-delta":
            by_id[key]["text"] += part["delta"]
        elif kind in ("tool-input-available", "tool-input-error"):
            if key not in by_id:
                by_id[key] = {"type": "dynamic-tool", "toolCallId": key}
                parts.append(by_id[key])
            by_id[key] |= {"toolName": part["toolName"], "input": part["input"],
                           "state": "input-available"}
        if kind in ("tool-input-error", "tool-output-error"):
            by_id[key] |= {"state": "output-error", "errorText": part["errorText"]}
        elif kind == "tool-output-available":
            by_id[key] |= {"state": "output-available", "output": part["output"]}
    return parts


async def test_a_tool_turn_whose_buffer_expired_replays_from_the_log_as_it_was_streamed(
    stack: Stack,
) -> None:
    assert stack.services is not None
    robot, model = await scripted_robot(stack, tools=("robot_get",))
    broken, failing, working = new_id("call"), new_id("call"), new_id("call")
    stack.model.enqueue_for_model(
        model, calls(ScriptedToolCall(name="robot_get", arguments="{", call_id=broken),
                     ScriptedToolCall(name="robot_get", arguments=json.dumps(
                         {"robot_id": new_id("nobody")}), call_id=failing)),
        calls(ScriptedToolCall(name="robot_get", arguments=json.dumps({"robot_id": robot}),
                               call_id=working)),
        Script(text=ANSWER))
    session = new_id("s")
    live = await chat(stack, session, "Look us up", robot=robot)
    turn_id = str(live[0].id).rsplit(":", 1)[0]
    await stack.services.redis.delete(buffer_key(stack.settings.redis_prefix, turn_id))
    async with stack.client(1) as client, client.stream(
        "GET", f"/robots/sessions/{session}/stream", params={"turn_id": turn_id}
    ) as response:
        assert response.status_code == 200
        replayed = await read_all(response)

    [row] = await assistant_rows(stack, session)
    assert [p["state"] for p in row["parts"] if p["type"] == "dynamic-tool"] == [
        "output-error", "output-error", "output-available"]
    assert assembled(live) == row["parts"]
    assert assembled(replayed) == row["parts"]
    frame_types = ("start", "start-step", "finish-step", "finish", "[DONE]")
    assert [t for t in part_types(replayed) if t in frame_types] == [
        t for t in part_types(live) if t in frame_types]
    assert replayed[-2].data == live[-2].data  # the metadata too
    assert live[-2].data["finishReason"] == "stop"
