"""Nothing leaves a turn stuck: a worker killed mid-turn, a job Redis lost."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

from app.adapters.llm.local_model import Script
from app.adapters.streams.keys import arq_queue, buffer_key
from tests.chat.helpers import (
    event_types,
    robot_with_script,
    start_unwatched,
    turn_row,
    wait_turn,
    wait_until,
)
from tests.chat.sse import read_all, text_of
from tests.chat.stack import Stack, worker_environment

SLOW = Script(text=" ".join(f"w{i}" for i in range(40)), tokens_per_second=20)


async def test_a_worker_killed_mid_turn_is_retried_and_ends_with_one_answer(
    bare_stack: Stack,
) -> None:
    stack = bare_stack
    robot = await robot_with_script(stack, SLOW)
    doomed = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli.main", "worker", env=worker_environment(stack.settings),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        session, turn_id = await start_unwatched(stack, robot)

        async def midway() -> bool:
            assert stack.services is not None
            row = await turn_row(stack, turn_id)
            parts = await stack.services.redis.xlen(
                buffer_key(stack.settings.redis_prefix, turn_id))
            return bool(row and row["status"] == "running") and parts > 8

        await wait_until(midway, "the turn half streamed")
        os.kill(doomed.pid, signal.SIGKILL)
        await asyncio.wait_for(doomed.wait(), 10)
    finally:
        if doomed.returncode is None:
            doomed.kill()
            await doomed.wait()
    survivor = stack.start_worker()
    row = await wait_turn(stack, turn_id, timeout=30)
    assert row["status"] == "completed" and row["attempts"] == 2
    types = await event_types(stack, session)
    assert types.count("TurnStarted") == 2
    assert types.count("AssistantMessageCompleted") == 1
    assert sum(types.count(t) for t in ("TurnCompleted", "TurnFailed", "TurnCancelled")) == 1
    async with stack.client() as client, client.stream(
            "GET", f"/robots/sessions/{session}/stream?turn_id={turn_id}") as response:
        frames = await read_all(response)
    assert frames[-1].data == "[DONE]"
    [notice] = [f.data for f in frames
                if f.data != "[DONE]" and f.data["type"] == "data-turn-retry"]
    assert notice == {"type": "data-turn-retry", "transient": True, "data": {"attempt": 2}}
    # A resume from the start leaves out what the dead attempt said of the step it never
    # recorded: the reply once, as stored (app.adapters.streams.retries).
    assert text_of(frames) == SLOW.text
    await stack.stop_worker(survivor)


async def test_a_job_lost_by_redis_is_found_by_the_sweeper(bare_stack: Stack) -> None:
    stack = bare_stack
    assert stack.services is not None
    robot = await robot_with_script(stack, Script(text="recovered"))
    session, turn_id = await start_unwatched(stack, robot)
    redis = stack.services.redis
    queue = arq_queue(stack.settings.redis_prefix)
    assert await redis.zrem(queue, turn_id) == 1
    assert await redis.delete(f"arq:job:{turn_id}") == 1
    worker = stack.start_worker()
    row = await wait_turn(stack, turn_id, timeout=30)
    assert row["status"] == "completed" and row["attempts"] == 1
    assert (await event_types(stack, session)).count("AssistantMessageCompleted") == 1
    await stack.stop_worker(worker)
