"""Run one tool call as the turn's account, and turn whatever happens into a result the
model can read: a tool that fails, is refused or is missing never fails the turn."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec

from app.domain.events import ToolCall, ToolOutcome
from app.domain.tools import TOOLS
from app.services.tools.context import ToolContext, ToolFailed
from app.services.tools.native import NATIVE

log = logging.getLogger(__name__)

TOOL_TIMEOUT_S = 60.0


class ToolResult(msgspec.Struct, frozen=True, kw_only=True):
    outcome: ToolOutcome
    output: dict[str, Any] | None = None
    error: str | None = None


def failed(error: str) -> ToolResult:
    return ToolResult(outcome="error", error=error)


async def run_tool(ctx: ToolContext, call: ToolCall, tool_input: dict[str, Any]) -> ToolResult:
    """The call's result. Its input was checked against the tool's schema already."""
    info, native = TOOLS.get(call.name), NATIVE.get(call.name)
    if info is None or native is None:
        return failed(f"there is no tool named {call.name!r}")
    if info.requires_confirmation:
        return failed(f"{call.name} needs a person's approval before it runs, and this"
                      " service cannot ask for one yet; it was not run")
    if ctx.account is None or native.permission not in ctx.account.permissions:
        return failed(f"permission denied: {call.name} needs the {native.permission}"
                      " permission, which the account this turn acts for does not have")
    try:
        output = await asyncio.wait_for(native.run(ctx, tool_input), TOOL_TIMEOUT_S)
    except ToolFailed as exc:
        return failed(str(exc))
    except TimeoutError:
        return failed(f"{call.name} did not finish within {TOOL_TIMEOUT_S:.0f} s")
    except Exception as exc:  # a tool's bug is the model's error result, not a dead turn
        log.exception("tool %s failed (turn %s)", call.name, ctx.turn_id)
        return failed(f"{call.name} failed: {type(exc).__name__}: {exc}")
    return ToolResult(outcome="output", output=output)
