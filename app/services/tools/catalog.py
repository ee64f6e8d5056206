"""Load a robot's tool catalog (app/domain/tool_catalog.py): its native tools as they are,
its MCP tools from the cache of their servers' last refresh."""

from __future__ import annotations

from app.adapters.mcp_servers import McpServerStore
from app.domain.tool_catalog import ToolCatalog, catalog_of


async def load_catalog(store: McpServerStore, tool_ids: list[str]) -> ToolCatalog:
    """One query if the robot has MCP tools, none otherwise."""
    return catalog_of(tool_ids, await store.tools_by_id(tool_ids))
