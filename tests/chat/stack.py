"""A running system for end-to-end tests: API servers, a worker, the projector and the
fake model server, all real, on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import uvicorn

from app.adapters.http_server import InProcessServer
from app.adapters.llm.local_model import LocalModelServer
from app.api.app import create_app
from app.bootstrap import Services
from app.cli.embedded import free_port
from app.config.settings import Settings
from app.domain.accounts import Role
from bench.harness.processes import env_without_robots_settings
from projections import all_projections
from projections.runner import ProjectionRunner
from workers.worker import create_worker


class Stack:
    def __init__(self, settings: Settings, model: LocalModelServer) -> None:
        self.settings = settings
        self.model = model
        self.api_urls: list[str] = []
        self.token = ""
        self.services: Services | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._servers: list[tuple[InProcessServer, asyncio.Task[Any]]] = []
        self._workers: list[tuple[Any, asyncio.Task[Any]]] = []

    async def start(self, api_instances: int = 2, workers: int = 1) -> None:
        self.services = await Services.start(self.settings)
        _, self.token = await self.services.accounts.create(
            f"chatter-{free_port()}", None, Role.ADMIN)
        for _ in range(api_instances):
            await self._start_api()
        for _ in range(workers):
            self.start_worker()
        runner = ProjectionRunner(self.settings.database_url or "", self.services.store,
                                  all_projections(), poll_s=0.5, standby_retry_s=0.1)
        self._tasks.append(asyncio.create_task(runner.run()))

    async def _start_api(self) -> None:
        port = free_port()
        server = InProcessServer(uvicorn.Config(create_app(self.settings), host="127.0.0.1",
                                            port=port, log_level="warning", lifespan="on"))
        self._servers.append((server, asyncio.create_task(server.serve())))
        while not server.started:  # noqa: ASYNC110 (uvicorn exposes a flag, not an event)
            await asyncio.sleep(0.01)
        self.api_urls.append(f"http://127.0.0.1:{port}")

    def start_worker(self) -> Any:
        worker = create_worker(self.settings)
        self._workers.append((worker, asyncio.create_task(worker.async_run())))
        return worker

    async def stop_worker(self, worker: Any) -> None:
        """Stop the poll loop first and let it unwind, then close: arq's close() alone
        closes the pool under a poll that may be mid-pipeline."""
        for known, task in list(self._workers):
            if known is worker:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await worker.close()
                self._workers.remove((known, task))

    def client(self, instance: int = 0, **kw: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.api_urls[instance], timeout=30,
                                 headers={"Authorization": f"Bearer {self.token}"}, **kw)

    async def stop(self) -> None:
        for server, _ in self._servers:
            server.should_exit = True
        # Let each API instance run its lifespan shutdown (closing its pools) before moving on.
        await asyncio.wait([task for _, task in self._servers], timeout=10)
        for worker, _ in list(self._workers):
            await self.stop_worker(worker)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.services:
            await self.services.close()


@contextlib.asynccontextmanager
async def running_stack(base: Settings, *, workers: int = 1,
                        **overrides: Any) -> AsyncIterator[Stack]:
    async with LocalModelServer() as model:
        settings = msgspec.structs.replace(
            base, openai_base_url=model.openai_base_url, anthropic_base_url=model.base_url,
            anthropic_api_key="test-anthropic-key", openai_api_key="test-openai-key",
            default_model="openai/fake", model_max_retries=1, **overrides)
        stack = Stack(settings, model)
        try:
            await stack.start(workers=workers)
            yield stack
        finally:
            await stack.stop()


def worker_environment(settings: Settings) -> dict[str, str]:
    """The environment a `robots worker` process needs to join this stack."""

    from app.config.settings import environment_variables

    env = env_without_robots_settings()
    for field, var in environment_variables().items():
        value = getattr(settings, field)
        if value is not None:
            env[var] = str(value)
    return env


@contextlib.asynccontextmanager
async def doomed_worker(stack: Stack, pause_at: str | None = None) -> AsyncIterator[int]:
    """A `robots worker` process (its pid), paused at the fault point `pause_at` if given;
    killed on the way out if the test has not killed it."""
    env = worker_environment(stack.settings)
    if pause_at is not None:
        env["ROBOTS_FAULT_PAUSE_AT"] = pause_at
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli.main", "worker", env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        yield process.pid
        await asyncio.wait_for(process.wait(), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@contextlib.asynccontextmanager
async def survivor(stack: Stack) -> AsyncIterator[None]:
    """An in-process worker for the block: the one that retries a doomed worker's turn."""
    worker = stack.start_worker()
    try:
        yield
    finally:
        await stack.stop_worker(worker)
