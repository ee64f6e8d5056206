"""Summaries (context_overflow "adaptive"): whether a session needs one, which messages it
covers, and what the model is asked. Pure; workers/summaries.py runs it in the background.

A session is summarised once its next prompt (system prompt, summary, the messages since)
passes TRIGGER of its token budget: early enough that the turns after it need not wait, or
truncate, while it is made. The newest messages that fit in TARGET of the budget (beside the
system prompt and room for the summary) stay as they are; the older ones, with the summary
before them, are summarised into one text of at most SUMMARY_SHARE of the budget. The cut
falls just before a question, so a question and its reply, a tool call and its result, go
together.
"""

from __future__ import annotations

from typing import NamedTuple

from app.adapters.llm import ModelRequest, PromptMessage
from app.domain.session import SessionState
from workers.turns.prompt import (
    Entry,
    conversation,
    cost,
    in_summary,
    system_tokens,
    with_summary,
)

TRIGGER = 0.8
TARGET = 0.5
SUMMARY_SHARE = 0.25
SUMMARY_TOKENS = (32, 2048)  # the summary's length limit, whatever the budget

INSTRUCTION = (
    "Summarise the conversation below for the assistant who carries it on without seeing "
    "it. Keep the facts, names, numbers, decisions, what each person asked for, what the "
    "tools answered and what is still open; write in the conversation's language. Answer "
    "with the summary alone.")


class SummaryPlan(NamedTuple):
    previous: str | None  # the summary so far (automatic, or set by hand since)
    entries: list[Entry]  # the messages to summarise after it, oldest first
    first_message_id: str  # of the conversation: a summary covers it from the start
    last_message_id: str
    messages: int  # how many messages the new summary covers, the earlier summary's included
    max_tokens: int


def summary_tokens(budget: int) -> int:
    low, high = SUMMARY_TOKENS
    return max(low, min(high, int(budget * SUMMARY_SHARE)))


def plan_summary(state: SessionState, system: str) -> SummaryPlan | None:
    """What to summarise now, given the session's system prompt (`system`, as the prompt
    builder makes it, without the summary); None when nothing needs to be."""
    budget = state.settings.token_budget
    if state.settings.context_overflow != "adaptive" or budget is None:
        return None
    settled = conversation(state, settled=True)
    previous, fresh = in_summary(state, settled)
    reserved = system_tokens(with_summary(system, previous, state.settings))
    if reserved + sum(cost(e.unit) for e in fresh) < TRIGGER * budget:
        return None
    limit = summary_tokens(budget)
    cut = _cut(fresh, TARGET * budget - system_tokens(system) - limit)
    if cut == 0:
        return None
    return SummaryPlan(previous=previous, entries=fresh[:cut],
                       first_message_id=settled[0].message_id,
                       last_message_id=fresh[cut - 1].message_id,
                       messages=len(settled) - len(fresh) + cut, max_tokens=limit)


def _cut(entries: list[Entry], room: float) -> int:
    """How many of the oldest entries to summarise: all but the newest that fit in `room`,
    and a reply always with its question (what is kept starts with a question)."""
    kept, spent = len(entries), 0
    while kept > 0 and spent + cost(entries[kept - 1].unit) <= room:
        kept -= 1
        spent += cost(entries[kept].unit)
    while kept < len(entries) and entries[kept].unit[0].role != "user":
        kept += 1
    return kept


def summary_request(plan: SummaryPlan, model: str) -> ModelRequest:
    """The model call that summarises: the instruction, then the transcript as one user
    message (tool calls as text, so no tools need be offered)."""
    return ModelRequest(model=model, system=INSTRUCTION,
                        messages=[PromptMessage(role="user", text=transcript(plan))],
                        max_tokens=plan.max_tokens)


def transcript(plan: SummaryPlan) -> str:
    """One line per thing said: `User: ...`, `Assistant: ...`, `Assistant called tool(...)`,
    `Tool tool answered: ...`; the summary so far first."""
    lines = [f"Summary so far: {plan.previous}"] if plan.previous else []
    for entry in plan.entries:
        for message in entry.unit:
            lines += _lines(message)
    return "\n".join(lines)


def _lines(message: PromptMessage) -> list[str]:
    if message.role == "user":  # a summary says which files were sent, not what they show
        sent = "".join(f" [sent a {f.media_type} file{f' {f.filename}' if f.filename else ''}]"
                       for f in message.files)
        return [f"User: {message.text}{sent}"]
    if message.role == "assistant":
        said = [f"Assistant: {message.text}"] if message.text else []
        return said + [f"Assistant called {c.name}({c.arguments})" for c in message.tool_calls]
    return [f"Tool {r.name} {'failed' if r.is_error else 'answered'}: {r.output}"
            for r in message.tool_results]
