"""Handing turns to workers (arq) and telling workers to stop one (Redis pub/sub)."""

from __future__ import annotations

import redis.asyncio as aioredis
from arq.connections import ArqRedis, RedisSettings, create_pool

from app.streams.keys import arq_queue, cancels_channel

RUN_TURN = "run_turn"


async def arq_pool(redis_url: str, prefix: str) -> ArqRedis:
    return await create_pool(RedisSettings.from_dsn(redis_url),
                             default_queue_name=arq_queue(prefix))


def wake_channel(queue_name: str) -> str:
    """Where `robots worker` processes hear that a job was queued (see workers.turn_worker)."""
    return f"{queue_name}:wake"


async def enqueue_turn(arq: ArqRedis, session_id: str, turn_id: str,
                       job_id: str | None = None, *, robot_id: str | None = None) -> bool:
    """Queue a turn; False when a job with that id is already queued or running.

    The turn id is the job id, so enqueueing twice is harmless; retries after a lost
    worker use another id (the dead job may still hold the first until arq expires it).
    `robot_id`, when known, lets the worker load the robot while it loads the session.
    """
    args = (session_id, turn_id) if robot_id is None else (session_id, turn_id, robot_id)
    job = await arq.enqueue_job(RUN_TURN, *args, _job_id=job_id or turn_id)
    if job is not None:
        # A wake-up, not a delivery: a worker that misses it finds the job on its next poll.
        await arq.publish(wake_channel(arq.default_queue_name), b"")
    return job is not None


async def signal_cancel(redis: aioredis.Redis, prefix: str, turn_id: str) -> None:
    """Wake whichever worker runs the turn; the durable record is TurnCancelRequested."""
    await redis.publish(cancels_channel(prefix), turn_id)
