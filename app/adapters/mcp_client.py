"""MCP servers over streamable HTTP, through the official `mcp` SDK: list a server's tools,
call one. Each use opens its own connection (the SDK's `Client` over
`streamable_http_client`), bounded as a whole by a timeout.

The bearer token rides only in the `Authorization` header of the HTTP client; every failure
is an McpFailure whose message names what went wrong and never holds the token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import anyio
import httpx2
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

T = TypeVar("T")
FailureKind = Literal["unreachable", "timeout", "error"]
# A server that lists more pages than this is not listing tools for a robot.
MAX_TOOL_PAGES = 50


class McpEndpoint:
    """Where a server is and the token it takes (decrypted just before use)."""

    def __init__(self, url: str, bearer_token: str | None) -> None:
        self.url = url
        self.bearer_token = bearer_token

    def __repr__(self) -> str:  # the token must never reach a log line through a repr
        return f"McpEndpoint({self.url!r})"


class McpFailure(Exception):
    """The server could not be reached (`unreachable`), did not answer in time (`timeout`),
    or answered with an error (`error`)."""

    def __init__(self, kind: FailureKind, detail: str) -> None:
        self.kind = kind
        super().__init__(detail)


async def list_tools(endpoint: McpEndpoint, timeout_s: float) -> list[dict[str, Any]]:
    """Every tool the server lists, each in its JSON form (`name`, `inputSchema`, ...)."""

    async def use(client: Client) -> list[dict[str, Any]]:
        tools: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_TOOL_PAGES):
            page = await client.list_tools(cursor=cursor)
            tools += [t.model_dump(mode="json", by_alias=True, exclude_none=True)
                      for t in page.tools]
            cursor = page.next_cursor
            if cursor is None:
                break
        return tools

    return await _with_client(endpoint, timeout_s, use)


async def call_tool(endpoint: McpEndpoint, name: str, arguments: dict[str, Any],
                    timeout_s: float) -> dict[str, Any]:
    """The call's result in its JSON form (`content`, `structuredContent`, `isError`). A
    tool that failed is a result with `isError`, not an McpFailure."""

    async def use(client: Client) -> dict[str, Any]:
        result = await client.call_tool(name, arguments)
        wire: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        return wire

    return await _with_client(endpoint, timeout_s, use)


async def _with_client(endpoint: McpEndpoint, timeout_s: float,
                       use: Callable[[Client], Awaitable[T]]) -> T:
    statuses: list[int] = []

    async def note_status(response: httpx2.Response) -> None:
        if response.status_code >= 400:
            statuses.append(response.status_code)

    headers = {"Authorization": f"Bearer {endpoint.bearer_token}"} if endpoint.bearer_token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(timeout_s),
                              event_hooks={"response": [note_status]})
    try:
        with anyio.fail_after(timeout_s):
            async with http, Client(streamable_http_client(endpoint.url, http_client=http),
                                    cache=None) as client:
                return await use(client)
    except TimeoutError:
        raise McpFailure("timeout", f"{endpoint.url} did not answer within {timeout_s:g} s"
                         ) from None
    except Exception as exc:
        raise _failure(endpoint, exc, statuses) from None


def _failure(endpoint: McpEndpoint, exc: Exception, statuses: list[int]) -> McpFailure:
    cause = _leaf(exc)
    said = str(cause) or type(cause).__name__
    if endpoint.bearer_token:  # a server may quote what it was sent; never pass that on
        said = said.replace(endpoint.bearer_token, "[token]")
    if isinstance(cause, httpx2.TimeoutException):
        return McpFailure("timeout", f"{endpoint.url} did not answer in time ({said})")
    if isinstance(cause, httpx2.TransportError | OSError):
        return McpFailure("unreachable", f"cannot reach {endpoint.url}: {said}")
    status = f" (HTTP {statuses[-1]})" if statuses else ""
    if isinstance(cause, MCPError):
        hint = " (is the bearer token right?)" if statuses and statuses[-1] in (401, 403) else ""
        return McpFailure("error", f"{endpoint.url} answered with an error{status}:"
                                   f" {cause.message}{hint}")
    return McpFailure("error", f"{endpoint.url} failed{status}: {type(cause).__name__}: {said}")


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside the task groups' exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc
