"""Nothing waits forever: a call nobody answers is denied when TOOL_WAIT_TIMEOUT_S passes,
and the turn goes on to its end."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest

from app.adapters.llm.local_model import Script, ScriptedToolCall
from app.config.settings import Settings
from tests.chat.helpers import (
    calls,
    chat,
    model_requests,
    native_results,
    new_id,
    parts_of,
    scripted_robot,
    wait_turn,
)
from tests.chat.stack import Stack, running_stack
from tests.services import FoundServices


@pytest.fixture(scope="module")
async def impatient(services: FoundServices, database: str) -> AsyncIterator[Stack]:
    base = Settings(database_url=database, redis_url=services.redis_url,
                    redis_prefix=f"{services.redis_prefix}-{uuid.uuid4().hex[:6]}",
                    db_pool_min=1, db_pool_max=8, turn_lease_s=1.5, sweep_interval_s=1,
                    sweep_grace_s=1.0, tool_wait_timeout_s=1.0)
    async with running_stack(base) as running:
        yield running


async def test_calls_nobody_answers_are_denied_and_the_turn_ends(impatient: Stack) -> None:
    stack = impatient
    robot, model = await scripted_robot(
        stack, calls(ScriptedToolCall(name="robot_delete", call_id="call-del",
                                      arguments=json.dumps({"robot_id": str(uuid.uuid4())}))),
        Script(text="Nobody answered, so I did nothing."), tools=("robot_delete",))
    first = await chat(stack, new_id("s"), "delete something", robot=robot)
    turn_id = parts_of(first, "start")[0]["messageId"].removeprefix("msg-")
    row = await wait_turn(stack, turn_id, timeout=30)
    assert row["status"] == "completed"
    [(call, told, _)] = native_results(model_requests(stack, model)[-1], "openai")
    assert call == "call-del" and "no answer in time" in told
