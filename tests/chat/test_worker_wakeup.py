"""A worker is woken the moment a turn is queued (and still polls for jobs queued without
a wake-up), and a turn claimed twice at once (the model already asked by both) still gets
one answer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest
from arq import func

from app.adapters.llm.local_model import Script
from app.adapters.streams.keys import buffer_key
from app.adapters.turn_queue import RUN_TURN, arq_pool, enqueue_turn
from app.config.settings import Settings
from tests.chat.helpers import (
    event_types,
    new_id,
    robot_with_script,
    start_unwatched,
    wait_turn,
)
from tests.chat.sse import chat_body, read_all, text_of
from tests.chat.stack import Stack, running_stack
from tests.services import FoundServices
from workers.deps import WorkerDeps
from workers.turns.run import TurnRun
from workers.worker import create_worker

# Far longer than any test waits: a turn that runs at all was started by the wake-up.
NEVER_POLL_S = 120.0


def _base(services: FoundServices, database: str) -> Settings:
    return Settings(database_url=database, redis_url=services.redis_url,
                    redis_prefix=f"{services.redis_prefix}-{uuid.uuid4().hex[:6]}",
                    db_pool_min=1, db_pool_max=8)


@pytest.fixture(scope="module")
async def sleepy_stack(services: FoundServices, database: str) -> AsyncIterator[Stack]:
    async with running_stack(_base(services, database), worker_poll_s=NEVER_POLL_S) as stack:
        yield stack


@pytest.fixture(scope="module")
async def workerless_stack(services: FoundServices, database: str) -> AsyncIterator[Stack]:
    async with running_stack(_base(services, database), workers=0) as stack:
        yield stack


async def test_a_queued_turn_wakes_a_worker_that_would_not_poll_for_minutes(
    sleepy_stack: Stack,
) -> None:
    stack = sleepy_stack
    await asyncio.sleep(0.5)  # past the worker's first poll: it now waits for a wake-up
    for text in ("first", "second"):  # each of two turns in a row
        robot = await robot_with_script(stack, Script(text=text))
        body = chat_body(new_id("s"), new_id("m"), "hi", robotId=robot)
        async with stack.client() as client, client.stream(
            "POST", "/robots/chat/sse", json=body
        ) as response:
            parts = await asyncio.wait_for(read_all(response), timeout=20)
        assert text_of(parts) == text


async def test_two_claims_of_one_turn_at_once_give_one_answer(workerless_stack: Stack) -> None:
    stack = workerless_stack
    assert stack.services is not None
    robot = await robot_with_script(stack, Script(text="only once, please"))
    session, turn_id = await start_unwatched(stack, robot)
    deps = [await WorkerDeps.start(stack.settings) for _ in range(2)]
    try:
        # Both load the requested turn, ask the model and try to claim: one claim wins,
        # the other's model call is dropped before it publishes anything.
        results = await asyncio.gather(
            *(TurnRun(d, session, turn_id).run(robot_hint=robot) for d in deps))
    finally:
        for d in deps:
            await d.close()
    assert sorted(results)[0] == "completed", results
    assert results.count("completed") == 1, results
    assert (await wait_turn(stack, turn_id))["attempts"] == 1
    types = await event_types(stack, session)
    assert types.count("TurnStarted") == 1
    assert types.count("AssistantMessageCompleted") == 1
    entries = await stack.services.redis.xrange(buffer_key(stack.settings.redis_prefix, turn_id))
    parts = [msgspec.json.decode(fields[b"p"]) for _, fields in entries]
    assert [p["type"] for p in parts].count("start") == 1
    assert "".join(p["delta"] for p in parts if p["type"] == "text-delta") == "only once, please"


async def test_a_turn_running_elsewhere_costs_no_second_model_call(
    workerless_stack: Stack,
) -> None:
    stack = workerless_stack
    assert stack.services is not None
    robot = await robot_with_script(stack, Script(text="slow " * 30, tokens_per_second=20))
    session, turn_id = await start_unwatched(stack, robot)
    owner, latecomer = [await WorkerDeps.start(stack.settings) for _ in range(2)]
    try:
        running = asyncio.create_task(TurnRun(owner, session, turn_id).run(robot_hint=robot))
        # The log is polled: there is no event to wait on.
        while (await event_types(stack, session)).count("TurnStarted") == 0:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        calls = stack.model.app.request_count
        # A second delivery of the job while the owner's lease is alive: it must neither
        # take the turn over nor ask the model.
        assert await TurnRun(latecomer, session, turn_id).run(robot_hint=robot) == (
            "not mine to run now")
        assert stack.model.app.request_count == calls
        assert await running == "completed"
    finally:
        await owner.close()
        await latecomer.close()
    assert (await event_types(stack, session)).count("TurnStarted") == 1


async def test_a_job_queued_without_a_wake_up_is_found_by_the_next_poll(
    workerless_stack: Stack,
) -> None:
    stack = workerless_stack
    assert stack.services is not None
    robot = await robot_with_script(stack, Script(text="found by polling"))
    session, turn_id = await start_unwatched(stack, robot)
    arq = stack.services.arq
    # Take the job back out, start an idle worker, then queue the job the way a plain arq
    # client does: no wake-up is published, so only the worker's own poll can find it.
    assert await arq.zrem(arq.default_queue_name, turn_id) == 1
    assert await arq.delete(f"arq:job:{turn_id}") == 1
    worker = stack.start_worker()
    try:
        await asyncio.sleep(0.3)  # past its first poll: now it waits up to WORKER_POLL_S
        assert await arq.enqueue_job(RUN_TURN, session, turn_id, _job_id=turn_id)
        # Well before the sweeper would requeue it (SWEEP_GRACE_S, 5 s by default).
        row = await wait_turn(stack, turn_id, timeout=4)
        assert row["status"] == "completed"
    finally:
        await stack.stop_worker(worker)


async def test_two_workers_claiming_one_queued_job_at_once_start_it_once(
    services: FoundServices,
) -> None:
    settings = _base(services, "postgresql://unused")
    ran: list[tuple[str, str]] = []

    async def fake_turn(ctx: dict[str, object], session_id: str, turn_id: str,
                        robot_id: str | None = None) -> str:
        ran.append((session_id, turn_id))
        return "ran"

    pools = [await arq_pool(settings.redis_url, settings.redis_prefix) for _ in range(2)]
    workers = [create_worker(settings, redis_pool=pool, on_startup=None, on_shutdown=None,
                             cron_jobs=[], functions=[func(fake_turn, name=RUN_TURN)])
               for pool in pools]
    turn_id = new_id("turn")
    assert await enqueue_turn(pools[0], "s-1", turn_id)
    try:
        await asyncio.gather(*(w.start_jobs([turn_id.encode()]) for w in workers))
        started = [w for w in workers if turn_id in w.tasks]
        assert len(started) == 1
        await asyncio.gather(*started[0].tasks.values())
        assert ran == [("s-1", turn_id)]
        # The other worker holds off asking again, and a second look claims nothing.
        other = workers[1 - workers.index(started[0])]
        assert turn_id.encode() in other._elsewhere
        other._elsewhere.clear()
        await other.start_jobs([turn_id.encode()])
        assert turn_id not in other.tasks and ran == [("s-1", turn_id)]
    finally:
        for worker in workers:
            await worker.close()
