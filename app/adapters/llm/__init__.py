"""Model providers: one streaming interface over Anthropic, OpenAI, OpenAI-compatible
servers and the offline local model.

    provider = build_provider(ProviderConfig(name="local", kind="local"))
    async for event in provider.stream(ModelRequest(model="echo", system="", messages=[...])):
        ...
    await provider.aclose()
"""

from __future__ import annotations

from app.adapters.llm.anthropic_adapter import AnthropicAdapter
from app.adapters.llm.base import (
    ModelError,
    ModelInfo,
    ModelProvider,
    ModelRequest,
    PromptFile,
    PromptMessage,
    PromptToolCall,
    PromptToolResult,
    ProviderConfig,
    ProviderKind,
    ToolSpec,
)
from app.adapters.llm.events import (
    Finished,
    ModelEvent,
    ReasoningDelta,
    TextDelta,
    ToolInputDelta,
    ToolInputEnded,
    ToolInputStarted,
    UsageReported,
)
from app.adapters.llm.local import LOCAL_MODEL, LocalProvider
from app.adapters.llm.openai_adapter import OpenAIAdapter
from app.adapters.llm.retry import Backoff


def build_provider(config: ProviderConfig, *, backoff: Backoff | None = None) -> ModelProvider:
    """The provider `config` describes. Nothing is contacted until the first call.

    `backoff` sets the waits between retries (tests make them tiny); `config.max_retries`
    sets how many.
    """
    if config.kind == "anthropic":
        return AnthropicAdapter(config, backoff=backoff)
    if config.kind in ("openai", "openai-compatible"):
        return OpenAIAdapter(config, backoff=backoff)
    if config.kind == "local":
        return LocalProvider(config, backoff=backoff)
    raise ValueError(f"unknown model provider kind {config.kind!r}")


__all__ = [
    "LOCAL_MODEL",
    "AnthropicAdapter",
    "Backoff",
    "Finished",
    "LocalProvider",
    "ModelError",
    "ModelEvent",
    "ModelInfo",
    "ModelProvider",
    "ModelRequest",
    "OpenAIAdapter",
    "PromptFile",
    "PromptMessage",
    "PromptToolCall",
    "PromptToolResult",
    "ProviderConfig",
    "ProviderKind",
    "ReasoningDelta",
    "TextDelta",
    "ToolInputDelta",
    "ToolInputEnded",
    "ToolInputStarted",
    "ToolSpec",
    "UsageReported",
    "build_provider",
]
