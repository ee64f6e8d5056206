"""Robots: named configurations of a model, a playbook and tools."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

DEFAULT_ROBOT_ID = uuid.UUID("00000000-0000-0000-0000-000000000001")
# A bound against typos, not a model's limit: each provider refuses what its model cannot.
MAX_OUTPUT_TOKENS = 128_000

ReasoningEffort = Literal["low", "medium", "high"]


class ClientTool(msgspec.Struct, frozen=True, kw_only=True):
    """A robot's tool that only the client runs: a call waits for the client's output (the
    AI SDK's `addToolOutput`), the server never runs it."""

    name: str
    description: str = ""
    input_schema: dict[str, Any] = msgspec.field(
        default_factory=lambda: {"type": "object", "properties": {}})


class ModelOptions(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """How a robot's model is called. None: not sent, the provider's default (for
    `max_tokens`, ours: 4,096). Each model adapter says how it sends them (README: robot
    model options)."""

    max_tokens: Annotated[int, msgspec.Meta(ge=1, le=MAX_OUTPUT_TOKENS)] | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0, le=2)] | None = None
    reasoning_effort: ReasoningEffort | None = None


MODEL_OPTION_NAMES = frozenset(ModelOptions.__struct_fields__)


class InvalidModelOptions(ValueError):
    """Options a robot cannot have: `unknown` keys (every one), or the `option` whose value
    is wrong."""

    def __init__(self, detail: str, *, option: str | None = None,
                 unknown: tuple[str, ...] = ()) -> None:
        super().__init__(detail)
        self.option = option
        self.unknown = unknown


def model_options(raw: object) -> ModelOptions:
    """`raw` (decoded JSON) as options. Raises InvalidModelOptions naming every unknown key
    (in the order sent), else the first option whose value is of the wrong type or out of
    range."""
    if not isinstance(raw, dict):
        raise InvalidModelOptions("model_options must be an object")
    unknown = tuple(str(k) for k in raw if k not in MODEL_OPTION_NAMES)
    if unknown:
        raise InvalidModelOptions(
            f"unknown model options: {', '.join(unknown)} (known:"
            f" {', '.join(sorted(MODEL_OPTION_NAMES))})", unknown=unknown)
    for key, value in raw.items():  # one at a time, so that the error names its option
        try:
            msgspec.convert({key: value}, ModelOptions)
        except msgspec.ValidationError as exc:
            said = str(exc).split(" - at ", 1)[0]
            raise InvalidModelOptions(f"model_options.{key}: {said}", option=key) from None
    return msgspec.convert(raw, ModelOptions)


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
    model_options: ModelOptions = ModelOptions()
