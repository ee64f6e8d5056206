"""Is a tool call's input what the tool takes? Checked when the model's step ends, so a
bad call is answered with an error the model can correct, and never run."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from app.domain.tools import ToolInfo


def parse_input(name: str, arguments: str, tools: dict[str, ToolInfo]
                ) -> tuple[dict[str, Any], str | None]:
    """The call's input as an object, and why it cannot run (None when it can).

    An input that is not a JSON object is kept as `{}`: stored tool parts carry an object
    (Storyden's shape), and the error quotes what the model sent."""
    tool = tools.get(name)
    if tool is None:
        known = ", ".join(sorted(tools)) or "none"
        return as_object(arguments), f"there is no tool named {name!r} (tools: {known})"
    try:
        value = json.loads(arguments or "{}")
    except json.JSONDecodeError as exc:
        return {}, f"the input is not valid JSON ({exc.msg}): {arguments[:500]}"
    if not isinstance(value, dict):
        return {}, f"the input must be a JSON object, got: {arguments[:500]}"
    validator = jsonschema.Draft202012Validator(tool.input_schema)
    try:
        problems = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
    except Exception as exc:  # an MCP server's schema may $ref what is not there
        said = (str(exc).splitlines() or [type(exc).__name__])[0]
        return value, f"the tool's input schema cannot be checked, so it was not run: {said}"
    if problems:
        where = "/".join(str(p) for p in problems[0].path) or "input"
        return value, f"the input does not match the tool's schema: {where}: {problems[0].message}"
    return value, None


def as_object(arguments: str) -> dict[str, Any]:
    """A call's arguments as an object: `{}` when the model's text was not a JSON object
    (models do send broken JSON; stored parts and Anthropic's tool_use want an object)."""
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
