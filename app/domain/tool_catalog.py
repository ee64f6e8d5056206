"""The tools one robot can call in a turn: its native tools and the cached tools of its
enabled MCP servers, by the name the model calls them.

A worker loads one per attempt and robot (app/services/tools/catalog.py); the prompt's tool
list, the check of a call's input, whether a cut-off call may run again and the runner all
read that one, so they never disagree about what a name means.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from app.domain.mcp_servers import McpToolTarget
from app.domain.tools import TOOLS, ToolInfo

NATIVE_BY_NAME: dict[str, ToolInfo] = {t.callable_name: t for t in TOOLS.values()}


class McpTool(msgspec.Struct, frozen=True, kw_only=True):
    info: ToolInfo
    target: McpToolTarget


class ToolCatalog(msgspec.Struct, frozen=True, kw_only=True):
    # What the model is offered, in the robot's order.
    tools: dict[str, ToolInfo] = {}
    # Where each MCP tool's calls go, by callable name.
    mcp: dict[str, McpToolTarget] = {}

    def is_idempotent(self, name: str) -> bool:
        """May a call cut off mid-run run again? A name this robot does not offer now (it
        switched robot, or the tool has gone) is judged by the native tool of that name."""
        tool = self.tools.get(name) or NATIVE_BY_NAME.get(name)
        return tool is not None and tool.idempotent

    def tool(self, name: str) -> ToolInfo | None:
        """The tool a call names; a native tool the robot no longer offers still runs (a
        call recorded before a robot switch), since the same native tool serves every robot."""
        return self.tools.get(name) or NATIVE_BY_NAME.get(name)


NO_TOOLS = ToolCatalog()


def catalog_of(tool_ids: list[str], mcp_tools: Mapping[str, McpTool]) -> ToolCatalog:
    """The catalog of a robot given `tool_ids`, with `mcp_tools` the MCP ones that exist
    (by tool id). Unknown ids and unavailable tools are left out; on a clash of callable
    names the first tool keeps the name."""
    tools: dict[str, ToolInfo] = {}
    mcp: dict[str, McpToolTarget] = {}
    for tool_id in tool_ids:
        native, found = TOOLS.get(tool_id), mcp_tools.get(tool_id)
        info = native or (found.info if found else None)
        if info is None or not info.available or info.callable_name in tools:
            continue
        tools[info.callable_name] = info
        if found is not None and native is None:
            mcp[info.callable_name] = found.target
    return ToolCatalog(tools=tools, mcp=mcp)
