"""`robots worker` and `robots project` started beside `robots dev` with no URLs: they join
dev's embedded PostgreSQL and Redis (through `dev.json`), run turns there, and stopping them
(politely or not) leaves dev running and answering.

Which worker runs a turn is arq's choice; to make it certain, dev runs with
`WORKER_MAX_JOBS=1` and its only slot is held by a turn on `local/hang` (a model that never
answers) posted before any other worker exists. Until that turn is cancelled, a turn runs on
a joined worker or not at all, and its `TurnStarted` event names the worker's process id."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from app.adapters.llm.local_model import DEFAULT_MODEL, PRESETS, default_reply
from app.cli.embedded import free_port
from bench.harness.processes import env_without_robots_settings
from tests.chat.sse import chat_body, read_all, text_of

START_S = 180.0  # a loaded 2-core machine runs initdb and the migrations slowly
STOP_S = 30.0


class Processes:
    """`robots` commands as processes on one data folder, each writing to a log file;
    every one still running is stopped on exit (joiners first, dev last)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.env = env_without_robots_settings()
        self.env.update({"ROBOTS_DATA_DIR": str(self.data), "PYTHONUNBUFFERED": "1",
                         "LOG_LEVEL": "INFO", "NAME_SESSIONS": "false"})
        self.started: list[tuple[str, asyncio.subprocess.Process]] = []

    async def start(self, command: str, **env: str) -> asyncio.subprocess.Process:
        log = self.folder / f"{command}-{len(self.started)}.log"
        # A file, not a pipe: nobody reads a pipe while the test chats, and a full one
        # would block the process's logging. The child keeps its own copy of the descriptor.
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "app.cli.main", command, env={**self.env, **env},
                cwd=self.folder, stdout=out, stderr=asyncio.subprocess.STDOUT)
        finally:
            os.close(out)
        self.started.append((log.name, process))
        return process

    def output(self, process: asyncio.subprocess.Process) -> str:
        name = next(n for n, p in self.started if p is process)
        return (self.folder / name).read_text(errors="replace")

    async def wait_for(self, process: asyncio.subprocess.Process, pattern: str) -> str:
        """The first group of `pattern` once the process has printed it."""
        deadline = asyncio.get_running_loop().time() + START_S
        while asyncio.get_running_loop().time() < deadline:
            if match := re.search(pattern, self.output(process)):
                return match.group(1)
            if process.returncode is not None:
                break
            await asyncio.sleep(0.1)
        raise AssertionError(f"no {pattern!r} in:\n{self.output(process)[-3000:]}")

    async def stop(self, process: asyncio.subprocess.Process,
                   sig: signal.Signals = signal.SIGTERM) -> int:
        if process.returncode is None:
            process.send_signal(sig)
            try:
                await asyncio.wait_for(process.wait(), STOP_S)
            except TimeoutError:
                process.kill()
                await process.wait()
        assert process.returncode is not None
        return process.returncode

    async def stop_all(self) -> None:
        for _, process in reversed(self.started):
            await self.stop(process, signal.SIGINT)


@asynccontextmanager
async def processes(folder: Path) -> AsyncIterator[Processes]:
    group = Processes(folder)
    try:
        yield group
    finally:
        await group.stop_all()


async def chat(client: httpx.AsyncClient, text: str) -> tuple[str, str]:
    """A new session's first turn with the built-in robot, streamed to its end: (session
    id, reply)."""
    session = f"s-{uuid.uuid4().hex[:12]}"
    async with client.stream("POST", "/robots/chat/sse",
                             json=chat_body(session, "m1", text)) as response:
        assert response.status_code == 200, await response.aread()
        frames = await asyncio.wait_for(read_all(response), 90)
    assert frames[-1].data == "[DONE]", frames[-3:]
    return session, text_of(frames)


async def started_by(client: httpx.AsyncClient, session: str) -> int:
    """The process id of the worker that started the session's (first) turn."""
    deadline = asyncio.get_running_loop().time() + 60
    while asyncio.get_running_loop().time() < deadline:
        events = (await client.get(f"/robots/sessions/{session}/events")).json()["events"]
        if started := [e for e in events if e["type"] == "TurnStarted"]:
            return int(started[0]["data"]["worker_id"].split(":")[-2])
        await asyncio.sleep(0.1)
    raise AssertionError(f"no turn of session {session} started")


async def healthy(client: httpx.AsyncClient) -> dict[str, Any]:
    ready = await client.get("/ready")
    assert ready.status_code == 200, ready.text
    checks: dict[str, Any] = ready.json()["checks"]
    return checks


async def test_a_worker_and_a_projector_beside_dev_join_it_and_leave_it_healthy(
        tmp_path: Path) -> None:
    port = free_port()
    async with processes(tmp_path) as group:
        dev = await group.start("dev", PORT=str(port), WORKER_MAX_JOBS="1")
        token = await group.wait_for(dev, r"dev admin token: (\S+)")
        published = json.loads((group.data / "dev.json").read_text())
        assert published["pid"] == dev.pid
        assert f"Redis: {published['redis_url']}" in group.output(dev)  # and printed

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            # A first start lists the local models, with no refresh asked.
            models = (await client.get("/robots/models")).json()["models"]
            assert {m["ref"] for m in models} == {f"local/{m}" for m in
                                                  [DEFAULT_MODEL, *PRESETS]}

            # Dev's only worker slot, held until cancelled.
            hang = (await client.post("/robots", json={
                "name": "hangs", "description": "", "playbook": "Wait.",
                "model": "local/hang"})).json()["id"]
            held = (await client.post("/robots/sessions", json=chat_body(
                "held", "m1", "wait", robotId=hang))).json()
            assert await started_by(client, "held") == dev.pid

            worker = await group.start("worker")
            projector = await group.start("project")
            session, reply = await chat(client, "ping")
            assert reply == default_reply("ping")
            assert await started_by(client, session) == worker.pid
            assert await group.stop(worker, signal.SIGTERM) == 0, group.output(worker)
            assert await healthy(client) == {"postgres": "ok", "redis": "ok"}

            killed = await group.start("worker")
            session, reply = await chat(client, "pong")
            assert reply == default_reply("pong")
            assert await started_by(client, session) == killed.pid
            await group.stop(killed, signal.SIGKILL)
            assert await healthy(client) == {"postgres": "ok", "redis": "ok"}

            # Dev's own worker, freed, still runs turns on its own servers.
            cancelled = await client.post(
                f"/robots/sessions/held/turns/{held['turnId']}/cancel")
            assert cancelled.status_code == 200, cancelled.text
            session, reply = await chat(client, "again")
            assert reply == default_reply("again")
            assert await started_by(client, session) == dev.pid

            assert projector.returncode is None, group.output(projector)
            assert await group.stop(projector, signal.SIGTERM) == 0, group.output(projector)
            assert dev.returncode is None
            assert json.loads((group.data / "dev.json").read_text()) == published

        assert await group.stop(dev, signal.SIGINT) == 0, group.output(dev)[-3000:]
    assert not (group.data / "dev.json").exists()  # removed on a clean exit
    for name, process in group.started:
        assert "Traceback" not in group.output(process), (name, group.output(process)[-3000:])


async def test_a_worker_with_no_urls_and_no_dev_says_how_to_start_one(tmp_path: Path) -> None:
    async with processes(tmp_path) as group:
        worker = await group.start("worker")
        assert await asyncio.wait_for(worker.wait(), 60) == 2
    said = group.output(worker)
    assert "no robots dev running" in said and "robots dev" in said and "REDIS_URL" in said
    assert "Traceback" not in said
    assert not (group.data / "postgres").exists()  # it started no server of its own
