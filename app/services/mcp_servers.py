"""MCP servers from the API's side: a registration checked before it is stored, a bearer
token that goes in and never comes out, and a refresh that lists the server's tools through
the SDK and caches them (a server that fails leaves the cache as it was)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import msgspec

from app.adapters.mcp_client import McpFailure, list_tools
from app.adapters.mcp_servers import McpServerStore
from app.adapters.server_secret import UndecryptableKey
from app.config.settings import Settings
from app.domain.endpoints import secret_problem, url_problem
from app.domain.mcp_servers import CachedTool, McpServer, listed_tool, slug_problem
from app.domain.tools import ToolInfo

log = logging.getLogger(__name__)


class McpServerNotFound(Exception):
    def __init__(self, server_id: uuid.UUID) -> None:
        self.server_id = server_id
        super().__init__(f"no MCP server with id {server_id}")


class InvalidMcpServerField(Exception):
    """A value the service cannot use; the message never quotes a token."""

    def __init__(self, field: str, detail: str) -> None:
        self.field = field
        super().__init__(detail)


class McpServerChange(msgspec.Struct, kw_only=True):
    """The fields an administrator sent; UNSET: keep the value."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    slug: str | msgspec.UnsetType = msgspec.UNSET
    url: str | msgspec.UnsetType = msgspec.UNSET
    description: str | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    bearer_token: str | msgspec.UnsetType = msgspec.UNSET
    clear_bearer_token: bool = False

    def __repr__(self) -> str:  # the token must never reach a log line through a repr
        return "McpServerChange(...)"

    def fields(self) -> dict[str, Any]:
        return {k: v for k in ("name", "slug", "url", "description", "enabled")
                if (v := getattr(self, k)) is not msgspec.UNSET}


class McpServerFailed(Exception):
    """The server could not be reached (`unreachable`), did not answer in time (`timeout`)
    or answered with an error (`error`); the message holds no token."""

    def __init__(self, server_id: uuid.UUID, failure: McpFailure) -> None:
        self.server_id = server_id
        self.kind = failure.kind
        super().__init__(str(failure))


class SkippedTool(msgspec.Struct, frozen=True):
    name: str
    reason: str


class McpServerService:
    """Built per request from the process's parts (app/api/deps.py)."""

    def __init__(self, store: McpServerStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    async def all(self) -> list[McpServer]:
        return await self.store.all()

    async def get(self, server_id: uuid.UUID) -> McpServer:
        """Raises McpServerNotFound."""
        server = await self.store.get(server_id)
        if server is None:
            raise McpServerNotFound(server_id)
        return server

    async def tool_infos(self) -> list[ToolInfo]:
        """Every cached MCP tool, as `GET /robots/tools` lists it."""
        return [info for server in await self.store.all() for info in server.tool_infos()]

    async def create(self, change: McpServerChange, actor: uuid.UUID) -> McpServer:
        """Raises InvalidMcpServerField, McpSlugTaken."""
        fields = change.fields()
        _check_slug(str(fields["slug"]))
        fields["url"] = _checked_url(str(fields["url"]))
        token = _checked_token(change.bearer_token)
        return await self.store.create(fields, token, actor)

    async def update(self, server_id: uuid.UUID, change: McpServerChange,
                     actor: uuid.UUID) -> McpServer:
        """Store the fields sent. Raises McpServerNotFound, InvalidMcpServerField,
        McpSlugTaken."""
        server = await self.get(server_id)
        fields = change.fields()
        if "slug" in fields and fields["slug"] != server.slug:
            raise InvalidMcpServerField(
                "slug", "a server's slug cannot change: robots name its tools by it"
                f" (mcp:{server.slug}:<tool>); register the server again under the new slug")
        token = _checked_token(change.bearer_token)
        if token is not None and change.clear_bearer_token:
            raise InvalidMcpServerField(
                "clear_bearer_token", "send bearer_token or clear_bearer_token: true, not both")
        if "url" in fields:
            fields["url"] = _checked_url(str(fields["url"]))
            token_stays = (server.bearer_token_encrypted is not None and token is None
                           and not change.clear_bearer_token)
            if fields["url"] != server.url and token_stays:
                raise InvalidMcpServerField(
                    "url", "the stored bearer token would be sent to the new url: send"
                    " bearer_token again (or clear_bearer_token: true) with it")
        updated = await self.store.update(server_id, fields, actor, bearer_token=token,
                                          clear_bearer_token=change.clear_bearer_token)
        if updated is None:
            raise McpServerNotFound(server_id)
        return updated

    async def delete(self, server_id: uuid.UUID) -> McpServer:
        """The server as it was. Raises McpServerNotFound."""
        server = await self.store.delete(server_id)
        if server is None:
            raise McpServerNotFound(server_id)
        return server

    async def refresh(self, server_id: uuid.UUID) -> tuple[McpServer, list[SkippedTool]]:
        """List the server's tools now and cache them (a disabled server too, so they can be
        seen before it is enabled), with the tools that cannot be offered and why.
        Raises McpServerNotFound, McpServerFailed, InvalidMcpServerField."""
        server = await self.get(server_id)
        try:
            endpoint = self.store.endpoint_of(server)
        except UndecryptableKey:
            raise InvalidMcpServerField(
                "bearer_token", "the stored bearer token cannot be decrypted with this"
                " server's secret (was ROBOTS_SECRET_KEY changed?); set it again") from None
        try:
            listed = await list_tools(endpoint, self.settings.mcp_call_timeout_s)
        except McpFailure as exc:
            log.warning("refreshing MCP server %s failed: %s", server.slug, exc)
            raise McpServerFailed(server_id, exc) from None
        tools, skipped = _usable(listed)
        refreshed = await self.store.replace_tools(server_id, tools)
        if refreshed is None:  # deleted while it was being listed
            raise McpServerNotFound(server_id)
        return refreshed, skipped


def _usable(listed: list[dict[str, Any]]) -> tuple[list[CachedTool], list[SkippedTool]]:
    tools: dict[str, CachedTool] = {}
    skipped: list[SkippedTool] = []
    for wire in listed:
        name = str(wire.get("name") or "")
        tool = listed_tool(wire)
        if isinstance(tool, str):
            skipped.append(SkippedTool(name, tool))
        elif tool.name in tools:
            skipped.append(SkippedTool(name, "the server listed a tool of that name twice"))
        else:
            tools[tool.name] = tool
    return list(tools.values()), skipped


def _check_slug(slug: str) -> None:
    if problem := slug_problem(slug):
        raise InvalidMcpServerField("slug", problem)


def _checked_token(token: str | msgspec.UnsetType) -> str | None:
    if token is msgspec.UNSET:
        return None
    token = token.strip()
    if problem := secret_problem(token):
        raise InvalidMcpServerField("bearer_token", f"bearer_token {problem}; to remove it"
                                    " send clear_bearer_token: true")
    return token


def _checked_url(url: str) -> str:
    url = url.strip()
    if problem := url_problem(url, query_allowed=True):
        raise InvalidMcpServerField("url", f"url {problem} (e.g. https://mcp.example.org/mcp;"
                                    " a token goes in bearer_token)")
    return url
