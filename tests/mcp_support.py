"""A real MCP server for tests: built with the official `mcp` SDK (MCPServer), served over
streamable HTTP on loopback by uvicorn inside the test process, refusing any request without
its bearer token, and remembering the tokens and calls it was sent."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypedDict

import uvicorn

from app.adapters.http_server import InProcessServer

Scope = dict[str, Any]


class Forecast(TypedDict):
    city: str
    sky: str
    high_c: int


# The tools McpTestServer lists, in its order.
TOOL_NAMES = ("forecast", "shout", "fail", "nap", "lookup", "record")


class McpTestServer:
    """Tools: `forecast` (read-only, structured output), `shout` (text only), `fail` (the
    tool says it failed), `nap` (sleeps, for timeouts), and `lookup` (read-only) and
    `record`, which both wait while `gate` is closed (to cut a call off mid-run)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.gate = asyncio.Event()
        self.gate.set()
        self.authorizations: list[str] = []  # every Authorization header it was sent
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.url = ""
        self._server: InProcessServer | None = None
        self.loop: asyncio.AbstractEventLoop | None = None  # the loop it serves on
        self._task: asyncio.Task[None] | None = None

    def _app(self) -> Any:
        # Built here, not at import: MCPServer configures logging on construction, which
        # must find pytest's handlers in place.
        from mcp.server.mcpserver import MCPServer
        from mcp.server.mcpserver.exceptions import ToolError
        from mcp.types import ToolAnnotations

        mcp = MCPServer("weather-test")

        @mcp.tool(title="Weather forecast", annotations=ToolAnnotations(readOnlyHint=True))
        def forecast(city: str) -> Forecast:
            """Tomorrow's weather in a city."""
            self.calls.append(("forecast", {"city": city}))
            return Forecast(city=city, sky="clear", high_c=21)

        @mcp.tool(structured_output=False)
        def shout(text: str) -> str:
            """The text in capitals."""
            self.calls.append(("shout", {"text": text}))
            return text.upper()

        @mcp.tool()
        def fail(reason: str) -> str:
            """Always fails, saying why."""
            self.calls.append(("fail", {"reason": reason}))
            raise ToolError(f"the weather service is closed: {reason}")

        @mcp.tool()
        async def nap(seconds: float) -> str:
            """Sleeps, then says so."""
            self.calls.append(("nap", {"seconds": seconds}))
            await asyncio.sleep(seconds)
            return "rested"

        @mcp.tool(annotations=ToolAnnotations(readOnlyHint=True))
        async def lookup(key: str) -> str:
            """Reads a value (once the gate is open)."""
            self.calls.append(("lookup", {"key": key}))
            await self.gate.wait()
            return f"value of {key}"

        @mcp.tool(structured_output=False)
        async def record(key: str) -> str:
            """Writes a value (once the gate is open): not safe to repeat."""
            self.calls.append(("record", {"key": key}))
            await self.gate.wait()
            return f"recorded {key}"

        app = mcp.streamable_http_app()

        async def guarded(scope: Scope, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                said = dict(scope["headers"]).get(b"authorization", b"").decode()
                self.authorizations.append(said)
                if said != f"Bearer {self.token}":
                    await send({"type": "http.response.start", "status": 401,
                                "headers": [(b"content-type", b"application/json")]})
                    await send({"type": "http.response.body", "body": b'{"error":"token"}'})
                    return
            await app(scope, receive, send)

        return guarded

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
        self._server = InProcessServer(uvicorn.Config(
            self._app(), log_level="warning", lifespan="on", timeout_graceful_shutdown=2))
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:  # uvicorn exposes a flag, not an event
            assert not self._task.done(), "the MCP test server did not start"
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, 10)
            self._server = self._task = None


@contextlib.asynccontextmanager
async def mcp_test_server(token: str | None = None) -> AsyncIterator[McpTestServer]:
    server = McpTestServer(token or f"mcp-secret-{uuid.uuid4().hex}")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.contextmanager
def mcp_server_in_thread(token: str | None = None) -> Iterator[McpTestServer]:
    """The server on an event loop of its own thread: Litestar's AsyncTestClient blocks the
    test's loop while the app handles a request, so a server on that loop could not answer
    the app's calls."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="mcp-test-server", daemon=True)
    thread.start()
    server = McpTestServer(token or f"mcp-secret-{uuid.uuid4().hex}")
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def stop_in_thread(server: McpTestServer) -> None:
    """Stop a server started by mcp_server_in_thread, from the test."""
    assert server.loop is not None
    asyncio.run_coroutine_threadsafe(server.stop(), server.loop).result(15)


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """The URL of a server that takes connections (the kernel's backlog does) and never
    answers: for timeouts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"


def closed_port_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mcp"
