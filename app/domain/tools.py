"""The tools a robot may be given, by stable id."""

from __future__ import annotations

import msgspec


class ToolInfo(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    callable_name: str
    name: str
    description: str
    source: str
    available: bool
    requires_confirmation: bool
    input_schema: dict[str, object]


TOOLS: tuple[ToolInfo, ...] = (
    ToolInfo(
        id="current_time", callable_name="current_time", name="Current time",
        description="The current date and time in UTC, as ISO 8601.", source="builtin",
        available=True, requires_confirmation=False,
        input_schema={"type": "object", "properties": {}},
    ),
)

TOOL_IDS = frozenset(t.id for t in TOOLS)
