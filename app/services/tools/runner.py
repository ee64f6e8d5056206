"""Run one tool call as the turn's account, and turn whatever happens into a result the
model can read: a tool that fails, is refused or is missing never fails the turn."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec

from app.domain.accounts import Permission
from app.domain.events import ToolCall, ToolOutcome
from app.domain.tool_catalog import ToolCatalog
from app.services.tools.context import ToolContext, ToolFailed
from app.services.tools.mcp import run_mcp_tool
from app.services.tools.native import NATIVE

log = logging.getLogger(__name__)

TOOL_TIMEOUT_S = 60.0


class ToolResult(msgspec.Struct, frozen=True, kw_only=True):
    outcome: ToolOutcome
    output: dict[str, Any] | None = None
    error: str | None = None


def failed(error: str) -> ToolResult:
    return ToolResult(outcome="error", error=error)


async def run_tool(ctx: ToolContext, catalog: ToolCatalog, call: ToolCall,
                   tool_input: dict[str, Any]) -> ToolResult:
    """The call's result. Its input was checked against the tool's schema already."""
    info, mcp = catalog.tool(call.name), catalog.mcp.get(call.name)
    native = NATIVE.get(info.id) if info is not None and mcp is None else None
    if info is None or (native is None and mcp is None):
        return failed(f"there is no tool named {call.name!r}")
    # A robot's MCP tools are for whoever may chat with it: an administrator gave them.
    permission = native.permission if native is not None else Permission.USE_ROBOTS
    if ctx.account is None or permission not in ctx.account.permissions:
        return failed(f"permission denied: {call.name} needs the {permission}"
                      " permission, which the account this turn acts for does not have")
    try:
        if mcp is not None:  # bounded by MCP_CALL_TIMEOUT_S inside
            output = await run_mcp_tool(ctx, mcp, call.name, tool_input)
        else:
            assert native is not None
            output = await asyncio.wait_for(native.run(ctx, tool_input), TOOL_TIMEOUT_S)
    except ToolFailed as exc:
        return failed(str(exc))
    except TimeoutError:
        return failed(f"{call.name} did not finish within {TOOL_TIMEOUT_S:.0f} s")
    except Exception as exc:  # a tool's bug is the model's error result, not a dead turn
        log.exception("tool %s failed (turn %s)", call.name, ctx.turn_id)
        return failed(f"{call.name} failed: {type(exc).__name__}: {exc}")
    return ToolResult(outcome="output", output=output)
