"""What the local model does by itself (tools, summaries) when no script says what to answer.

So that an offline run shows a whole tool round trip: asked about the time with a
`current_time` tool on offer, it calls the tool; given tool results, it quotes them. Asked to
summarise (a session's history, context_overflow "adaptive"), it answers with the first words
of each line it was given. Everything is derived from the request alone, so the same request
gets the same answer.
"""

from __future__ import annotations

import re

from msgspec import Struct

from app.adapters.llm.local_model.conversation import Prompt, SeenToolResult
from app.adapters.llm.local_model.script import ScriptedToolCall

CLOCK_TOOL = "current_time"
_TIME = re.compile(r"\btime\b", re.IGNORECASE)
SUMMARY_WORDS = 6  # of each line a summary quotes


class Habit(Struct, frozen=True):
    """An answer the model chose by itself: its text and the tool calls after it."""

    text: str
    tool_calls: tuple[ScriptedToolCall, ...] = ()


def habit_for(prompt: Prompt) -> Habit | None:
    """The model's own answer to `prompt`, or None for its default reply.

    Asked for a summary: `summary_of` the last user message. Tool results at the end of
    the conversation: a sentence quoting each. The user's last message mentions the word
    "time" and `current_time` is on offer: a call of it, with `{}` and no text (named as
    plan_reply names every unscripted call).
    """
    if prompt.asks_for_summary:
        return Habit(text=summary_of(prompt.last_user_text))
    if prompt.ends_with_tool_results:
        return Habit(text=" ".join(quote_result(r) for r in prompt.tool_results))
    if (prompt.last_speaker == "user" and CLOCK_TOOL in prompt.tools
            and _TIME.search(prompt.last_user_text)):
        return Habit(text="", tool_calls=(ScriptedToolCall(name=CLOCK_TOOL),))
    return None


def quote_result(result: SeenToolResult) -> str:
    """`The current_time tool answered: {"now": "..."}.` (or "failed", or "answered nothing")."""
    tool = f"The {result.name or 'unknown'} tool"
    verb = "failed" if result.is_error else "answered"
    output = result.output.strip()
    return f"{tool} {verb}: {output}." if output else f"{tool} {verb} with nothing."


def summary_of(text: str) -> str:
    """`Summary: <the first SUMMARY_WORDS words of each line> / ...`: recognisable, and
    shorter than what it summarises."""
    lines = [" ".join(line.split()[:SUMMARY_WORDS]) for line in text.splitlines()]
    return "Summary: " + " / ".join(line for line in lines if line)
