"""The tools a robot may be given: what each is, what it takes, how it may be run.

`GET /robots/tools` lists these (Storyden's RobotToolInfo, plus the input schema and
whether a call may safely run twice); app/services/tools/ holds what runs them.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

# "client": a robot's own tool that only the client runs (never in GET /robots/tools).
ToolSource = Literal["native", "mcp", "plugin", "client"]


class ToolInfo(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    callable_name: str
    name: str
    description: str
    source: ToolSource
    available: bool
    requires_confirmation: bool
    input_schema: dict[str, Any]
    # True when running a call twice does no harm (it only reads, or sets what it sets):
    # a call cut off mid-run by a lost worker runs again only then.
    idempotent: bool = False


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required),
            "additionalProperties": False}


_ID = {"type": "string", "description": "The robot's id (a UUID)"}
_ROBOT_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "description": {"type": "string", "maxLength": 100_000},
    "playbook": {"type": "string", "maxLength": 100_000,
                 "description": "The robot's instructions (its system prompt)"},
    "model": {"type": "string", "description": "provider/model, e.g. openai/gpt-4o"},
    "tools": {"type": "array", "items": {"type": "string"},
              "description": "Tool ids, from robot_list's tool catalogue"},
}


def _native(id: str, name: str, description: str, schema: dict[str, Any], *,
            idempotent: bool, requires_confirmation: bool = False) -> ToolInfo:
    return ToolInfo(id=id, callable_name=id, name=name, description=description,
                    source="native", available=True,
                    requires_confirmation=requires_confirmation, input_schema=schema,
                    idempotent=idempotent)


NATIVE_TOOLS: tuple[ToolInfo, ...] = (
    _native("current_time", "Current time",
            "The current date and time in UTC, as ISO 8601.", _object({}), idempotent=True),
    _native("robot_list", "List robots", "The team's robots: id, name, description, model.",
            _object({"page": {"type": "integer", "minimum": 1}}), idempotent=True),
    _native("robot_get", "Get a robot", "One robot in full: playbook, model and tools.",
            _object({"robot_id": _ID}, ("robot_id",)), idempotent=True),
    _native("robot_create", "Create a robot",
            "Create a robot (needs the MANAGE_ROBOTS permission).",
            _object(_ROBOT_FIELDS, ("name", "playbook")), idempotent=False),
    _native("robot_update", "Update a robot",
            "Change some of a robot's fields (needs the MANAGE_ROBOTS permission).",
            _object({"robot_id": _ID, **_ROBOT_FIELDS}, ("robot_id",)), idempotent=False),
    _native("robot_delete", "Delete a robot",
            "Delete a robot (needs MANAGE_ROBOTS and a person's approval).",
            _object({"robot_id": _ID}, ("robot_id",)), idempotent=False,
            requires_confirmation=True),
    _native("robot_switch", "Switch robot",
            "Hand this conversation to another robot: it answers from the next step on.",
            _object({"robot_id": _ID}, ("robot_id",)), idempotent=True),
    _native("session_search", "Search conversations",
            "Full-text search over the team's conversations; returns matching messages.",
            _object({"query": {"type": "string", "minLength": 1, "maxLength": 1000},
                     "language": {"type": "string", "description":
                                  "A text-search language such as english, german, simple"},
                     "limit": {"type": "integer", "minimum": 1, "maximum": 50}},
                    ("query",)), idempotent=True),
    _native("session_get", "Get a conversation",
            "A conversation's name and its latest messages (this one if no id is given).",
            _object({"session_id": {"type": "string"},
                     "limit": {"type": "integer", "minimum": 1, "maximum": 50}}),
            idempotent=True),
    _native("session_rename", "Rename this conversation", "Give this conversation a name.",
            _object({"name": {"type": "string", "minLength": 1, "maxLength": 200}},
                    ("name",)), idempotent=True),
)

TOOLS: dict[str, ToolInfo] = {t.id: t for t in NATIVE_TOOLS}
TOOL_IDS = frozenset(TOOLS)


def client_tools_problem(tools: list[dict[str, Any]]) -> str | None:
    """Why a robot's client tools cannot be offered to a model, or None: each name once and
    not a native tool's, each input schema a valid JSON Schema for an object."""
    names = [t["name"] for t in tools]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        return f"client tool names must differ: {', '.join(doubled)}"
    clash = sorted(set(names) & {t.callable_name for t in TOOLS.values()})
    if clash:
        return f"client tools may not take a native tool's name: {', '.join(clash)}"
    for tool in tools:
        schema = tool.get("input_schema") or {}
        if schema.get("type") != "object":
            return f"client tool {tool['name']}: input_schema must have type 'object'"
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            return f"client tool {tool['name']}: input_schema is not valid: {exc.message}"
    return None

