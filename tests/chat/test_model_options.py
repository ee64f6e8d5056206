"""A robot's model options reach the model: a robot made through HTTP with options runs a
turn of two steps (a tool call, then the answer) through the real SDKs, and every request
the local model server received carries them in its wire's own form."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.adapters.llm.local_model import Script, ScriptedToolCall
from tests.chat.helpers import calls, chat, model_requests, new_id
from tests.chat.sse import text_of
from tests.chat.stack import Stack

OPTIONS = {"max_tokens": 700, "temperature": 0.25, "reasoning_effort": "low"}
# What each wire carries of OPTIONS. OpenAI's official API takes `max_completion_tokens`;
# Anthropic takes the effort as its own `output_config.effort` and no temperature at all
# (app/adapters/llm/anthropic_adapter.py says why).
CARRIED = {
    "openai": {"max_completion_tokens": 700, "temperature": 0.25, "reasoning_effort": "low"},
    "anthropic": {"max_tokens": 700, "output_config": {"effort": "low"}},
}
NOT_CARRIED = {
    "openai": ("max_tokens", "output_config", "thinking"),
    "anthropic": ("temperature", "reasoning_effort", "thinking"),
}
OPTION_KEYS = ("temperature", "reasoning_effort", "output_config", "thinking")


async def robot_over_http(stack: Stack, provider: str, model: str,
                          **fields: Any) -> str:
    """A robot on `provider/model` with the current_time tool, made through the API."""
    async with stack.client() as client:
        created = await client.post("/robots", json={
            "name": model, "description": "", "playbook": "Test robot.",
            "model": f"{provider}/{model}", "tools": ["current_time"], **fields})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_every_step_of_a_turn_carries_the_robots_options(stack: Stack,
                                                               provider: str) -> None:
    model = f"options-{uuid.uuid4().hex[:8]}"
    robot = await robot_over_http(stack, provider, model, model_options=OPTIONS)
    stack.model.enqueue_for_model(
        model, calls(ScriptedToolCall(name="current_time", call_id=new_id("call"))),
        Script(text="It is late."))

    got = await chat(stack, new_id("s"), "What time is it?", robot=robot)

    assert text_of(got) == "It is late."
    bodies = model_requests(stack, model)
    assert len(bodies) == 2  # the tool call's step, then the answer's
    for body in bodies:
        assert {k: body.get(k) for k in CARRIED[provider]} == CARRIED[provider], body
        assert not set(NOT_CARRIED[provider]) & set(body), body


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_a_robot_without_options_sends_none_and_the_default_max_tokens(
    stack: Stack, provider: str,
) -> None:
    model = f"plain-{uuid.uuid4().hex[:8]}"
    robot = await robot_over_http(stack, provider, model)
    stack.model.enqueue_for_model(model, Script(text="Hello."))

    await chat(stack, new_id("s"), "Hi", robot=robot)

    [body] = model_requests(stack, model)
    limit = "max_completion_tokens" if provider == "openai" else "max_tokens"
    assert body[limit] == 4096
    assert not set(OPTION_KEYS) & set(body), body


async def test_changed_options_reach_the_next_turn(stack: Stack) -> None:
    model = f"patched-{uuid.uuid4().hex[:8]}"
    robot = await robot_over_http(stack, "openai", model, model_options=OPTIONS)
    async with stack.client() as client:
        patched = await client.patch(f"/robots/{robot}",
                                     json={"model_options": {"temperature": 1.2}})
    assert patched.status_code == 200, patched.text
    stack.model.enqueue_for_model(model, Script(text="Changed."))

    await chat(stack, new_id("s"), "Hi", robot=robot)

    [body] = model_requests(stack, model)
    assert body["temperature"] == 1.2 and body["max_completion_tokens"] == 4096
    assert "reasoning_effort" not in body
