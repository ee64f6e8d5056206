"""What the local model knows of a request: the conversation, whichever dialect carried it.

Each wire reads its own messages into the same few things said (a user's text, an
assistant's text and tool calls, a tool's result); `prompt_of` sums them up into the
`Prompt` that planning reads.
"""

from __future__ import annotations

import re
from typing import Literal

from msgspec import Struct

Speaker = Literal["user", "assistant", "tool"]
FileKind = Literal["image", "document"]

# A request whose instructions (the system text) begin by asking for a summary, or for a
# conversation's name (workers/turns/naming.py).
_ASKS_FOR_SUMMARY = re.compile(r"\s*summari[sz]e\b", re.IGNORECASE)
_ASKS_FOR_NAME = re.compile(r"\s*name this conversation\b", re.IGNORECASE)


class SeenFile(Struct, frozen=True, kw_only=True):
    """A file in a user message: an image or a document (a PDF), its bytes counted, or the
    URL it was sent by (neither dialect says a URL's type)."""

    kind: FileKind
    media_type: str = ""
    size: int | None = None
    url: str | None = None


class UserSaid(Struct, frozen=True):
    text: str
    files: tuple[SeenFile, ...] = ()


class AssistantSaid(Struct, frozen=True):
    text: str
    calls: dict[str, str] = {}  # call id -> tool name, for naming the results that follow


class ToolAnswered(Struct, frozen=True):
    call_id: str
    output: str
    is_error: bool = False


Said = UserSaid | AssistantSaid | ToolAnswered


class SeenToolResult(Struct, frozen=True):
    """A tool's result in the request; `name` is "" when no earlier call had its id."""

    call_id: str
    name: str
    output: str
    is_error: bool = False


class Prompt(Struct, frozen=True):
    """What the server needs to know of a request to plan its answer.

    `tools`: the names of the tools the request offers. `last_speaker`: who said the last
    thing ("tool": the conversation ends with tool results; None: nothing was said).
    `tool_results`: the results after the last user message, in order. `said`: how many
    things were said, counted alike in both dialects (each tool result counts once).
    `asks_for_summary`: the system text begins with "Summarise" (or "Summarize").
    `asks_for_name`: the system text begins with "Name this conversation".
    `last_user_files`: the images and documents of the last user message.
    """

    last_user_text: str
    input_words: int
    max_tokens: int | None = None
    tools: tuple[str, ...] = ()
    last_speaker: Speaker | None = None
    tool_results: tuple[SeenToolResult, ...] = ()
    said: int = 0
    asks_for_summary: bool = False
    asks_for_name: bool = False
    last_user_files: tuple[SeenFile, ...] = ()

    @property
    def ends_with_tool_results(self) -> bool:
        return self.last_speaker == "tool"


def prompt_of(said: list[Said], *, tools: tuple[str, ...] = (), system: str = "",
              max_tokens: int | None = None) -> Prompt:
    """Sum a conversation up. Words are counted in the system text, every message's text
    and every tool output (not in tool arguments), alike in both dialects."""
    names: dict[str, str] = {}
    last_user = ""
    last_files: tuple[SeenFile, ...] = ()
    results: list[SeenToolResult] = []
    words = len(system.split())
    for item in said:
        if isinstance(item, UserSaid):
            last_user, last_files, results = item.text, item.files, []
            words += len(item.text.split())
        elif isinstance(item, AssistantSaid):
            names.update(item.calls)
            words += len(item.text.split())
        else:
            results.append(SeenToolResult(item.call_id, names.get(item.call_id, ""),
                                          item.output, item.is_error))
            words += len(item.output.split())
    return Prompt(last_user_text=last_user, input_words=words, max_tokens=max_tokens,
                  tools=tools, last_speaker=_speaker(said[-1]) if said else None,
                  tool_results=tuple(results), said=len(said),
                  asks_for_summary=_ASKS_FOR_SUMMARY.match(system) is not None,
                  asks_for_name=_ASKS_FOR_NAME.match(system) is not None,
                  last_user_files=last_files)


def _speaker(item: Said) -> Speaker:
    if isinstance(item, UserSaid):
        return "user"
    return "assistant" if isinstance(item, AssistantSaid) else "tool"
