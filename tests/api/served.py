"""The system as it is deployed, for clients that block (schemathesis calls through
`requests`): `robots serve`, `robots worker` and `robots project` processes and the local
model, in a database and Redis prefix of their own (bench/harness's stack). Seeded with one
robot and one session whose turn has finished, for requests that need real ids."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.cli.embedded import free_port
from bench.harness.stack import running_stack, scratch_bench, start_model


@dataclass(frozen=True)
class Served:
    url: str
    token: str
    robot_id: str
    session_id: str
    turn_id: str
    message_id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.auth, timeout=30)


@contextlib.asynccontextmanager
async def served_stack(admin_url: str, redis_url: str) -> AsyncIterator[Served]:
    """The processes, running until the block ends; then stopped, and their database, Redis
    keys and logs removed."""
    folders: list[Path] = []
    try:
        async with scratch_bench(admin_url, redis_url) as bench:
            folders.append(bench.folder)
            model = await start_model(bench, free_port(), tokens=8)
            async with running_stack(bench, model.port) as stack:
                url = f"http://127.0.0.1:{stack.port}"
                async with httpx.AsyncClient(base_url=url, timeout=30, headers={
                        "Authorization": f"Bearer {bench.token}"}) as http:
                    served = await _seed(http, url, bench.token)
                yield served
    finally:
        for folder in folders:  # the processes' logs, once they have stopped
            shutil.rmtree(folder, ignore_errors=True)


async def _seed(http: httpx.AsyncClient, url: str, token: str) -> Served:
    robot = await http.post("/robots", json={"name": f"seed-{uuid.uuid4().hex[:8]}",
                                             "description": "seeded", "playbook": "Be brief."})
    robot.raise_for_status()
    session_id = f"seed-{uuid.uuid4().hex[:8]}"
    accepted = await http.post("/robots/sessions", json={"id": session_id, "messages": [
        {"id": "seed-1", "role": "user", "parts": [{"type": "text", "text": "Hello"}]}]})
    accepted.raise_for_status()
    turn = accepted.json()
    async with http.stream("GET", turn["streamUrl"]) as stream:  # to the end of the turn
        stream.raise_for_status()
        async for _ in stream.aiter_bytes():
            pass
    return Served(url=url, token=token, robot_id=robot.json()["id"], session_id=session_id,
                  turn_id=turn["turnId"], message_id=turn["messageId"])
