"""The arq worker: `robots worker`, or `arq workers.worker.WorkerSettings`."""

from __future__ import annotations

from typing import Any

from arq import cron, func
from arq.connections import RedisSettings
from prometheus_client import start_http_server

from app.settings import Settings, load_settings
from app.streams.keys import arq_queue
from app.turn_queue import RUN_TURN
from workers.deps import WorkerDeps
from workers.sweeper import sweep_turns
from workers.turn_runner import run_turn
from workers.turn_worker import TurnWorker


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
        "functions": [func(run_turn, name=RUN_TURN, max_tries=1000)],
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
