"""Robots: named configurations of a model, a playbook and tools."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

DEFAULT_ROBOT_ID = uuid.UUID("00000000-0000-0000-0000-000000000001")


class ClientTool(msgspec.Struct, frozen=True, kw_only=True):
    """A robot's tool that only the client runs: a call waits for the client's output (the
    AI SDK's `addToolOutput`), the server never runs it."""

    name: str
    description: str = ""
    input_schema: dict[str, Any] = msgspec.field(
        default_factory=lambda: {"type": "object", "properties": {}})


class Robot(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    description: str
    playbook: str
    model: str | None  # None: the configured default model
    tools: list[str]
    meta: dict[str, Any]
    author_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    max_steps: int = 20  # model steps a turn may take before it stops (a tool loop ends)
    client_tools: list[ClientTool] = []
    # Tool ids whose calls wait for a person's approval (beyond those that always do).
    tools_requiring_approval: list[str] = []
