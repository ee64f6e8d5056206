"""Uvicorn as a task inside a process that has more to do (robots dev, the in-process
local model, tests): the host process owns SIGINT/SIGTERM, not the server."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class InProcessServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def serve_until_cancelled(self) -> None:
        """Serve; when cancelled, shut down as uvicorn does on a signal (lifespan shutdown,
        connections closed) instead of dying mid-lifespan with a traceback."""
        serving = asyncio.ensure_future(self.serve())
        try:
            await asyncio.shield(serving)
        except asyncio.CancelledError:
            self.should_exit = True
            await serving
            raise


# Set inside the task of a server that should not announce itself (its start and stop are
# a detail of what started it); app/adapters/logs.py leaves those lines out.
_unannounced: ContextVar[bool] = ContextVar("unannounced_server", default=False)


def in_unannounced_server() -> bool:
    """Whether the code running now is an `UnannouncedServer`'s own (its start and stop)."""
    return _unannounced.get()


class UnannouncedServer(InProcessServer):
    """An in-process server whose INFO lines ("Started server process", "Shutting down")
    are left out of the console: uvicorn logs them on its one shared logger, so only the
    task they run in tells them from the API's own."""

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        _unannounced.set(True)  # in this server's task only: a task has its own context
        await super().serve(sockets)


class UnloggedHttpProtocol(HttpToolsProtocol):
    """HTTP without access lines, for one server only (the in-process local model): uvicorn's
    `access_log=False` instead empties the process-wide `uvicorn.access` logger, and the API
    served beside it would log no request again. `uvicorn.Config(http=...)` takes it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.access_log = False
