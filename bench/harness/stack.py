"""The system under measurement as real OS processes on loopback.

A scratch database migrated by `robots migrate`, a Redis prefix of its own, the fake model
server, `robots serve`, `robots worker` (one or more) and `robots project`, each a
subprocess with its own environment and its own log file. Everything started here is
stopped here, by pid, even when the run fails.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from app.cli.embedded import free_port
from bench.harness.processes import (
    Proc,
    env_without_robots_settings,
    robots_command,
    robots_env,
    run_to_end,
    running,
    spawn,
    stop,
    wait_connected,
    wait_http,
)
from bench.harness.scratch import database_name, delete_redis_keys, scratch_database

LOCAL_MODEL = "app.adapters.llm.local_model"


@dataclass
class Bench:
    """Where a run's processes live: servers, names, folders, and every process started."""

    admin_url: str
    redis_url: str
    db_url: str
    prefix: str
    folder: Path
    token: str = ""
    part: int = 0
    procs: list[Proc] = field(default_factory=list)

    @property
    def db_name(self) -> str:
        return database_name(self.db_url)

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a robots process: ours, with every robots setting replaced.
        Each stack gets a prefix of its own (`part`): no job or buffer of one part leaks
        into the next."""
        return robots_env(self.db_url, self.redis_url, f"{self.prefix}-{self.part}",
                          self.folder, **extra)

    def spawn(self, name: str, argv: Sequence[str], env: dict[str, str]) -> Proc:
        proc = spawn(name, argv, env, self.folder / f"{name}-{len(self.procs)}.log")
        self.procs.append(proc)
        return proc

    def stop(self, procs: Sequence[Proc]) -> None:
        stop(procs)
        for proc in procs:
            if proc in self.procs:
                self.procs.remove(proc)


@contextlib.asynccontextmanager
async def scratch_bench(admin_url: str, redis_url: str) -> AsyncIterator[Bench]:
    """A new database migrated by `robots migrate`, an admin token from `robots accounts
    create`; on exit every process is stopped, the run's Redis keys (its prefix, and arq's
    job keys of its turns) deleted, the database dropped."""
    async with scratch_database(admin_url, migrate=False) as url:
        bench = Bench(admin_url=admin_url, redis_url=redis_url, db_url=url,
                      prefix=f"robots-bench-{uuid.uuid4().hex[:8]}",
                      folder=Path(tempfile.mkdtemp(prefix="robots-bench-")))
        try:
            run_to_end("robots migrate", robots_command("migrate"), bench.env())
            out = run_to_end("robots accounts create",
                             robots_command("accounts", "create", "--handle", "bench",
                                            "--role", "admin"), bench.env())
            bench.token = next(line.rsplit(": ", 1)[1].strip() for line in out.splitlines()
                               if line.startswith("API token"))
            yield bench
        finally:
            bench.stop(list(bench.procs))
            arq_keys = [f"arq:{kind}:{turn}" for turn in await _turn_ids(url)
                        for kind in ("job", "retry", "in-progress", "result")]
            await delete_redis_keys(redis_url, f"{bench.prefix}*", arq_keys)


async def _turn_ids(db_url: str) -> list[str]:
    """The run's turns: arq keeps its job keys outside our prefix, named by turn id."""
    try:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            rows = await (await conn.execute(
                "SELECT data->>'turn_id' FROM events WHERE type = 'TurnRequested'")).fetchall()
    except psycopg.Error:
        return []
    return [str(r[0]) for r in rows if r[0]]


@dataclass
class ModelServer:
    """The fake model server process."""

    port: int
    proc: Proc
    tokens: int

    @property
    def openai_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


async def start_model(bench: Bench, port: int, *, tokens: int, tokens_per_second: float = 0,
                      module: str = LOCAL_MODEL) -> ModelServer:
    """`python -m <module>` (the local model server, or an app with its options) on `port`,
    answering every request with `tokens` deltas at `tokens_per_second` (0: unpaced)."""
    argv = [sys.executable, "-m", module, "--port", str(port), "--tokens", str(tokens),
            "--tokens-per-second", str(tokens_per_second), "--ttft", "0"]
    proc = bench.spawn("model", argv, env_without_robots_settings())
    server = ModelServer(port, proc, tokens)
    await wait_http(proc, f"{server.openai_base_url}/models")
    return server


@dataclass
class Stack:
    web: Proc
    workers: list[Proc]
    projector: Proc
    port: int

    @property
    def procs(self) -> list[Proc]:
        return [self.web, *self.workers, self.projector]


@contextlib.asynccontextmanager
async def running_stack(bench: Bench, model_port: int, *, workers: int = 1,
                        **settings: str) -> AsyncIterator[Stack]:
    """`robots serve` (1 process), `robots worker` x workers and `robots project`, pointed
    at the fake model on `model_port` through the OpenAI SDK."""
    port = free_port()
    bench.part += 1
    env = bench.env(PORT=str(port), HOST="127.0.0.1",
                    OPENAI_BASE_URL=f"http://127.0.0.1:{model_port}/v1",
                    OPENAI_API_KEY="dummy", DEFAULT_MODEL="openai/echo", **settings)
    stack = Stack(web=bench.spawn("web", robots_command("serve"), env),
                  workers=[bench.spawn("worker", robots_command("worker"), env)
                           for _ in range(workers)],
                  projector=bench.spawn("projector", robots_command("project"), env),
                  port=port)
    try:
        await wait_http(stack.web, f"http://127.0.0.1:{port}/health")
        pg_port = _port_of(bench.db_url, 5432)
        redis_port = httpx.URL(bench.redis_url).port or 6379
        for worker in stack.workers:
            await wait_connected(worker, {pg_port, redis_port})
        await wait_connected(stack.projector, {pg_port})
        yield stack
    finally:
        bench.stop(stack.procs)


@contextlib.asynccontextmanager
async def robots_serve(env: dict[str, str], log: Path,
                       timeout: float = 60) -> AsyncIterator[str]:
    """`robots serve` alone on a free port; its base URL once /health answers."""
    port = free_port()
    with running("robots serve", robots_command("serve"),
                 {**env, "HOST": "127.0.0.1", "PORT": str(port)}, log) as proc:
        base = f"http://127.0.0.1:{port}"
        await wait_http(proc, f"{base}/health", timeout)
        yield base


def _port_of(url: str, default: int) -> int:
    info = psycopg.conninfo.conninfo_to_dict(url)
    port = info.get("port")
    return int(port) if port else default


async def backend_pids(bench: Bench) -> set[int]:
    """Pids of the PostgreSQL backends serving the run's database."""
    async with await psycopg.AsyncConnection.connect(bench.admin_url, autocommit=True) as c:
        rows = await (await c.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                      [bench.db_name])).fetchall()
    return {int(r[0]) for r in rows}
