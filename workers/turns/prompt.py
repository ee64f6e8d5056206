"""What the model is asked: the system prompt (the robot's playbook, or the session's system
template rendered) and the conversation so far, fitted to the session's token budget, which
the system prompt counts against too. With context_overflow "adaptive" and a summary, the
summary stands in for the messages it covers (workers/turns/summary_plan.py makes it)."""

from __future__ import annotations

import json
import re
from itertools import chain
from operator import itemgetter
from typing import NamedTuple

from app.adapters.llm import (
    ModelRequest,
    PromptFile,
    PromptMessage,
    PromptToolCall,
    PromptToolResult,
    ToolSpec,
)
from app.domain.events import Part
from app.domain.robots import Robot
from app.domain.session import Message, SessionSettings, SessionState, Turn
from app.domain.steps import message_parts
from app.domain.templates import ENVIRONMENT
from app.domain.tool_catalog import NO_TOOLS, ToolCatalog
from workers.turns.per_message import PerMessage
from workers.turns.settled_prefix import SettledPrefixes

# A rough count is enough to fit a budget: about four characters a token, plus framing.
CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4
# What a file counts against the budget: about what Anthropic charges for an image of the
# largest size it takes unscaled (~1.15 megapixels). An image's size and a PDF's pages are
# not known without the bytes; a rough count is enough here too.
TOKENS_PER_FILE = 1600
SUMMARY_HEADING = "Summary of the conversation so far:"


class PromptError(Exception):
    """The session's settings make a prompt impossible; the message says which and why."""


def text_of(parts: list[Part]) -> str:
    return "".join(p.get("text", "") for p in parts if p.get("type") == "text")


def files_of(parts: list[Part]) -> list[PromptFile]:
    """A user message's file parts; a stored file is named by its digest (`url`), its bytes
    loaded only for the model call (workers/turns/files.py)."""
    return [PromptFile(media_type=str(p.get("mediaType", "")), url=str(p.get("url", "")),
                       filename=p.get("filename"))
            for p in parts if p.get("type") == "file"]


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + TOKENS_PER_MESSAGE


def system_tokens(system: str) -> int:
    return estimate_tokens(system) if system else 0


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


class Entry(NamedTuple):
    """A unit of the conversation and the stored message it comes from."""

    message_id: str
    unit: Unit


class History(NamedTuple):
    system: str  # the system prompt, with the summary when one stands in for messages
    messages: list[PromptMessage]
    truncated: int  # messages the budget left out (beyond those a summary covers)


def history(state: SessionState, turn: Turn, system: str) -> History:
    """The conversation this turn answers, up to its question (not later queued ones), then
    the steps it has taken so far. With "adaptive", a summary stands in for the messages it
    covers; the oldest of the rest are dropped when the token budget (the system prompt
    counted) asks for it; a reply's tool calls and their results are never split."""
    summary, entries = in_summary(state, conversation(state, turn.message_id))
    system = with_summary(system, summary, state.settings)
    ongoing = _assistant(message_parts(turn)) if turn.steps else []
    kept = _fit(state, entries, system_tokens(system), ongoing)
    # chain and itemgetter keep this flattening of ~2,000 entries out of Python bytecode.
    messages = [*chain.from_iterable(map(itemgetter(1), kept)), *ongoing]
    return History(system=system, messages=messages, truncated=len(entries) - len(kept))


def conversation(state: SessionState, until: str | None = None, *,
                 settled: bool = False) -> list[Entry]:
    """The conversation as prompts hold it: each question followed by its reply (a queued
    question's reply came later in the log, but belongs right after it), through the
    question `until`. `settled`: only what no turn may change any more, up to the question
    of the first turn not finished."""
    return _settled_prefixes.conversation(state, until, settled)


def _walk(state: SessionState, until: str | None, settled: bool) -> list[Entry]:
    """`conversation`, walked message by message. Reads only `messages` and `turns`: the
    settled start of a long session is walked once and kept (settled_prefix.py)."""
    reply_of = {t.message_id: t.turn_id for t in state.turns}
    replies = {m.turn_id: m for m in state.messages if m.role == "assistant" and m.turn_id}
    paired = {reply_of[m.id] for m in state.messages
              if m.role == "user" and m.id in reply_of} & set(replies)
    unfinished = {t.turn_id for t in state.turns if not t.finished} if settled else set()
    entries: list[Entry] = []
    for message in state.messages:
        if message.role == "assistant":
            if message.turn_id not in paired and message.turn_id not in unfinished:
                entries.append(_entry(message))  # e.g. a fork's
            continue
        if reply_of.get(message.id) in unfinished:
            break
        entries.append(_entry(message))
        if message.id == until:
            break
        answered = reply_of.get(message.id)
        if answered in paired:
            entries.append(_entry(replies[answered]))
    return [e for e in entries if e.unit]


def _entry_of(message: Message) -> Entry:
    if message.role == "assistant":
        return Entry(message.id, _assistant(message.parts))
    text, files = text_of(message.parts), files_of(message.parts)
    return Entry(message.id,
                 [PromptMessage(role="user", text=text, files=files)] if text or files else [])


# Each stored message's entry, made once (workers/turns/per_message.py): shared, never changed.
_entry = PerMessage(_entry_of)
_settled_prefixes = SettledPrefixes(_walk)


def in_summary(state: SessionState, entries: list[Entry]) -> tuple[str | None, list[Entry]]:
    """With "adaptive" and a summary (the latest automatic one, or one set by hand since):
    the summary and the entries after the messages the automatic one covers. Otherwise no
    summary, and every entry."""
    summary = state.settings.summary
    if state.settings.context_overflow != "adaptive" or not summary:
        return None, entries
    covered = state.summarised
    ids = [e.message_id for e in entries]
    if covered is not None and covered.last_message_id in ids:
        return summary, entries[ids.index(covered.last_message_id) + 1:]
    return summary, entries


# A template that reads the session's summary (`session.summary`, `session['summary']`).
_PLACES_SUMMARY = re.compile(r"""session\s*(?:\.\s*summary\b|\[\s*['"]summary['"]\s*\])""")


def with_summary(system: str, summary: str | None, settings: SessionSettings) -> str:
    """The system prompt followed by the summary, unless the session's own template places
    `session.summary` itself."""
    template = settings.system_template
    if summary is None or (template and settings.render_templates
                           and _PLACES_SUMMARY.search(template)):
        return system
    block = f"{SUMMARY_HEADING}\n{summary}"
    return f"{system}\n\n{block}" if system else block


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


def cost(unit: Unit) -> int:
    return sum(estimate_tokens(m.text + "".join(c.arguments for c in m.tool_calls)
                               + "".join(r.output for r in m.tool_results))
               + len(m.files) * TOKENS_PER_FILE for m in unit)


def _fit(state: SessionState, entries: list[Entry], reserved: int,
         ongoing: Unit) -> list[Entry]:
    """The newest entries that fit the budget beside `reserved` tokens (the system prompt)
    and the turn's own steps; the newest one always, however long."""
    budget = state.settings.token_budget
    if budget is None:
        return entries
    kept: list[Entry] = []
    used = reserved + cost(ongoing)
    for entry in reversed(entries):
        price = cost(entry.unit)
        if used + price > budget and kept:
            if state.settings.context_overflow is None:
                raise PromptError(
                    f"the conversation and system prompt need more than its token_budget of"
                    f" {budget} tokens; raise the budget or set context_overflow to"
                    " 'truncate' or 'adaptive'")
            break
        kept.append(entry)
        used += price
    kept.reverse()
    # A conversation starts with the user: drop a leading reply left over by the cut.
    while len(kept) > 1 and kept[0].unit[0].role != "user":
        kept.pop(0)
    return kept


def tool_specs(catalog: ToolCatalog) -> list[ToolSpec]:
    """Exactly the robot's tools (its catalog), as the model sees them."""
    return [ToolSpec(name=t.callable_name, description=t.description,
                     input_schema=t.input_schema) for t in catalog.tools.values()]


class Built(NamedTuple):
    request: ModelRequest
    history_truncated: int  # messages the budget left out (StepCompleted says so)


def build(state: SessionState, turn: Turn, robot: Robot, model: str, max_tokens: int = 4096,
          *, catalog: ToolCatalog = NO_TOOLS) -> Built:
    """The model call for the turn's next step, offering the tools of `catalog` (the
    robot's, loaded for this attempt), and how much history the budget left out. The
    robot's model options win over `max_tokens`."""
    fitted = history(state, turn, system_prompt(state, robot))
    options = robot.model_options
    request = ModelRequest(model=model, system=fitted.system, messages=fitted.messages,
                           max_tokens=options.max_tokens or max_tokens, tools=tool_specs(catalog),
                           temperature=options.temperature,
                           reasoning_effort=options.reasoning_effort)
    return Built(request, fitted.truncated)


def build_request(state: SessionState, turn: Turn, robot: Robot, model: str,
                  max_tokens: int = 4096, *, catalog: ToolCatalog = NO_TOOLS) -> ModelRequest:
    """`build`'s request alone."""
    return build(state, turn, robot, model, max_tokens, catalog=catalog).request
