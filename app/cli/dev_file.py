"""`dev.json` in the data folder: the servers a running `robots dev` uses, so that `robots
worker`, `serve`, `project` and the one-shot commands started beside it (with no URLs) join
them instead of starting, stopping or restarting embedded servers of their own."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import msgspec

from app.config.settings import Settings

FILE_NAME = "dev.json"


class DevServers(msgspec.Struct, frozen=True, kw_only=True):
    """What a running `robots dev` published."""

    pid: int
    database_url: str
    redis_url: str
    # A worker on the same Redis with another prefix would never see dev's turns.
    redis_prefix: str
    api_url: str


def dev_file(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def publish(data_dir: Path, servers: DevServers) -> None:
    """Write the file atomically (a reader never sees half of it), readable by its owner
    only: the URLs reach servers that trust every local connection."""
    path = dev_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(msgspec.json.encode(servers))
    os.replace(partial, path)


def withdraw(data_dir: Path, pid: int) -> None:
    """Remove the file if `pid` wrote it (a second `robots dev` must not remove the first's)."""
    published = _read(dev_file(data_dir))
    if published is not None and published.pid == pid:
        with contextlib.suppress(FileNotFoundError):
            dev_file(data_dir).unlink()


def running_dev(data_dir: Path) -> DevServers | None:
    """The servers of the `robots dev` running on `data_dir`; None when none runs (no file,
    or one left behind by a process that is gone)."""
    published = _read(dev_file(data_dir))
    return published if published is not None and _alive(published.pid) else None


def joined(settings: Settings, dev: DevServers) -> Settings:
    """`settings` with dev's URLs where none is set: a URL given always wins, and dev's
    Redis prefix comes with dev's Redis."""
    changes: dict[str, str] = {}
    if not settings.database_url:
        changes["database_url"] = dev.database_url
    if not settings.redis_url:
        changes.update(redis_url=dev.redis_url, redis_prefix=dev.redis_prefix)
    return msgspec.structs.replace(settings, **changes)


def _read(path: Path) -> DevServers | None:
    try:
        return msgspec.json.decode(path.read_bytes(), type=DevServers)
    except (FileNotFoundError, msgspec.DecodeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True
