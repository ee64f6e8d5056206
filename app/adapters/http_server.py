"""Uvicorn as a task inside a process that has more to do (robots dev, the in-process
local model, tests): the host process owns SIGINT/SIGTERM, not the server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn


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
