"""`LOG_FORMAT=json`: `robots serve` and `robots worker` print nothing but JSON lines, access
lines included, with secrets redacted; the API keeps logging requests after the local model
server started inside it."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from psycopg_pool import AsyncConnectionPool

from app.adapters.accounts import AccountStore
from app.cli.embedded import free_port
from app.domain.accounts import Role
from bench.harness.processes import env_without_robots_settings
from tests.services import FoundServices


class Process:
    """A `robots` command whose merged output is collected line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    async def line_saying(self, text: str, timeout_s: float = 90) -> None:
        """Read output until a line says `text` (the process is up to that point)."""
        assert self.process.stdout is not None
        async with asyncio.timeout(timeout_s):
            while True:
                line = (await self.process.stdout.readline()).decode()
                if not line:
                    raise AssertionError(f"ended before {text!r}:\n{''.join(self.lines)}")
                self.lines.append(line)
                if text in line:
                    return

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        assert self.process.stdout is not None
        self.lines.extend((await self.process.stdout.read()).decode().splitlines(True))


async def _start(command: str, env: dict[str, str]) -> Process:
    return Process(await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli.main", command, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT))


def _parsed(lines: list[str]) -> list[dict[str, Any]]:
    parsed = []
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(f"not a JSON line: {line!r}\n{''.join(lines)}") from None
        assert isinstance(entry, dict), line
        assert {"time", "level", "logger", "message"} <= entry.keys(), line
        parsed.append(entry)
    return parsed


async def test_serve_and_worker_log_only_json_lines_with_access_lines_and_no_secrets(
    services: FoundServices, database: str, pool: AsyncConnectionPool[Any], tmp_path: Path,
) -> None:
    _, token = await AccountStore(pool).create(f"logs-{uuid.uuid4().hex[:8]}", None,
                                               Role.ADMIN)
    port = free_port()
    env = env_without_robots_settings()
    env.update({"DATABASE_URL": database, "REDIS_URL": services.redis_url,
                "REDIS_PREFIX": f"{services.redis_prefix}-{uuid.uuid4().hex[:6]}",
                "ROBOTS_DATA_DIR": str(tmp_path), "PORT": str(port), "LOG_FORMAT": "json",
                "PYTHONUNBUFFERED": "1"})
    serve, worker = await _start("serve", env), await _start("worker", env)
    try:
        await asyncio.gather(serve.line_saying("Uvicorn running on"),
                             worker.line_saying("Starting worker for"))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            # Starts the local model server inside the API process.
            refreshed = await client.post("/robots/providers/local/models/refresh")
            assert refreshed.status_code == 200, refreshed.text
            assert (await client.get("/health", params={"probe": token})).status_code == 200
    finally:
        await asyncio.gather(serve.stop(), worker.stop())

    served, worked = _parsed(serve.lines), _parsed(worker.lines)
    assert any(e["logger"] == "arq.worker" for e in worked), worker.lines
    access = [e for e in served if e["logger"] == "uvicorn.access"]
    assert [e["path"] for e in access][-2:] == [
        "/robots/providers/local/models/refresh", "/health?probe=rbt_[redacted]"], served
    assert access[-1]["method"] == "GET" and access[-1]["status"] == 200
    assert token not in "".join(serve.lines + worker.lines)
