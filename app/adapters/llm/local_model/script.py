"""What the local model answers: scripts, presets and the default deterministic reply.

A `Script` says how one request is answered (text, reasoning, tool calls, pacing, usage and
failure modes); `plan.plan_reply` turns it and the prompt into the exact tokens the wire
encoders stream. Everything here is pure, so tests can predict every byte the server sends.
"""

from __future__ import annotations

import re
from typing import Literal

from msgspec import Struct

FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]

DEFAULT_TOKENS = 32
"""How many tokens (whitespace-separated words) the default reply has."""

_ECHO_WORDS = 16  # the default reply quotes at most this many words of the prompt
_FILLER = (
    "robots answer questions for the team while the local model keeps every reply "
    "deterministic so tests and offline development see the same words each time"
).split()


class ScriptedToolCall(Struct, frozen=True, kw_only=True):
    """A tool call the model makes; `arguments` (its full text: JSON, or on purpose not) streams
    in `pieces` deltas. With no `call_id`, one is made from the call's place in the request."""

    name: str
    arguments: str = "{}"
    call_id: str | None = None
    pieces: int = 4


class Script(Struct, frozen=True, kw_only=True):
    """How the local model answers one request. Every field has an offline-friendly default.

    text: the reply; None (with no `tool_calls`) lets the model answer by itself: its tool
        habits (`habits.habit_for`), else the default reply to the last user message
        (`default_reply`). None with `tool_calls`: the default reply, then those calls.
    tokens: length of the default reply when `text` is None (None: `DEFAULT_TOKENS`).
    reasoning: thinking text streamed before the reply (Anthropic thinking blocks,
        OpenAI-compatible `reasoning_content`).
    tool_calls: tool calls streamed after the text; the finish reason becomes tool calls.
    tokens_per_second: pacing of token deltas; 0 streams as fast as possible.
    time_to_first_token_s: pause before the first token delta.
    input_tokens / output_tokens: usage to report; None counts words.
    finish_reason: override the derived finish reason (OpenAI spelling).
    fail_status: answer with this HTTP error status instead (e.g. 500, 401, 529).
    rate_limit: answer the first K requests given this script with 429, then succeed.
    retry_after_s: the `retry-after` sent with a 429 (also as `retry-after-ms`).
    cut_after: close the connection after this many token deltas, mid-stream.
    hang: accept the request and never answer (until the client goes or the server stops).
    """

    text: str | None = None
    tokens: int | None = None
    reasoning: str | None = None
    tool_calls: tuple[ScriptedToolCall, ...] = ()
    tokens_per_second: float = 0.0
    time_to_first_token_s: float = 0.0
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: FinishReason | None = None
    fail_status: int | None = None
    fail_message: str = "the local model server was scripted to fail this request"
    rate_limit: int = 0
    retry_after_s: float = 1.0
    cut_after: int | None = None
    hang: bool = False


DEFAULT_MODEL = "echo"
"""The model name that always gets the server's default script."""

PRESETS: dict[str, Script] = {
    "slow": Script(tokens=64, tokens_per_second=20.0, time_to_first_token_s=0.3),
    "thinking": Script(reasoning="The user wrote to me. I will answer them politely."),
    "long": Script(tokens=1000),
    "error": Script(fail_status=500),
    "hang": Script(hang=True),
}
"""Scripts chosen by model name (`slow`, `fake/slow`, `local/slow`: the last path part counts)."""


def preset_for_model(model: str) -> Script | None:
    """The preset script for a model name, ignoring any `provider/` prefix."""
    return PRESETS.get(model.rsplit("/", 1)[-1])


def split_tokens(text: str) -> list[str]:
    """Split text into word tokens, each with its leading whitespace, losing nothing.

    `"".join(split_tokens(t)) == t` for every `t`; trailing whitespace rides on the last token.
    """
    tokens = re.findall(r"\s*\S+", text)
    rest = text[sum(map(len, tokens)) :]
    if not tokens:
        return [text] if text else []
    tokens[-1] += rest
    return tokens


def split_pieces(text: str, pieces: int) -> list[str]:
    """Split text into at most `pieces` non-empty parts of near-equal length, in order."""
    if not text:
        return []
    count = max(1, min(pieces, len(text)))
    size, extra = divmod(len(text), count)
    parts, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        parts.append(text[start:end])
        start = end
    return parts


def default_reply(prompt: str, tokens: int = DEFAULT_TOKENS) -> str:
    """The reply the local model gives to `prompt` when no script says otherwise.

    "Hello! You said: <first words of the prompt>." followed by filler words, exactly
    `tokens` words long (cut short if the quote alone is longer).
    """
    words = prompt.split()
    quoted = " ".join(words[:_ECHO_WORDS]) + (" ..." if len(words) > _ECHO_WORDS else "")
    head = f"Hello! You said: {quoted}." if words else "Hello! You said nothing."
    reply = head.split()
    start = len(prompt) % len(_FILLER)
    i = 0
    while len(reply) < tokens:
        reply.append(_FILLER[(start + i) % len(_FILLER)])
        i += 1
    return " ".join(reply[:tokens])
