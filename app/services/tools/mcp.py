"""Calling an MCP server's tool for a turn: through the SDK, with the configured timeout;
the server's structured content (or its text) is the output, and a server that fails, is
down, is too slow or says the call failed is the model's error result."""

from __future__ import annotations

import logging
from typing import Any

from app.adapters.mcp_client import McpFailure, call_tool
from app.adapters.server_secret import UndecryptableKey
from app.domain.mcp_servers import McpToolTarget, call_output
from app.services.tools.context import ToolContext, ToolFailed

log = logging.getLogger(__name__)


async def run_mcp_tool(ctx: ToolContext, target: McpToolTarget, name: str,
                       tool_input: dict[str, Any]) -> dict[str, Any]:
    """The tool's output. Raises ToolFailed, saying why, for the model."""
    store, timeout_s = ctx.services.mcp_servers, ctx.services.settings.mcp_call_timeout_s
    try:
        found = await store.endpoint(target.server_id)
    except UndecryptableKey:
        raise ToolFailed(f"{name} cannot run: its MCP server's bearer token cannot be"
                         " decrypted with this server's secret; an administrator must set"
                         " it again") from None
    if found is None:
        raise ToolFailed(f"{name} cannot run: its MCP server is disabled or was removed")
    server, endpoint = found
    try:
        result = await call_tool(endpoint, target.tool, tool_input, timeout_s)
    except McpFailure as exc:
        log.warning("MCP tool %s of %s failed (turn %s): %s", target.tool, server.slug,
                    ctx.turn_id, exc)
        raise ToolFailed(f"{name} failed: {exc}") from None
    output, error = call_output(result)
    if error is not None:
        raise ToolFailed(error)
    assert output is not None
    return output
