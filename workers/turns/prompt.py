"""What the model is asked: the system prompt (the robot's playbook, or the session's system
template rendered) and the conversation so far, fitted to the session's token budget."""

from __future__ import annotations

import json

from app.adapters.llm import (
    ModelRequest,
    PromptMessage,
    PromptToolCall,
    PromptToolResult,
    ToolSpec,
)
from app.domain.events import Part
from app.domain.robots import Robot
from app.domain.session import SessionState, Turn
from app.domain.steps import message_parts
from app.domain.templates import ENVIRONMENT
from app.domain.tool_catalog import NO_TOOLS, ToolCatalog

# A rough count is enough to fit a budget: about four characters a token, plus framing.
CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4


class PromptError(Exception):
    """The session's settings make a prompt impossible; the message says which and why."""


def text_of(parts: list[Part]) -> str:
    return "".join(p.get("text", "") for p in parts if p.get("type") == "text")


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + TOKENS_PER_MESSAGE


def system_prompt(state: SessionState, robot: Robot) -> str:
    """The session's system template if it has one (rendered unless render_templates is
    off), else the robot's playbook followed by the session's situation."""
    settings = state.settings
    if settings.system_template:
        if not settings.render_templates:
            return settings.system_template
        context = {
            "robot": {"name": robot.name, "description": robot.description,
                      "playbook": robot.playbook},
            "session": {"name": state.name, "situation": settings.situation,
                        "metadata": settings.metadata, "summary": settings.summary},
        }
        try:
            return ENVIRONMENT.from_string(settings.system_template).render(context)
        except Exception as exc:  # a user's template can fail in any way; say so, don't crash
            raise PromptError(f"the session's system_template failed to render: {exc}") from None
    if settings.situation:
        return f"{robot.playbook}\n\nSituation: {settings.situation}"
    return robot.playbook


Unit = list[PromptMessage]  # messages that stay together when the budget cuts


def history(state: SessionState, turn: Turn) -> list[PromptMessage]:
    """The conversation this turn answers: each question followed by its reply (a queued
    question's reply came later in the log, but belongs right after it), up to the
    question of this turn (not later queued ones), then the steps this turn has taken so
    far. The oldest messages are dropped when the session's token budget asks for it;
    a reply's tool calls and their results are never split."""
    units = _earlier(state, turn)
    ongoing = _assistant(message_parts(turn)) if turn.steps else []
    return _fit(state, units, ongoing)


def _earlier(state: SessionState, turn: Turn) -> list[Unit]:
    reply_of = {t.message_id: t.turn_id for t in state.turns}
    replies = {m.turn_id: m for m in state.messages if m.role == "assistant" and m.turn_id}
    paired = {reply_of[m.id] for m in state.messages
              if m.role == "user" and m.id in reply_of} & set(replies)
    units: list[Unit] = []
    for message in state.messages:
        if message.role == "assistant":
            if message.turn_id not in paired:  # e.g. copied into a fork with its question
                units.append(_assistant(message.parts))
            continue
        if text := text_of(message.parts):
            units.append([PromptMessage(role="user", text=text)])
        if message.id == turn.message_id:
            break
        answered = reply_of.get(message.id)
        if answered in paired:
            units.append(_assistant(replies[answered].parts))
    return [u for u in units if u]


def _assistant(parts: list[Part]) -> Unit:
    """A reply as the model wrote it: per step, its text and tool calls, then the calls'
    results."""
    out: Unit = []
    for step in _steps(parts):
        calls, results = [], []
        for part in step:
            if part.get("type") == "dynamic-tool" or str(part.get("type")).startswith("tool-"):
                call, result = _call_and_result(part)
                calls.append(call)
                results.append(result)
        text = text_of(step)
        if text or calls:
            out.append(PromptMessage(role="assistant", text=text, tool_calls=calls))
        if results:
            out.append(PromptMessage(role="tool", tool_results=results))
    return out


def _steps(parts: list[Part]) -> list[list[Part]]:
    steps: list[list[Part]] = [[]]
    for part in parts:
        if part.get("type") == "step-start":
            if steps[-1]:
                steps.append([])
            continue
        steps[-1].append(part)
    return steps


def _call_and_result(part: Part) -> tuple[PromptToolCall, PromptToolResult]:
    call_id = str(part.get("toolCallId", ""))
    name = str(part.get("toolName") or str(part.get("type", "")).removeprefix("tool-"))
    call = PromptToolCall(call_id=call_id, name=name,
                          arguments=json.dumps(part.get("input") or {}))
    state = part.get("state")
    if state == "output-available":
        output, is_error = json.dumps(part.get("output")), False
    elif state == "output-error":
        output, is_error = str(part.get("errorText") or "failed"), True
    elif state == "output-denied":  # the model is told, with the person's reason
        reason = (part.get("approval") or {}).get("reason")
        output = "the call was not run: it was denied" + (f" ({reason})" if reason else "")
        is_error = True
    else:  # a call the turn never finished (it was cancelled or failed first)
        output, is_error = "the call was not completed", True
    return call, PromptToolResult(call_id=call_id, name=name, output=output, is_error=is_error)


def _cost(unit: Unit) -> int:
    return sum(estimate_tokens(m.text + "".join(c.arguments for c in m.tool_calls)
                               + "".join(r.output for r in m.tool_results)) for m in unit)


def _fit(state: SessionState, units: list[Unit], ongoing: Unit) -> list[PromptMessage]:
    budget = state.settings.token_budget
    if budget is None:
        return [m for u in units for m in u] + ongoing
    kept: list[Unit] = []
    used = _cost(ongoing)
    for unit in reversed(units):
        cost = _cost(unit)
        if used + cost > budget and kept:
            if state.settings.context_overflow is None:
                raise PromptError(
                    f"the conversation needs more than its token_budget of {budget} tokens;"
                    " raise the budget or set context_overflow to 'truncate'")
            break
        kept.append(unit)
        used += cost
    kept.reverse()
    # A conversation starts with the user: drop a leading reply left over by the cut.
    while len(kept) > 1 and kept[0][0].role != "user":
        kept.pop(0)
    return [m for u in kept for m in u] + ongoing


def tool_specs(catalog: ToolCatalog) -> list[ToolSpec]:
    """Exactly the robot's tools (its catalog), as the model sees them."""
    return [ToolSpec(name=t.callable_name, description=t.description,
                     input_schema=t.input_schema) for t in catalog.tools.values()]


def build_request(state: SessionState, turn: Turn, robot: Robot, model: str,
                  max_tokens: int = 4096, *, catalog: ToolCatalog = NO_TOOLS) -> ModelRequest:
    """The model call for the turn's next step, offering the tools of `catalog` (the
    robot's, loaded for this attempt)."""
    return ModelRequest(model=model, system=system_prompt(state, robot),
                        messages=history(state, turn), max_tokens=max_tokens,
                        tools=tool_specs(catalog))
