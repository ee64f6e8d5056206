"""Run the local model over real HTTP on loopback, inside the current event loop."""

from __future__ import annotations

import asyncio
import socket
from types import TracebackType

import uvicorn

from app.adapters.http_server import UnannouncedServer, UnloggedHttpProtocol
from app.adapters.llm.local_model.app import LocalModelApp, ReceivedRequest
from app.adapters.llm.local_model.book import ScriptBook
from app.adapters.llm.local_model.script import Script


class LocalModelServer:
    """A fake OpenAI + Anthropic API on 127.0.0.1, started as a task in the running loop.

        async with LocalModelServer() as server:
            client = AsyncOpenAI(base_url=server.openai_base_url, api_key="x")
            server.enqueue(Script(rate_limit=1, text="Hi"))  # first 429, then "Hi"

    `port=0` picks a free port. `requests` records every request received but those that
    ask to name a conversation: `naming_requests()` has them (see app.py).
    """

    def __init__(self, default: Script | None = None, *, host: str = "127.0.0.1",
                 port: int = 0, models: list[str] | None = None) -> None:
        self.app = LocalModelApp(ScriptBook(default), models)
        self._host = host
        self._port = port
        self._server: UnannouncedServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        if self._server is None or not self._server.servers:
            raise RuntimeError("the local model server is not running")
        port: int = self._server.servers[0].sockets[0].getsockname()[1]
        return port

    @property
    def base_url(self) -> str:
        """The root URL: what the Anthropic SDK takes as `base_url`."""
        return f"http://{self._host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """The root URL with `/v1`: what the OpenAI SDK takes as `base_url`."""
        return f"{self.base_url}/v1"

    @property
    def requests(self) -> list[ReceivedRequest]:
        """The requests received (the latest 10,000), oldest first."""
        return list(self.app.requests)

    @property
    def in_flight(self) -> int:
        """Completion requests being answered right now."""
        return self.app.in_flight

    def completions(self) -> list[ReceivedRequest]:
        """The completion requests (OpenAI or Anthropic) received, oldest first (naming
        requests apart: `naming_requests`)."""
        paths = ("/v1/chat/completions", "/v1/messages")
        return [r for r in self.app.requests if r.path in paths]

    def naming_requests(self) -> list[ReceivedRequest]:
        """The requests that asked to name a conversation, oldest first."""
        return list(self.app.naming_requests)

    def set_default(self, script: Script) -> None:
        """Answer every request that has no queued or per-model script with `script`."""
        self.app.book.set_default(script)

    def enqueue(self, *scripts: Script) -> None:
        """Answer the next requests with these scripts, one per request, in order."""
        self.app.book.enqueue(*scripts)

    def enqueue_for_model(self, model: str, *scripts: Script) -> None:
        """Answer the next requests for `model` with these scripts, one per request, in
        order, then with the model's standing script; the FIFO queue of `enqueue` still
        comes first. `model` is the name the request carries (`echo` for `local/echo`)."""
        self.app.book.enqueue_for_model(model, *scripts)

    def set_model_script(self, model: str, script: Script) -> None:
        """Answer requests for `model` with `script` (unless a queued script comes first)."""
        self.app.book.by_model[model] = script

    def reset(self) -> None:
        """Forget scripts, counters and recorded requests."""
        self.app.book.reset()
        self.app.requests.clear()
        self.app.naming_requests.clear()
        self.app.request_count = 0

    async def start(self) -> None:
        """Listen and serve; returns once the server accepts connections."""
        self.app.reopen()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        config = uvicorn.Config(
            self.app, lifespan="off", ws="none", log_config=None, http=UnloggedHttpProtocol,
            timeout_graceful_shutdown=1, timeout_keep_alive=30,
        )
        self._server = UnannouncedServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                sock.close()
                await self._task  # raises what stopped it
                raise RuntimeError("the local model server stopped while starting")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self.app.close()
        self._server.should_exit = True
        await self._task
        self._server = self._task = None

    async def __aenter__(self) -> LocalModelServer:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()
