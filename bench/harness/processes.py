"""Child processes of a benchmark: `robots` commands and helpers, each with its own
environment and log file, started here and stopped here by pid, even when the run fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil


class StackError(RuntimeError):
    """A process did not start or answer; the message names its log."""


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


def spawn(name: str, argv: Sequence[str], env: dict[str, str], log: Path) -> Proc:
    """Start `argv` with its output in `log`; stop it with `stop`."""
    with log.open("wb") as out:
        popen = subprocess.Popen(list(argv), env=env, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
    return Proc(name, popen, log)


def stop(procs: Sequence[Proc], timeout: float = 10) -> None:
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


@contextlib.contextmanager
def running(name: str, argv: Sequence[str], env: dict[str, str], log: Path) -> Iterator[Proc]:
    """A child process for the length of the block."""
    proc = spawn(name, argv, env, log)
    try:
        yield proc
    finally:
        stop([proc])


def run_to_end(name: str, argv: Sequence[str], env: dict[str, str],
               timeout: float = 120) -> str:
    """Run a command to its end; its output, or StackError with the output."""
    done = subprocess.run(list(argv), env=env, capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)
    output = (done.stdout + done.stderr).decode(errors="replace")
    if done.returncode != 0:
        raise StackError(f"{name} failed ({done.returncode}):\n{output}")
    return output


async def wait_http(proc: Proc, url: str, timeout: float = 120) -> None:
    """Until `url` answers 200; StackError with the log's tail if the process dies first."""
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


async def wait_connected(proc: Proc, ports: set[int], timeout: float = 120) -> None:
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


def robots_command(*args: str) -> list[str]:
    """`robots ARGS` as the module the console script points at, run by this interpreter:
    a venv's script outlives a move of its entry point until the next install (as after
    the layout change), the module does not."""
    return [sys.executable, "-m", "app.cli.main", *args]


def env_without_robots_settings() -> dict[str, str]:
    """Our environment minus every robots setting: a child reads only what it is given."""
    from app.config.settings import environment_variables  # eventlog's writers never need it

    ours = set(environment_variables().values())
    return {k: v for k, v in os.environ.items() if k not in ours}


def robots_env(url: str, redis_url: str, prefix: str, folder: Path,
               **extra: str) -> dict[str, str]:
    """Our environment with every robots setting replaced by the benchmark's."""
    return {**env_without_robots_settings(), "DATABASE_URL": url, "REDIS_URL": redis_url,
            "REDIS_PREFIX": prefix, "ROBOTS_DATA_DIR": str(folder / "data"),
            "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1", **extra}
