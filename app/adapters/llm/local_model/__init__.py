"""A local, scripted model server that speaks the OpenAI and Anthropic HTTP APIs.

Used offline (the `local` provider), in tests (real SDKs against real HTTP on loopback) and in
benchmarks (`python -m app.adapters.llm.local_model --port 8099`). Unscripted, it answers
deterministically, and calls a `current_time` tool by itself when asked the time (`habits`).
"""

from app.adapters.llm.local_model.app import LocalModelApp, ReceivedRequest
from app.adapters.llm.local_model.conversation import Prompt, SeenToolResult
from app.adapters.llm.local_model.habits import CLOCK_TOOL, quote_result, summary_of, title_of
from app.adapters.llm.local_model.script import (
    DEFAULT_MODEL,
    DEFAULT_TOKENS,
    PRESETS,
    Script,
    ScriptedToolCall,
    default_reply,
    split_tokens,
)
from app.adapters.llm.local_model.server import LocalModelServer

__all__ = [
    "CLOCK_TOOL",
    "DEFAULT_MODEL",
    "DEFAULT_TOKENS",
    "PRESETS",
    "LocalModelApp",
    "LocalModelServer",
    "Prompt",
    "ReceivedRequest",
    "Script",
    "ScriptedToolCall",
    "SeenToolResult",
    "default_reply",
    "quote_result",
    "split_tokens",
    "summary_of",
    "title_of",
]
