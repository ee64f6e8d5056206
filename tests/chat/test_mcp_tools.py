"""MCP tools in real turns: a real MCP server (the `mcp` SDK's, on loopback, requiring a
bearer token) registered and refreshed through the API, a robot given its tools, and the
model (the local model, scripted) calling them through the worker; the stack is real (API,
worker, projector), on a database of its own so its cached tools stay out of other tests."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.adapters.llm.local_model import Script
from app.domain.events import ToolCallCompleted, TurnCompleted
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
    scripted_robot,
)
from tests.chat.mcp_stack import call, register, stack_of_its_own
from tests.chat.sse import text_of
from tests.chat.stack import Stack
from tests.mcp_support import mcp_test_server
from tests.services import FoundServices

PROVIDERS = ("openai", "anthropic")
TIMEOUT_S = 1.5
FORECAST = {"city": "Oslo", "sky": "clear", "high_c": 21}


@pytest.fixture(scope="module")
async def stack(services: FoundServices, template_database: str) -> AsyncIterator[Stack]:
    async with stack_of_its_own(services, template_database,
                                mcp_call_timeout_s=TIMEOUT_S) as running:
        yield running


def offered(body: dict[str, Any]) -> list[str]:
    """The tool names a model request offered (either wire format)."""
    return [t["function"]["name"] if "function" in t else t["name"]
            for t in body.get("tools", [])]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_robot_calls_mcp_tools_and_the_token_goes_only_to_the_server(
    stack: Stack, provider: str, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[httpx.Response] = []
    async with mcp_test_server() as mcp:
        s = await register(stack, mcp, seen)
        robot, model = await scripted_robot(
            stack, provider=provider, tools=("current_time", f"mcp:{s}:forecast",
                                             f"mcp:{s}:shout"))
        weather, forecast = call(f"{s}_forecast", {"city": "Oslo"})
        loud, shout = call(f"{s}_shout", {"text": "hi"})
        stack.model.enqueue_for_model(model, calls(forecast, shout),
                                      Script(text="Clear in Oslo, and HI."))
        session = new_id("s")
        got = await chat(stack, session, "The weather in Oslo?", robot=robot)

    assert text_of(got) == "Clear in Oslo, and HI."
    assert part_types(got)[-2:] == ["finish", "[DONE]"]
    # Structured content as it is; a tool with only text gives its text.
    outputs = {p["toolCallId"]: p["output"] for p in parts_of(got, "tool-output-available")}
    assert outputs == {weather: FORECAST, loud: {"text": "HI"}}
    assert sorted(mcp.calls) == [("forecast", {"city": "Oslo"}), ("shout", {"text": "hi"})]

    first, second = model_requests(stack, model)
    assert offered(first) == ["current_time", f"{s}_forecast", f"{s}_shout"]
    results = {call_id: content for call_id, content, _ in native_results(second, provider)}
    assert json.loads(results[weather]) == FORECAST
    assert json.loads(results[loud]) == {"text": "HI"}

    events = await logged(stack, session)
    assert {(e.call_id, e.outcome) for e in events if isinstance(e, ToolCallCompleted)} == {
        (weather, "output"), (loud, "output")}
    assert any(isinstance(e, TurnCompleted) for e in events)
    stored = [p for row in await assistant_rows(stack, session) for p in row["parts"]
              if p["type"] == "dynamic-tool"]
    assert sorted((p["toolName"], p["output"]) for p in stored) == [
        (f"{s}_forecast", FORECAST), (f"{s}_shout", {"text": "HI"})]

    # The token reached the server on every request, and nothing else carries it.
    assert mcp.authorizations and set(mcp.authorizations) == {f"Bearer {mcp.token}"}
    for response in seen:
        assert mcp.token not in response.text
    assert mcp.token not in json.dumps([f.data for f in got])
    assert mcp.token not in caplog.text
    assert all(mcp.token not in str(r.__dict__) for r in caplog.records)
    assert stack.services is not None
    async with stack.services.pool.connection() as conn:
        leaked = await (await conn.execute(
            "SELECT (SELECT count(*) FROM events WHERE data::text LIKE %(t)s"
            " OR metadata::text LIKE %(t)s)"
            " + (SELECT count(*) FROM messages WHERE parts::text LIKE %(t)s)",
            {"t": f"%{mcp.token}%"})).fetchone()
    assert leaked == (0,)


async def test_a_server_stopped_mid_session_is_a_tool_error_and_the_turn_completes(
    stack: Stack,
) -> None:
    async with mcp_test_server() as mcp:
        s = await register(stack, mcp)
        robot, model = await scripted_robot(stack, provider="anthropic",
                                            tools=(f"mcp:{s}:forecast",))
        before, early = call(f"{s}_forecast", {"city": "Oslo"})
        after, late = call(f"{s}_forecast", {"city": "Bergen"})
        stack.model.enqueue_for_model(model, calls(early), Script(text="Clear."),
                                      calls(late), Script(text="The weather service is down."))
        session = new_id("s")
        first = await chat(stack, session, "Oslo?", robot=robot)
        assert [p["output"] for p in parts_of(first, "tool-output-available")] == [FORECAST]
        await mcp.stop()
        got = await chat(stack, session, "And Bergen?", robot=robot)

    errors = parts_of(got, "tool-output-error")
    assert [e["toolCallId"] for e in errors] == [after]
    assert "cannot reach" in errors[0]["errorText"] and mcp.url in errors[0]["errorText"]
    assert text_of(got) == "The weather service is down."
    told = native_results(model_requests(stack, model)[-1], "anthropic")
    assert [(c, is_error) for c, _, is_error in told][-1] == (after, True)
    assert "cannot reach" in told[-1][1]
    events = await logged(stack, session)
    assert [(e.call_id, e.outcome) for e in events if isinstance(e, ToolCallCompleted)] == [
        (before, "output"), (after, "error")]
    assert sum(isinstance(e, TurnCompleted) for e in events) == 2


async def test_a_tool_that_fails_or_is_too_slow_is_the_models_error_and_the_turn_goes_on(
    stack: Stack,
) -> None:
    async with mcp_test_server() as mcp:
        s = await register(stack, mcp)
        robot, model = await scripted_robot(stack, tools=(f"mcp:{s}:fail", f"mcp:{s}:nap"))
        failing, fail = call(f"{s}_fail", {"reason": "storm"})
        slow, nap = call(f"{s}_nap", {"seconds": TIMEOUT_S * 4})
        stack.model.enqueue_for_model(model, calls(fail, nap), Script(text="Both failed."))
        session = new_id("s")
        got = await chat(stack, session, "Try both.", robot=robot)

    errors = {p["toolCallId"]: p["errorText"] for p in parts_of(got, "tool-output-error")}
    assert set(errors) == {failing, slow}
    assert "the weather service is closed: storm" in errors[failing]
    assert f"did not answer within {TIMEOUT_S:g} s" in errors[slow]
    assert text_of(got) == "Both failed."
    told = dict((c, text) for c, text, _ in native_results(model_requests(stack, model)[-1],
                                                               "openai"))
    assert "storm" in told[failing] and "did not answer" in told[slow]
    assert any(isinstance(e, TurnCompleted) for e in await logged(stack, session))


async def test_a_disabled_servers_tools_are_not_offered_and_not_run(stack: Stack) -> None:
    async with mcp_test_server() as mcp:
        s = await register(stack, mcp)
        async with stack.client() as client:
            servers = (await client.get("/robots/mcp-servers")).json()["servers"]
            server_id = next(x["id"] for x in servers if x["slug"] == s)
            disabled = await client.patch(f"/robots/mcp-servers/{server_id}",
                                          json={"enabled": False})
        assert disabled.status_code == 200, disabled.text
        robot, model = await scripted_robot(stack, tools=("current_time", f"mcp:{s}:forecast"))
        refused, forecast = call(f"{s}_forecast", {"city": "Oslo"})
        stack.model.enqueue_for_model(model, calls(forecast), Script(text="No forecast."))
        got = await chat(stack, new_id("s"), "Oslo?", robot=robot)

    assert offered(model_requests(stack, model)[0]) == ["current_time"]
    errors = parts_of(got, "tool-input-error")
    assert [e["toolCallId"] for e in errors] == [refused]
    assert "there is no tool named" in errors[0]["errorText"]
    assert mcp.calls == [] and text_of(got) == "No forecast."
