"""What the local model does by itself (tools, summaries, names) when no script says what to
answer.

So that an offline run shows a whole tool round trip: asked about the time with a
`current_time` tool on offer, it calls the tool; given tool results, it quotes them. Asked to
summarise (a session's history, context_overflow "adaptive"), it answers with the first words
of each line it was given; asked to name a conversation, with its first few content words,
capitalised; sent images or documents, it says what it sees of them (their types and
sizes) before its default reply. Everything is derived from the request alone, so the same
request gets the same answer.
"""

from __future__ import annotations

import re

from msgspec import Struct

from app.adapters.llm.local_model.conversation import Prompt, SeenFile, SeenToolResult
from app.adapters.llm.local_model.script import ScriptedToolCall, default_reply

CLOCK_TOOL = "current_time"
_TIME = re.compile(r"\btime\b", re.IGNORECASE)
SUMMARY_WORDS = 6  # of each line a summary quotes
TITLE_WORDS = 4  # of the words a name is made of
_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
# Words that say little of what a conversation is about: a name leaves them out.
_SMALL_WORDS = frozenset("""
a an the and or but if of to in on at for with by from about as into than then so not no
is are was were be been am do does did can could would should will shall might must
i me my we us our you your he she it its they them their this that these those there here
what which who whom whose how why when where please hi hello hey thanks thank just some any
""".split())


class Habit(Struct, frozen=True):
    """An answer the model chose by itself: its text and the tool calls after it."""

    text: str
    tool_calls: tuple[ScriptedToolCall, ...] = ()


def habit_for(prompt: Prompt) -> Habit | None:
    """The model's own answer to `prompt`, or None for its default reply.

    Asked for a summary: `summary_of` the last user message; for a name: its `title_of`.
    Tool results at the end of the conversation: a sentence quoting each. The user's last
    message mentions the word "time" and `current_time` is on offer: a call of it, with `{}`
    and no text (named as plan_reply names every unscripted call). The user's last message
    carries files: `files_seen` of them, then the default reply.
    """
    if prompt.asks_for_summary:
        return Habit(text=summary_of(prompt.last_user_text))
    if prompt.asks_for_name:
        return Habit(text=title_of(prompt.last_user_text))
    if prompt.ends_with_tool_results:
        return Habit(text=" ".join(quote_result(r) for r in prompt.tool_results))
    if (prompt.last_speaker == "user" and CLOCK_TOOL in prompt.tools
            and _TIME.search(prompt.last_user_text)):
        return Habit(text="", tool_calls=(ScriptedToolCall(name=CLOCK_TOOL),))
    if prompt.last_speaker == "user" and prompt.last_user_files:
        return Habit(text=f"{files_seen(prompt.last_user_files)}"
                          f" {default_reply(prompt.last_user_text)}")
    return None


def files_seen(files: tuple[SeenFile, ...]) -> str:
    """`I see 1 image (image/png, 68 bytes) and 2 documents (application/pdf, 310 bytes;
    https://example.org/a.pdf).`: each file's type and size, or the URL it came by."""
    groups = []
    for kind in ("image", "document"):
        said = [f.url if f.url is not None else f"{f.media_type}, {f.size} bytes"
                for f in files if f.kind == kind]
        if said:
            noun = kind if len(said) == 1 else f"{kind}s"
            groups.append(f"{len(said)} {noun} ({'; '.join(said)})")
    return f"I see {' and '.join(groups)}."


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


def title_of(text: str) -> str:
    """`Plan Trip Lisbon May` for "Can you plan a trip to Lisbon in May?": its first
    TITLE_WORDS words that are not small words, each capitalised (the first words whatever
    they are when fewer than two are left); "" for a text with no words."""
    words = _WORD.findall(text)
    content = [w for w in words if w.lower() not in _SMALL_WORDS]
    chosen = (content if len(content) >= 2 else words)[:TITLE_WORDS]
    return " ".join(w[:1].upper() + w[1:] for w in chosen)
