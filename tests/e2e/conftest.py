"""The AI SDK client fixtures (`ai_sdk`, parametrized over `ai` 6 and 7; `ai_sdk_project`)."""

from tests.e2e.ai_sdk_support import ai_sdk, ai_sdk_project

__all__ = ["ai_sdk", "ai_sdk_project"]
