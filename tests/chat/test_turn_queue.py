"""Queueing a turn: an arq job any arq worker can run, queued once, with a wake-up."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus

from app.adapters.turn_queue import RUN_TURN, arq_pool, enqueue_turn, wake_channel
from tests.services import FoundServices


@pytest.fixture
async def arq(services: FoundServices) -> AsyncIterator[ArqRedis]:
    pool = await arq_pool(services.redis_url, f"{services.redis_prefix}-{uuid.uuid4().hex[:6]}")
    yield pool
    await pool.aclose()


async def test_a_turn_is_queued_once_as_an_arq_job_and_wakes_the_workers(arq: ArqRedis) -> None:
    turn_id = f"turn-{uuid.uuid4().hex}"  # arq's job keys are not under our prefix
    pubsub = arq.pubsub()
    await pubsub.subscribe(wake_channel(arq.default_queue_name))
    try:
        assert await enqueue_turn(arq, "s-1", turn_id, robot_id="r-1")
        assert not await enqueue_turn(arq, "s-1", turn_id)  # already queued: no second job
        job = Job(turn_id, arq, _queue_name=arq.default_queue_name)
        info = await job.info()
        assert info is not None
        assert (info.function, info.args, info.kwargs) == (RUN_TURN, ("s-1", turn_id, "r-1"), {})
        assert await job.status() == JobStatus.queued
        assert await arq.zcard(arq.default_queue_name) == 1
        wake_ups = []
        deadline = asyncio.get_running_loop().time() + 5
        while not wake_ups and asyncio.get_running_loop().time() < deadline:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None:
                wake_ups.append(message)
        assert len(wake_ups) == 1  # the refused second enqueue woke nobody
        assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2) is None
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await arq.delete(f"arq:job:{turn_id}", arq.default_queue_name)
