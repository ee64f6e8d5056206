"""The whole service as real processes (`robots serve`, `worker`, `project`) on private
servers the test may stop, the local model server in the test process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

from app.adapters.llm.local_model import LocalModelServer, Script
from app.cli.embedded import free_port
from tests.chat.sse import Frame, chat_body, frames
from tests.faults.servers import PrivatePostgres, PrivateRedis

# A dead worker's turn is retried within seconds, stuck turns are swept every second.
_QUICK = {"TURN_LEASE_S": "3", "SWEEP_INTERVAL_S": "1", "SWEEP_GRACE_S": "1",
          "MODEL_MAX_RETRIES": "1", "DB_POOL_MIN": "1", "DB_POOL_MAX": "6",
          "LOG_LEVEL": "INFO"}


class ProcessStack:
    def __init__(self, folder: Path, postgres: PrivatePostgres, redis: PrivateRedis,
                 model: LocalModelServer, **env: str) -> None:
        self.folder = folder
        self.postgres = postgres
        self.redis = redis
        self.model = model
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = ""
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.env = {**{k: v for k, v in os.environ.items() if not k.endswith("_URL")},
                    **_QUICK, "DATABASE_URL": postgres.url, "REDIS_URL": redis.url,
                    "REDIS_PREFIX": f"faults-{uuid.uuid4().hex[:6]}", "PORT": str(self.port),
                    "OPENAI_BASE_URL": model.openai_base_url, "OPENAI_API_KEY": "test-key",
                    "DEFAULT_MODEL": "openai/fake", "ROBOTS_DATA_DIR": str(folder / "data"),
                    **env}

    def _robots(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app.cli.main", *args], env=self.env,
                              capture_output=True, text=True, check=True)

    async def start(self) -> None:
        await asyncio.to_thread(self._robots, "migrate")
        created = await asyncio.to_thread(self._robots, "accounts", "create", "--handle",
                                          "admin", "--role", "admin")
        self.token = created.stdout.strip().rsplit(" ", 1)[1]
        await self.start_processes()

    async def start_processes(self) -> None:
        for name in ("serve", "worker", "project"):
            self._spawn(name)
        await self.wait_for_api(self.url)

    async def wait_for_api(self, url: str) -> None:
        async with httpx.AsyncClient(base_url=url) as client:
            for _ in range(1200):  # a minute: a loaded 2-core machine starts slowly
                try:
                    if (await client.get("/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise TimeoutError("robots serve never answered")

    def _spawn(self, name: str, command: str | None = None, **env: str) -> None:
        with open(self.folder / f"{name}.log", "ab") as log:  # the child keeps its copy
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "app.cli.main", command or name],
                env={**self.env, **env}, stdout=subprocess.DEVNULL, stderr=log)

    async def another_api(self) -> str:
        """A second `robots serve` on a port of its own: its URL."""
        port = free_port()
        self._spawn(f"serve-{port}", "serve", PORT=str(port))
        url = f"http://127.0.0.1:{port}"
        await self.wait_for_api(url)
        return url

    def exited(self) -> dict[str, int]:
        """Processes that are no longer running, with their exit codes."""
        return {name: code for name, p in self.processes.items()
                if (code := p.poll()) is not None}

    def log_of(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        """Every process, asked to stop (and killed if it does not)."""
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def client(self, timeout: float = 30, url: str | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=url or self.url, timeout=timeout,
                                 headers={"Authorization": f"Bearer {self.token}"})

    async def robot(self, script: Script, *then: Script, tools: tuple[str, ...] = ()) -> str:
        """A robot whose model answers its requests with `script`, then each of `then`
        (and then the last one again)."""
        model = f"scripted-{uuid.uuid4().hex[:8]}"
        self.model.enqueue_for_model(model, script, *then)
        self.model.set_model_script(model, then[-1] if then else script)
        async with self.client() as client:
            response = await client.post("/robots", json={
                "name": model, "description": "", "playbook": "Test robot.",
                "model": f"openai/{model}", "tools": list(tools)})
        assert response.status_code == 201, response.text
        robot: str = response.json()["id"]
        return robot

    async def chat(self, robot: str, text: str = "go", *,
                   streaming: asyncio.Event | None = None) -> tuple[str, list[Frame]]:
        """A new session's first turn, streamed to its end: (session id, frames).
        `streaming` is set once the reply's text has begun to arrive."""
        session = f"s-{uuid.uuid4().hex[:12]}"
        body = chat_body(session, f"m-{uuid.uuid4().hex[:12]}", text, robotId=robot)
        got: list[Frame] = []
        async with self.client(timeout=120) as client, client.stream(
                "POST", "/robots/chat/sse", json=body) as response:
            assert response.status_code == 200, await response.aread()
            async for frame in frames(response):
                got.append(frame)
                if streaming is not None and frame.data != "[DONE]" and \
                        frame.data["type"] == "text-delta":
                    streaming.set()
        return session, got

    async def stored_replies(self, session: str) -> list[dict[str, Any]]:
        """The session's assistant messages, as the API returns them."""
        async with self.client() as client:
            response = await client.get(f"/robots/sessions/{session}")
        assert response.status_code == 200, response.text
        return [m for m in response.json()["message_list"]["messages"]
                if m["role"] == "assistant"]

    def turns(self) -> dict[str, tuple[str, int]]:
        """Every turn's status and number of attempts."""
        with psycopg.connect(self.postgres.url) as conn:
            rows = conn.execute("SELECT turn_id, status, attempts FROM turns").fetchall()
        return {turn: (status, attempts) for turn, status, attempts in rows}


@asynccontextmanager
async def process_stack(folder: Path, **env: str) -> AsyncIterator[ProcessStack]:
    postgres = PrivatePostgres(folder / "postgres")
    redis = PrivateRedis(folder / "redis")
    postgres.start()
    redis.start()
    try:
        async with LocalModelServer() as model:
            stack = ProcessStack(folder, postgres, redis, model, **env)
            try:
                await stack.start()
                yield stack
            finally:
                stack.stop()
    finally:
        redis.stop()
        postgres.stop()
