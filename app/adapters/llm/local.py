"""The offline model: the OpenAI-compatible adapter talking to a local model server.

No key and no network beyond 127.0.0.1, yet the whole real path runs: the `openai` SDK,
HTTP, SSE, our retries. The server starts in this process on first use; with a
`base_url` (a `python -m app.adapters.llm.local_model` process) that server is used instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import msgspec

from app.adapters.llm.base import ModelInfo, ModelRequest, ProviderConfig
from app.adapters.llm.events import ModelEvent
from app.adapters.llm.local_model import DEFAULT_MODEL, LocalModelServer
from app.adapters.llm.openai_adapter import OpenAIAdapter
from app.adapters.llm.retry import Backoff

LOCAL_MODEL = DEFAULT_MODEL
"""The model id that answers with `local_model.default_reply` of the last message, or, offered
a `current_time` tool, calls it when asked the time and quotes what it answered
(`local_model.habits`)."""


class LocalProvider:
    """A provider of kind `local`: deterministic answers, offline, no key."""

    def __init__(self, config: ProviderConfig, *, backoff: Backoff | None = None) -> None:
        self.name = config.name
        self._config = config
        self._backoff = backoff
        self._server: LocalModelServer | None = None
        self._adapter: OpenAIAdapter | None = None
        self._lock = asyncio.Lock()

    @property
    def server(self) -> LocalModelServer | None:
        """The in-process server once started (None before first use or with a base_url)."""
        return self._server

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        adapter = await self._ready()
        events = adapter.stream(request)
        try:
            async for event in events:
                yield event
        finally:
            await events.aclose()

    async def complete(self, request: ModelRequest) -> str:
        return await (await self._ready()).complete(request)

    async def list_models(self) -> list[ModelInfo]:
        return await (await self._ready()).list_models()

    async def warm(self) -> None:
        # Its client is built with the server it may start on first use; a worker whose
        # turns never ask for the local model should not start one.
        return None

    async def aclose(self) -> None:
        async with self._lock:
            if self._adapter is not None:
                await self._adapter.aclose()
                self._adapter = None
            if self._server is not None:
                await self._server.stop()
                self._server = None

    async def _ready(self) -> OpenAIAdapter:
        async with self._lock:
            if self._adapter is None:
                base_url = self._config.base_url
                if base_url is None:
                    self._server = LocalModelServer()
                    await self._server.start()
                    base_url = self._server.openai_base_url
                config = msgspec.structs.replace(self._config, kind="openai-compatible",
                                                 base_url=base_url)
                self._adapter = OpenAIAdapter(config, backoff=self._backoff)
            return self._adapter
