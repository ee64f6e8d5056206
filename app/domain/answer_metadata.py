"""What an answer carries as its AI SDK message `metadata`: the model that wrote it and the
tokens it took. The stream's `finish` part sends it (`messageMetadata`) and the stored
message holds the same (projections/messages.py), so a client's assembled message equals
the one the API serves."""

from __future__ import annotations

from typing import Any

from app.domain.events import Usage

# The finish reasons the AI SDK's `finish` chunk accepts; ours beyond them (step-limit) go
# out as "other", with our word in the message's metadata.
SDK_FINISH_REASONS = frozenset({"stop", "length", "content-filter", "tool-calls", "error",
                                "other"})


def answer_metadata(model: str | None, usage: Usage) -> dict[str, Any]:
    """`{"model": ..., "usage": {"inputTokens", "outputTokens", "totalTokens"}}`: the AI
    SDK's names for a usage."""
    return {"model": model, "usage": {
        "inputTokens": usage.input_tokens, "outputTokens": usage.output_tokens,
        "totalTokens": usage.input_tokens + usage.output_tokens}}


def finish_reason_metadata(reason: str) -> dict[str, Any]:
    """Our finish reason, where the SDK's `finishReason` cannot say it."""
    return {} if reason in SDK_FINISH_REASONS else {"finishReason": reason}
