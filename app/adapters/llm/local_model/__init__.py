"""A local, scripted model server that speaks the OpenAI and Anthropic HTTP APIs.

Used offline (the `local` provider), in tests (real SDKs against real HTTP on loopback) and in
benchmarks (`python -m app.adapters.llm.local_model --port 8099`).
"""

from app.adapters.llm.local_model.app import LocalModelApp, ReceivedRequest
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
    "DEFAULT_MODEL",
    "DEFAULT_TOKENS",
    "PRESETS",
    "LocalModelApp",
    "LocalModelServer",
    "ReceivedRequest",
    "Script",
    "ScriptedToolCall",
    "default_reply",
    "split_tokens",
]
