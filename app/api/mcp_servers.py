"""MCP servers as a tool source (ours; Storyden lists their tools with `source: "mcp"` but
has no registration API). Bearer tokens are write-only: answers say `has_bearer_token`.

A server's tools are listed through the `mcp` SDK by `POST .../refresh` and cached; they
appear in `GET /robots/tools` as `mcp:<slug>:<tool>`, called by models as `<slug>_<tool>`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from app.adapters.mcp_servers import McpSlugTaken
from app.api.auth import requires
from app.api.openapi import problems
from app.api.problems import ProblemError
from app.domain.accounts import Account, Permission
from app.domain.mcp_servers import SLUG_PATTERN, McpServer, tool_id
from app.services.mcp_servers import (
    InvalidMcpServerField,
    McpServerChange,
    McpServerFailed,
    McpServerNotFound,
    McpServerService,
    SkippedTool,
)

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Slug = Annotated[str, msgspec.Meta(
    pattern=SLUG_PATTERN,
    description="Names the server's tools: ids `mcp:<slug>:<tool>`, callable names"
    " `<slug>_<tool>`. Lowercase letters, digits and `-`, starting with a letter, at most"
    " 32; no `_`, so callable names never clash. Fixed once registered.")]
Url = Annotated[str, msgspec.Meta(
    min_length=1, max_length=2048,
    description="The server's streamable HTTP endpoint (http or https), e.g."
    " https://mcp.example.org/mcp; no credentials in it (use bearer_token).")]
Description = Annotated[str, msgspec.Meta(max_length=10_000)]
BearerToken = Annotated[str, msgspec.Meta(
    min_length=1, max_length=4096,
    description="Write-only: sent as `Authorization: Bearer <token>` on every request to"
    " the server; stored encrypted, never returned. Omit to keep the current one.")]


class McpServerInitialProps(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    slug: Slug
    url: Url
    description: Description = ""
    enabled: bool = True
    bearer_token: BearerToken | msgspec.UnsetType = msgspec.UNSET

    def __repr__(self) -> str:  # the token must never reach a log line through a repr
        return "McpServerInitialProps(...)"


class McpServerMutableProps(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    slug: Slug | msgspec.UnsetType = msgspec.UNSET  # accepted only unchanged
    url: Url | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    bearer_token: BearerToken | msgspec.UnsetType = msgspec.UNSET
    clear_bearer_token: Annotated[bool, msgspec.Meta(
        description="Remove the stored bearer token.")] = False

    def __repr__(self) -> str:  # the token must never reach a log line through a repr
        return "McpServerMutableProps(...)"


class McpServerOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    name: str
    slug: str
    url: str
    description: str
    enabled: bool
    has_bearer_token: Annotated[bool, msgspec.Meta(
        description="Whether a bearer token is stored. The token itself is never returned.")]
    created_at: datetime
    updated_at: datetime
    tools: Annotated[list[str], msgspec.Meta(
        description="The ids of the tools cached at the last refresh (see GET /robots/tools).")]
    tools_refreshed_at: Annotated[datetime | None, msgspec.Meta(
        description="The last successful refresh; absent: never refreshed.")] = None
    skipped_tools: Annotated[list[SkippedTool], msgspec.Meta(
        description="After a refresh: tools the server listed that cannot be offered to a"
        " model (no valid input schema, a name listed twice), with the reason.")] = []


class McpServerListResult(msgspec.Struct, kw_only=True):
    servers: list[McpServerOut]


def _out(server: McpServer, skipped: list[SkippedTool] | None = None) -> McpServerOut:
    return McpServerOut(
        id=str(server.id), name=server.name, slug=server.slug, url=server.url,
        description=server.description, enabled=server.enabled,
        has_bearer_token=server.bearer_token_encrypted is not None,
        created_at=server.created_at, updated_at=server.updated_at,
        tools=[tool_id(server.slug, t.name) for t in server.tools],
        tools_refreshed_at=server.tools_refreshed_at, skipped_tools=skipped or [])


def _not_found(exc: McpServerNotFound) -> ProblemError:
    return ProblemError(404, str(exc), slug="not-found",
                        metadata={"mcp_server_id": str(exc.server_id)})


def _invalid(exc: InvalidMcpServerField) -> ProblemError:
    return ProblemError(422, str(exc), slug="invalid-field", metadata={"field": exc.field})


def _slug_taken(exc: McpSlugTaken) -> ProblemError:
    return ProblemError(409, str(exc), slug="mcp-slug-taken", metadata={"field": "slug"})


def _failed(exc: McpServerFailed) -> ProblemError:
    metadata = {"mcp_server_id": str(exc.server_id), "reason": exc.kind}
    if exc.kind == "timeout":
        return ProblemError(504, str(exc), slug="mcp-server-timeout", metadata=metadata)
    return ProblemError(502, str(exc), slug="mcp-server-failed", metadata=metadata)


def _change(data: McpServerInitialProps | McpServerMutableProps) -> McpServerChange:
    clear = data.clear_bearer_token if isinstance(data, McpServerMutableProps) else False
    return McpServerChange(name=data.name, slug=data.slug, url=data.url,
                           description=data.description, enabled=data.enabled,
                           bearer_token=data.bearer_token, clear_bearer_token=clear)


class McpServersController(Controller):
    path = "/robots/mcp-servers"
    tags = ["robots"]
    guards = [requires(Permission.MANAGE_ROBOTS)]

    @get("/", summary="List MCP servers", responses=problems(403))
    async def list_servers(
        self, mcp_server_service: NamedDependency[McpServerService],
    ) -> McpServerListResult:
        """Every registered MCP server, oldest first, with its cached tools' ids."""
        return McpServerListResult(servers=[_out(s) for s in await mcp_server_service.all()])

    @post("/", summary="Register an MCP server", responses=problems(403, 409, 413, 422))
    async def create_server(
        self, request: Request[Account, Any, Any],
        mcp_server_service: NamedDependency[McpServerService],
        data: JSONBody[McpServerInitialProps],
    ) -> McpServerOut:
        """Register a server; its tools are listed by `POST .../refresh`."""
        try:
            return _out(await mcp_server_service.create(_change(data), request.user.id))
        except InvalidMcpServerField as exc:
            raise _invalid(exc) from None
        except McpSlugTaken as exc:
            raise _slug_taken(exc) from None

    @get("/{server_id:uuid}", summary="Get an MCP server", responses=problems(403, 404))
    async def get_server(self, mcp_server_service: NamedDependency[McpServerService],
                         server_id: FromPath[uuid.UUID]) -> McpServerOut:
        """One registered MCP server by id, with its cached tools' ids (never its token)."""
        try:
            return _out(await mcp_server_service.get(server_id))
        except McpServerNotFound as exc:
            raise _not_found(exc) from None

    @patch("/{server_id:uuid}", summary="Change an MCP server",
           responses=problems(403, 404, 413, 422))
    async def update_server(
        self, request: Request[Account, Any, Any],
        mcp_server_service: NamedDependency[McpServerService],
        server_id: FromPath[uuid.UUID], data: JSONBody[McpServerMutableProps],
    ) -> McpServerOut:
        """Change the fields sent. A new `url` while a token is stored needs the token sent
        again (or cleared), so a stored token never follows a new URL unseen."""
        try:
            return _out(await mcp_server_service.update(server_id, _change(data),
                                                        request.user.id))
        except McpServerNotFound as exc:
            raise _not_found(exc) from None
        except InvalidMcpServerField as exc:
            raise _invalid(exc) from None

    @delete("/{server_id:uuid}", status_code=200, summary="Remove an MCP server",
            responses=problems(403, 404))
    async def delete_server(self, mcp_server_service: NamedDependency[McpServerService],
                            server_id: FromPath[uuid.UUID]) -> McpServerOut:
        """Remove the server and its cached tools. Robots that were given them keep the ids,
        which no longer run (as with any tool that has gone)."""
        try:
            return _out(await mcp_server_service.delete(server_id))
        except McpServerNotFound as exc:
            raise _not_found(exc) from None

    @post("/{server_id:uuid}/refresh", status_code=200, summary="Refresh an MCP server's tools",
          responses=problems(403, 404, 422, 502, 504))
    async def refresh_server(self, mcp_server_service: NamedDependency[McpServerService],
                             server_id: FromPath[uuid.UUID]) -> McpServerOut:
        """Connect to the server (streamable HTTP, with its bearer token), list its tools and
        cache them in place of the last list. A server that cannot be reached or fails is a
        502, one that does not answer within MCP_CALL_TIMEOUT_S a 504; either way the cached
        tools stay as they were."""
        try:
            server, skipped = await mcp_server_service.refresh(server_id)
        except McpServerNotFound as exc:
            raise _not_found(exc) from None
        except InvalidMcpServerField as exc:
            raise _invalid(exc) from None
        except McpServerFailed as exc:
            raise _failed(exc) from None
        return _out(server, skipped)
