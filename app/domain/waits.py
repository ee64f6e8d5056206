"""Which tool calls a turn waits on, and for what: a person's approval before a tool that
cannot be undone runs, or the client's output for a tool only the client runs.

- A tool that requires confirmation (native `robot_delete`; any tool an administrator
  marked so on the robot) waits for approval.
- A robot's client tools always wait for the client.
- Julep's session options: with `auto_run_tools` false the server runs no tool, and with
  `forward_tool_calls` true it forwards every call to the client instead of running it:
  either way every call waits for the client's output.
"""

from __future__ import annotations

import msgspec

from app.domain.events import WaitKind
from app.domain.robots import Robot
from app.domain.session import SessionSettings
from app.domain.steps import WaitFor
from app.domain.tool_catalog import ToolCatalog
from app.domain.tools import ToolInfo


def with_robot_rules(catalog: ToolCatalog, robot: Robot) -> ToolCatalog:
    """The catalog with the robot's client tools offered too, and the tools its
    administrator marked as needing approval marked so."""
    marked = set(robot.tools_requiring_approval)
    tools = {name: msgspec.structs.replace(info, requires_confirmation=True)
             if info.id in marked else info for name, info in catalog.tools.items()}
    for tool in robot.client_tools:
        if tool.name not in tools:
            tools[tool.name] = ToolInfo(
                id=f"client:{tool.name}", callable_name=tool.name, name=tool.name,
                description=tool.description, source="client", available=True,
                requires_confirmation=False, input_schema=tool.input_schema)
    return msgspec.structs.replace(catalog, tools=tools)


def wait_policy(catalog: ToolCatalog, settings: SessionSettings) -> WaitFor:
    every_call_to_client = not settings.auto_run_tools or settings.forward_tool_calls

    def wait_for(name: str) -> WaitKind | None:
        tool = catalog.tool(name)
        if every_call_to_client or (tool is not None and tool.source == "client"):
            return "client"
        if tool is not None and tool.requires_confirmation:
            return "approval"
        return None

    return wait_for
