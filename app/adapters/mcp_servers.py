"""MCP servers and their cached tools in PostgreSQL (`migrations/0012_mcp_servers.sql`).

A bearer token is encrypted here on the way in and leaves only as a Fernet token, except
through `endpoint`, which decrypts it just before a call hands it to the SDK.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import msgspec
from psycopg import errors as pg_errors
from psycopg_pool import AsyncConnectionPool

from app.adapters.mcp_client import McpEndpoint
from app.adapters.server_secret import KeyCipher
from app.domain.mcp_servers import (
    CachedTool,
    McpServer,
    McpToolTarget,
    parse_tool_id,
    tool_id,
    tool_info,
)
from app.domain.tool_catalog import McpTool

_COLUMNS = ("id, name, slug, url, description, enabled, bearer_token_encrypted, created_at,"
            " updated_at, tools_refreshed_at")
_TOOL_COLUMNS = "name, title, description, input_schema, annotations"
# The columns a create or an update may set (the token arrives as `bearer_token`).
SETTABLE = ("name", "slug", "url", "description", "enabled")


class McpSlugTaken(Exception):
    def __init__(self, slug: str) -> None:
        self.slug = slug
        super().__init__(f"an MCP server with the slug {slug!r} already exists")


class McpServerStore:
    def __init__(self, pool: AsyncConnectionPool[Any], cipher: KeyCipher) -> None:
        self.pool = pool
        self.cipher = cipher

    async def create(self, fields: dict[str, Any], bearer_token: str | None,
                     actor: uuid.UUID) -> McpServer:
        """Raises McpSlugTaken."""
        values = {k: fields[k] for k in SETTABLE if k in fields}
        values |= {"id": uuid.uuid4(), "created_by": actor, "updated_by": actor,
                   "bearer_token_encrypted": self._encrypted(bearer_token)}
        sql = (f"INSERT INTO mcp_servers ({', '.join(values)})"
               f" VALUES ({', '.join(['%s'] * len(values))}) RETURNING {_COLUMNS}")
        row = await self._write(sql, list(values.values()), values.get("slug"))
        return _server(row, [])

    async def update(self, server_id: uuid.UUID, fields: dict[str, Any], actor: uuid.UUID, *,
                     bearer_token: str | None = None, clear_bearer_token: bool = False
                     ) -> McpServer | None:
        """Change what is given and keep the rest. Raises McpSlugTaken."""
        sets = {k: fields[k] for k in SETTABLE if k in fields}
        if bearer_token is not None or clear_bearer_token:
            sets["bearer_token_encrypted"] = self._encrypted(bearer_token)
        assignments = ", ".join([*(f"{k} = %s" for k in sets), "updated_by = %s",
                                 "updated_at = now()"])
        sql = f"UPDATE mcp_servers SET {assignments} WHERE id = %s RETURNING {_COLUMNS}"
        row = await self._write(sql, [*sets.values(), actor, server_id], sets.get("slug"))
        return None if row is None else _server(row, (await self._tools([server_id]))[server_id])

    async def delete(self, server_id: uuid.UUID) -> McpServer | None:
        """The server as it was; its cached tools go with it."""
        server = await self.get(server_id)
        if server is not None:
            async with self.pool.connection() as conn:
                await conn.execute("DELETE FROM mcp_servers WHERE id = %s", [server_id])
        return server

    async def get(self, server_id: uuid.UUID) -> McpServer | None:
        servers = await self._servers("WHERE id = %s", [server_id])
        return servers[0] if servers else None

    async def all(self) -> list[McpServer]:
        """Every server, oldest first, with its cached tools."""
        return await self._servers("", [])

    async def replace_tools(self, server_id: uuid.UUID, tools: list[CachedTool]
                            ) -> McpServer | None:
        """A successful refresh: `tools` replace the cached ones, in one transaction."""
        async with self.pool.connection() as conn, conn.transaction():
            row = await (await conn.execute(
                f"UPDATE mcp_servers SET tools_refreshed_at = now() WHERE id = %s"
                f" RETURNING {_COLUMNS}", [server_id])).fetchone()
            if row is None:
                return None
            await conn.execute("DELETE FROM mcp_tools WHERE server_id = %s", [server_id])
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO mcp_tools (server_id, name, position, title, description,"
                    " input_schema, annotations) VALUES (%s, %s, %s, %s, %s, %s::jsonb,"
                    " %s::jsonb)",
                    [(server_id, t.name, i, t.title, t.description, _json(t.input_schema),
                      _json(t.annotations)) for i, t in enumerate(tools)])
        return _server(row, tools)

    async def endpoint(self, server_id: str) -> tuple[McpServer, McpEndpoint] | None:
        """An enabled server and where to call it, its token decrypted; None if it is gone
        or disabled. Raises UndecryptableKey (the server secret changed since)."""
        try:
            found = await self._servers("WHERE id = %s", [uuid.UUID(server_id)], tools=False)
        except ValueError:
            return None
        server = found[0] if found else None
        if server is None or not server.enabled:
            return None
        return server, self.endpoint_of(server)

    def endpoint_of(self, server: McpServer) -> McpEndpoint:
        """Where to call `server`, its token decrypted. Raises UndecryptableKey."""
        token = server.bearer_token_encrypted
        return McpEndpoint(server.url, self.cipher.decrypt(token) if token else None)

    async def tools_by_id(self, tool_ids: Iterable[str]) -> dict[str, McpTool]:
        """The cached MCP tools among `tool_ids`, by id (disabled servers' too, shown
        unavailable); other ids are left out."""
        found: dict[str, McpTool] = {}
        for server_id, slug, enabled, *row in await _cached(self.pool, tool_ids):
            tool = _tool(row)
            found[tool_id(slug, tool.name)] = McpTool(
                info=tool_info(slug, enabled, tool),
                target=McpToolTarget(server_id=str(server_id), tool=tool.name))
        return found

    def _encrypted(self, token: str | None) -> bytes | None:
        return self.cipher.encrypt(token) if token else None

    async def _write(self, sql: str, values: list[Any], slug: str | None) -> Any:
        try:
            async with self.pool.connection() as conn:
                return await (await conn.execute(sql, values)).fetchone()
        except pg_errors.UniqueViolation:
            raise McpSlugTaken(slug or "") from None

    async def _servers(self, where: str, params: list[Any], *, tools: bool = True
                       ) -> list[McpServer]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM mcp_servers {where} ORDER BY created_at, id", params)
            rows = await cur.fetchall()
        cached = await self._tools([r[0] for r in rows] if tools else [])
        return [_server(r, cached.get(r[0], [])) for r in rows]

    async def _tools(self, server_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[CachedTool]]:
        found: dict[uuid.UUID, list[CachedTool]] = {i: [] for i in server_ids}
        if not server_ids:
            return found
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT server_id, {_TOOL_COLUMNS} FROM mcp_tools"
                " WHERE server_id = ANY(%s) ORDER BY server_id, position", [server_ids])
            for server_id, *tool in await cur.fetchall():
                found[server_id].append(_tool(tool))
        return found


async def known_tool_ids(pool: AsyncConnectionPool[Any], tool_ids: Iterable[str]) -> set[str]:
    """The ids among `tool_ids` of MCP tools in the cache (of any server, enabled or not)."""
    return {tool_id(row[1], row[3]) for row in await _cached(pool, tool_ids)}


async def _cached(pool: AsyncConnectionPool[Any], tool_ids: Iterable[str]) -> list[Any]:
    """(server id, slug, enabled, name, title, description, input schema, annotations) of
    the cached tools that `tool_ids` name; no query when none is an MCP tool id."""
    wanted = [p for p in map(parse_tool_id, tool_ids) if p is not None]
    if not wanted:
        return []
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT s.id, s.slug, s.enabled, t.name, t.title, t.description, t.input_schema,"
            " t.annotations FROM mcp_tools t JOIN mcp_servers s ON s.id = t.server_id"
            " JOIN unnest(%s::text[], %s::text[]) AS w(slug, name)"
            " ON w.slug = s.slug AND w.name = t.name",
            [[slug for slug, _ in wanted], [name for _, name in wanted]])
        rows: list[Any] = await cur.fetchall()
    return rows


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _tool(row: Any) -> CachedTool:
    return CachedTool(name=row[0], title=row[1], description=row[2], input_schema=row[3],
                      annotations=row[4])


def _server(row: Any, tools: list[CachedTool]) -> McpServer:
    token = bytes(row[6]) if row[6] is not None else None
    return McpServer(id=row[0], name=row[1], slug=row[2], url=row[3], description=row[4],
                     enabled=row[5], bearer_token_encrypted=token, created_at=row[7],
                     updated_at=row[8], tools_refreshed_at=row[9], tools=tools)
