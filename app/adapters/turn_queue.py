"""Handing turns (and session summaries) to workers (arq) and telling workers to stop a turn
(Redis pub/sub)."""

from __future__ import annotations

import redis.asyncio as aioredis
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms

from app.adapters.streams.keys import arq_queue, cancels_channel

RUN_TURN = "run_turn"
SUMMARISE = "summarise_session"

# arq's enqueue (the job under its key unless it or its result exists, then its id in the
# queue) in one round trip instead of three, with the workers' wake-up in the same call.
# The job is serialized by arq's own serialize_job, so any arq worker runs it.
_ENQUEUE = """
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('PSETEX', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
redis.call('PUBLISH', KEYS[4], '')
return 1
"""


async def arq_pool(redis_url: str, prefix: str) -> ArqRedis:
    return await create_pool(RedisSettings.from_dsn(redis_url),
                             default_queue_name=arq_queue(prefix))


def wake_channel(queue_name: str) -> str:
    """Where `robots worker` processes hear that a job was queued (workers.worker.TurnWorker)."""
    return f"{queue_name}:wake"


async def enqueue_turn(arq: ArqRedis, session_id: str, turn_id: str,
                       job_id: str | None = None, *, robot_id: str | None = None) -> bool:
    """Queue a turn; False when a job with that id is already queued or running.

    The turn id is the job id, so enqueueing twice is harmless; retries after a lost
    worker use another id (the dead job may still hold the first until arq expires it).
    `robot_id`, when known, lets the worker load the robot while it loads the session.
    """
    args = (session_id, turn_id) if robot_id is None else (session_id, turn_id, robot_id)
    return await _enqueue(arq, RUN_TURN, args, job_id or turn_id)


async def enqueue_summary(arq: ArqRedis, session_id: str) -> bool:
    """Queue a check of whether the session needs summarising (workers/summaries.py); False
    when one is already queued or running for it (its job id is the session's)."""
    return await _enqueue(arq, SUMMARISE, (session_id,), f"summarise:{session_id}")


async def _enqueue(arq: ArqRedis, function: str, args: tuple[str, ...], job_id: str) -> bool:
    queued_at = timestamp_ms()
    job = serialize_job(function, args, {}, None, queued_at, serializer=arq.job_serializer)
    queue = arq.default_queue_name
    # The wake-up is a nudge, not the delivery: a worker that misses it finds the job on
    # its next poll.
    enqueue = arq.register_script(_ENQUEUE)
    added = await enqueue(
        keys=[job_key_prefix + job_id, result_key_prefix + job_id, queue, wake_channel(queue)],
        args=[arq.expires_extra_ms, job, queued_at, job_id])
    return bool(added)


async def signal_cancel(redis: aioredis.Redis, prefix: str, turn_id: str) -> None:
    """Wake whichever worker runs the turn; the durable record is TurnCancelRequested."""
    await redis.publish(cancels_channel(prefix), turn_id)
