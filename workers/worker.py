"""The arq worker: `robots worker` (TurnWorker), or `arq workers.worker.WorkerSettings`.

TurnWorker is arq's worker, woken the moment a turn is queued and cheap to poll while
hundreds of turns run. arq polls its queue on a fixed delay, and every poll re-examines
each queued job that is still running (three Redis round trips apiece), its own included.
Polling every few milliseconds for a low time to first token would keep a busy worker
doing little else. Instead the API publishes a wake-up with each enqueue
(app.adapters.turn_queue), the worker polls on that or every `idle_poll_s` (a missed wake-up
costs at most that), and a poll skips the jobs it already knows to be running. A job is
claimed by one script (one round trip) with arq's semantics and keys, so this leans on
arq's internals: pyproject pins the arq release it was checked against."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from arq import Worker, cron, func
from arq.connections import RedisSettings
from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from prometheus_client import start_http_server

from app.adapters.outage import REDIS_DOWN, Outage
from app.adapters.streams.keys import arq_queue
from app.adapters.turn_queue import RUN_TURN, SUMMARISE, wake_channel
from app.config.settings import Settings, load_settings
from workers.deps import WorkerDeps
from workers.summaries import summarise_session
from workers.sweeper import sweep_turns
from workers.turns.run import run_turn

log = logging.getLogger(__name__)

# A job seen running on another worker is not asked about again for this long: it either
# finishes (and leaves the queue) or its worker died, and arq holds a dead worker's job
# until its in-progress key expires anyway (the sweeper retries such turns by turn id).
_ELSEWHERE_S = 1.0

# arq's claim of a queued job, atomically: not in progress anywhere, still queued and due.
# KEYS: the job's in-progress key, the queue. ARGV: job id, now (ms), in-progress TTL (ms).
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return false end
redis.call('PSETEX', KEYS[1], ARGV[3], '1')
return score
"""


def worker_options(settings: Settings) -> dict[str, Any]:
    async def startup(ctx: dict[str, Any]) -> None:
        ctx["deps"] = await WorkerDeps.start(settings)
        if settings.worker_metrics_port:
            start_http_server(settings.worker_metrics_port, addr=settings.host)

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "deps" in ctx:
            await ctx["deps"].close()

    every = max(1, settings.sweep_interval_s)
    return {
        # arq may deliver a job again after a worker dies; the log makes that harmless.
        "functions": [func(run_turn, name=RUN_TURN, max_tries=1000),
                      # A summary is worth a few tries; a lost one is asked for again.
                      func(summarise_session, name=SUMMARISE, max_tries=3, timeout=600)],
        "cron_jobs": [cron(sweep_turns, second=set(range(0, 60, every)),
                           run_at_startup=True, timeout=60)],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": RedisSettings.from_dsn(settings.redis_url or "redis://"),
        "queue_name": arq_queue(settings.redis_prefix),
        "poll_delay": settings.arq_poll_delay_s,
        "max_jobs": settings.worker_max_jobs,
        "job_timeout": 3600,
        # Results are in the log; keeping them in Redis would block re-enqueueing the id.
        "keep_result": 0,
    }


def create_worker(settings: Settings, **overrides: Any) -> TurnWorker:
    options = {**worker_options(settings), "handle_signals": False, **overrides}
    return TurnWorker(idle_poll_s=settings.worker_poll_s, **options)


class WorkerSettings:
    """For the `arq` command line; reads settings from the environment once, at import.
    It runs arq's plain worker, which polls every ARQ_POLL_DELAY_S instead of being woken."""

    locals().update(worker_options(load_settings()))


class TurnWorker(Worker):
    def __init__(self, *, idle_poll_s: float = 0.5, **options: Any) -> None:
        super().__init__(**{**options, "poll_delay": 0})
        self.idle_poll_s = idle_poll_s
        self._woken = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self._elsewhere: dict[bytes, float] = {}  # job id -> when to look again
        self._claim: Any = None  # the script, once arq has its Redis pool
        self._outage = Outage("worker")

    async def _poll_iteration(self) -> None:
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen())
        self._woken.clear()  # a wake-up arriving during this poll triggers the next one
        try:
            await super()._poll_iteration()
        except REDIS_DOWN as exc:
            # arq lets this end the worker; its turns live in the log and run on, so wait
            # for Redis instead (a turn queued meanwhile is in the queue, or swept there).
            self._outage.failed(exc)
            await asyncio.sleep(self._outage.pause())
            return
        self._outage.passed()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), self.idle_poll_s)

    async def run_job(self, job_id: str, score: int) -> None:
        try:
            await super().run_job(job_id, score)
        except REDIS_DOWN as exc:
            # Redis went away as arq began or finished the job: the claim would hold it for
            # the in-progress timeout (an hour). Free it once Redis answers, so it runs
            # again (the log makes a second run of a finished turn do nothing).
            log.warning("job %s: Redis unreachable around the job (%s); freeing it when"
                        " Redis is back", job_id, exc)
            while True:
                try:
                    await self.pool.delete(in_progress_key_prefix + job_id)
                    return
                except REDIS_DOWN:
                    await asyncio.sleep(self._outage.pause())

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        now = time.monotonic()
        fresh = [j for j in job_ids
                 if j.decode() not in self.tasks and self._elsewhere.get(j, 0.0) <= now]
        self._elsewhere = {j: at for j, at in self._elsewhere.items() if at > now}
        if len(fresh) > 1:
            # One round trip says which are running elsewhere, instead of a claim each.
            async with self.pool.pipeline(transaction=False) as pipe:
                for job_id in fresh:
                    pipe.exists(in_progress_key_prefix + job_id.decode())
                running = await pipe.execute()
            for job_id, elsewhere in zip(fresh, running, strict=True):
                if elsewhere:
                    self._elsewhere[job_id] = now + _ELSEWHERE_S
            fresh = [j for j in fresh if j not in self._elsewhere]
        for job_id in fresh:
            if not await self._start(job_id):
                return  # no room: the rest wait for the next poll
        # Jobs refused above are running elsewhere (or gone): not asked about for a while.
        for job_id in fresh:
            if job_id.decode() not in self.tasks:
                self._elsewhere[job_id] = now + _ELSEWHERE_S

    async def _start(self, job_id_b: bytes) -> bool:
        """arq's start_jobs for one job, claiming it in one round trip (a script) instead of
        arq's WATCH / EXISTS / ZSCORE / MULTI (four); False when there is no room."""
        await self.sem.acquire()
        if self.job_counter >= self.max_jobs:
            self.sem.release()
            return False
        self.job_counter += 1
        job_id = job_id_b.decode()
        if self._claim is None:
            self._claim = self.pool.register_script(_CLAIM)
        score = await self._claim(
            keys=[in_progress_key_prefix + job_id, self.queue_name],
            args=[job_id, timestamp_ms(), int(self.in_progress_timeout_s * 1000)])
        if score is None:  # running elsewhere, finished, or deferred
            self.job_counter -= 1
            self.sem.release()
            return True
        task = self.loop.create_task(self.run_job(job_id, int(float(score))))
        task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
        self.tasks[job_id] = task
        return True

    async def _listen(self) -> None:
        channel = wake_channel(self.queue_name)
        outage = Outage("worker wake-up channel (polling meanwhile)")
        while True:
            pubsub: Any = self.pool.pubsub()
            try:
                await pubsub.subscribe(channel)
                outage.passed()
                self._woken.set()  # anything queued while we were not listening
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        self._woken.set()
            except REDIS_DOWN as exc:
                outage.failed(exc)
                await asyncio.sleep(outage.pause())
            finally:
                with contextlib.suppress(*REDIS_DOWN):
                    await pubsub.aclose()

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await super().close()
