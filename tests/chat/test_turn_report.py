"""A turn's usage and timings through the API: GET /robots/sessions/{id}/turns/{turn}."""

from __future__ import annotations

from app.adapters.llm.local_model import Script, ScriptedToolCall
from tests.chat.helpers import calls, chat, client_as, new_id, parts_of, scripted_robot
from tests.chat.stack import Stack


async def test_a_turn_reports_its_usage_per_step_and_its_timings(stack: Stack) -> None:
    robot, model = await scripted_robot(
        stack, calls(ScriptedToolCall(name="current_time", call_id="call-now")),
        Script(text="It is now."), tools=("current_time",))
    session = new_id("s")
    got = await chat(stack, session, "what time is it?", robot=robot)
    turn_id = parts_of(got, "start")[0]["messageId"].removeprefix("msg-")
    async with client_as(stack, stack.token) as client:
        answer = await client.get(f"/robots/sessions/{session}/turns/{turn_id}")
        other = await client.get(f"/robots/sessions/{new_id('s')}/turns/{turn_id}")
        unknown = await client.get(f"/robots/sessions/{session}/turns/turn-nope")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["status"], report["attempts"], report["robot_id"]) == (
        "completed", 1, robot)
    assert report["model"] == f"openai/{model}" and report["finish_reason"] == "stop"
    assert [(s["step"], s["tool_calls"], s["finish_reason"]) for s in report["steps"]] == [
        (1, 1, "tool-calls"), (2, 0, "stop")]
    assert all(s["usage"]["output_tokens"] > 0 for s in report["steps"])
    assert report["usage"] == {
        "input_tokens": sum(s["usage"]["input_tokens"] for s in report["steps"]),
        "output_tokens": sum(s["usage"]["output_tokens"] for s in report["steps"])}
    assert report["time_to_first_token_ms"] > 0 and report["duration_ms"] > 0
    assert report["started_at"] <= report["finished_at"]
    assert other.status_code == 404 and unknown.status_code == 404
    assert unknown.json()["type"] == "/problems/not-found"


async def test_tokens_are_counted_by_provider_and_model(stack: Stack) -> None:
    robot, model = await scripted_robot(stack, Script(text="Counted words here."))
    await chat(stack, new_id("s"), "count me", robot=robot)
    async with client_as(stack, stack.token) as client:
        metrics = (await client.get("/metrics")).text
    counted = {line.split("{")[1].split("}")[0]: float(line.rsplit(" ", 1)[1])
               for line in metrics.splitlines()
               if line.startswith("robots_model_tokens_total{") and f'"{model}"' in line}
    assert counted[f'direction="output",model="{model}",provider="openai"'] > 0
    assert counted[f'direction="input",model="{model}",provider="openai"'] > 0
    assert "robots_turn_duration_seconds_count" in metrics
