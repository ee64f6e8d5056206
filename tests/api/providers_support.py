"""Shared by the provider tests: settings aimed at the fake model server, and tokens."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import psycopg

from app.adapters.llm.local_model import LocalModelServer
from app.bootstrap import Services
from app.config.settings import Settings
from app.domain.accounts import Role

SECRET = "test-server-secret-" + "x" * 24


@contextlib.contextmanager
def model_server_in_thread() -> Iterator[LocalModelServer]:
    """The fake model server on an event loop of its own thread. Litestar's AsyncTestClient
    blocks the test's loop while the app handles a request, so a server on that loop could
    not answer the app's calls."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-model-server", daemon=True)
    thread.start()
    server = LocalModelServer()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def aimed_at(settings: Settings, server: LocalModelServer, **changes: Any) -> Settings:
    """`settings` with OpenAI and Anthropic on the fake server, an OpenAI-compatible `fake`
    there too, and a `down` endpoint nobody answers; settings re-read on every call."""
    endpoints = (f"fake={server.openai_base_url},"
                 f"down=http://127.0.0.1:{closed_port()}/v1")
    fields: dict[str, Any] = {
        "secret_key": SECRET, "openai_base_url": server.openai_base_url,
        "anthropic_base_url": server.base_url, "openai_compatible": endpoints,
        "provider_settings_ttl_s": 0.0,
    }
    return msgspec.structs.replace(settings, **(fields | changes))


async def tokens(settings: Settings) -> tuple[str, str]:
    """(admin token, member token) in `settings`' database."""
    services = await Services.start(settings)
    try:
        made = [await services.accounts.create(f"{role}-{uuid.uuid4().hex[:8]}", None, role)
                for role in (Role.ADMIN, Role.MEMBER)]
    finally:
        await services.close()
    return made[0][1], made[1][1]


async def stored_token(settings: Settings, provider: str) -> bytes | None:
    """The key column as it is in the table, read with no help from the app."""
    assert settings.database_url
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        row = await (await conn.execute(
            "SELECT api_key_encrypted FROM provider_settings WHERE provider = %s",
            [provider])).fetchone()
    return bytes(row[0]) if row and row[0] is not None else None
