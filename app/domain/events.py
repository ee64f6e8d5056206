"""Every event a session stream can hold. Frozen, past tense, never edited once shipped.

Timestamps come from the log (`recorded_at`), not from the events, so deciders stay pure.
Message parts are stored as the AI SDK's UI message parts (`{"type": "text", "text": ...}`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from app.eventstore import Event, EventRegistry

Part = dict[str, Any]
Multitask = Literal["reject", "enqueue", "interrupt"]


def session_stream(session_id: str) -> str:
    return f"session-{session_id}"


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    input_tokens: int = 0
    output_tokens: int = 0


class SessionStarted(Event, frozen=True):
    session_id: str
    created_by: str | None = None
    name: str | None = None
    metadata: dict[str, Any] = {}


class SessionRenamed(Event, frozen=True):
    session_id: str
    name: str


class SessionDeleted(Event, frozen=True):
    session_id: str


class RecallOptions(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """Julep's recall options: how a session searches its own history."""

    mode: Literal["vector", "text", "hybrid"] = "hybrid"
    limit: Annotated[int, msgspec.Meta(ge=1, le=50)] = 10
    num_search_messages: Annotated[int, msgspec.Meta(ge=1, le=50)] = 4
    max_query_length: Annotated[int, msgspec.Meta(ge=100, le=10_000)] = 1000
    confidence: Annotated[float, msgspec.Meta(ge=-1, le=1)] = 0.5
    alpha: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.5
    mmr_strength: Annotated[float, msgspec.Meta(ge=0, lt=1)] = 0.5
    lang: str = "en-US"
    metadata_filter: dict[str, Any] = {}


ContextOverflow = Literal["truncate", "adaptive"]


class SessionSettingsChanged(Event, frozen=True):
    """Only the fields that changed are present; null clears a setting."""

    session_id: str
    name: str | msgspec.UnsetType = msgspec.UNSET
    situation: str | msgspec.UnsetType | None = msgspec.UNSET
    system_template: str | msgspec.UnsetType | None = msgspec.UNSET
    render_templates: bool | msgspec.UnsetType = msgspec.UNSET
    token_budget: int | msgspec.UnsetType | None = msgspec.UNSET
    context_overflow: ContextOverflow | msgspec.UnsetType | None = msgspec.UNSET
    recall_options: RecallOptions | msgspec.UnsetType | None = msgspec.UNSET
    metadata: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    summary: str | msgspec.UnsetType | None = msgspec.UNSET
    auto_run_tools: bool | msgspec.UnsetType = msgspec.UNSET
    forward_tool_calls: bool | msgspec.UnsetType = msgspec.UNSET

    def changes(self) -> dict[str, Any]:
        return {
            f: v
            for f in self.__struct_fields__
            if f != "session_id" and (v := getattr(self, f)) is not msgspec.UNSET
        }


class SessionForked(Event, frozen=True):
    """This session began as a copy of another's history up to one of its messages."""

    session_id: str
    from_session_id: str
    at_message_id: str
    at_version: int
    robot_id: str | None = None  # the robot the source session had; the fork keeps it


class MessagePosted(Event, frozen=True):
    session_id: str
    message_id: str  # the client's id: posting it again is a retry, not a new message
    parts: list[Part]
    author_id: str | None = None
    role: Literal["user"] = "user"


class TurnRequested(Event, frozen=True):
    session_id: str
    turn_id: str
    message_id: str  # the user message this turn answers
    robot_id: str
    requested_by: str | None = None
    multitask: Multitask = "reject"
    # A regenerate: this turn answers the message again, and its answer replaces the one
    # of that turn in the session's messages (the old one stays in the log).
    regenerates: str | None = None


class TurnStarted(Event, frozen=True):
    turn_id: str
    attempt: int
    worker_id: str
    robot_id: str
    robot_name: str
    model: str
    playbook_digest: str  # which playbook answered, without copying it into every turn


class ToolCall(msgspec.Struct, frozen=True, kw_only=True):
    """A tool call the model asked for in a step."""

    call_id: str
    name: str
    arguments: str  # the JSON text as the model sent it (it may not parse)
    # Why the call cannot run as asked (unparseable or invalid input, unknown tool); the
    # model gets this as the call's error result and may try again.
    input_error: str | None = None


class StepCompleted(Event, frozen=True):
    """A model step finished; recorded before any of its tool calls run, so a retried
    attempt never asks the model for this step again."""

    turn_id: str
    attempt: int
    step: int  # 1, 2, 3... within the turn
    parts: list[Part]  # the step's UI message parts, starting with `step-start`
    tool_calls: list[ToolCall] = []
    usage: Usage = Usage()
    finish_reason: str = "stop"
    # Messages of the history the token budget left out of this step's prompt (beyond what
    # a summary stands for): with "adaptive", a summary that was not ready yet.
    history_truncated: int = 0


class ToolCallStarted(Event, frozen=True):
    """A tool is about to run. A start with no completion after it means the tool may
    have run: only an idempotent tool is run again."""

    turn_id: str
    attempt: int
    call_id: str
    name: str


# "denied": a person said no to the call (or no one answered in time); the model is told.
ToolOutcome = Literal["output", "error", "denied"]


class ToolCallCompleted(Event, frozen=True):
    """A tool call's result, given to the model before its next step."""

    turn_id: str
    attempt: int
    call_id: str
    name: str
    outcome: ToolOutcome
    output: dict[str, Any] | None = None  # with "output"
    error: str | None = None  # with "error"


class RobotSwitched(Event, frozen=True):
    """From here on (the turn's next steps and later turns) another robot answers."""

    session_id: str
    robot_id: str
    turn_id: str | None = None
    switched_by: str | None = None


class TurnCancelRequested(Event, frozen=True):
    turn_id: str
    requested_by: str | None = None
    reason: Literal["cancel", "interrupt"] = "cancel"


class AssistantMessageCompleted(Event, frozen=True):
    turn_id: str
    message_id: str
    parts: list[Part]
    robot_id: str
    robot_name: str
    model: str
    usage: Usage = Usage()


WaitKind = Literal["approval", "client"]


class AwaitedCall(msgspec.Struct, frozen=True, kw_only=True):
    """A call the turn waits on: a person's approval before it runs, or the client's
    output (a tool only the client runs)."""

    call_id: str
    name: str
    kind: WaitKind
    approval_id: str | None = None  # with "approval": what the client answers to


class TurnBeganWaiting(Event, frozen=True):
    """The turn stopped until each call is answered (or the wait times out). Its stream
    ends here; the answer continues the same assistant message on a new one."""

    turn_id: str
    attempt: int
    calls: list[AwaitedCall]


class ToolApprovalAnswered(Event, frozen=True):
    turn_id: str
    call_id: str
    approval_id: str
    approved: bool
    reason: str | None = None
    answered_by: str | None = None


class TurnResumed(Event, frozen=True):
    """Every awaited call has its answer: the turn runs again (its next stream segment)."""

    turn_id: str
    resumed_by: str | None = None


class SessionSummarised(Event, frozen=True):
    """The conversation from its first message through `last_message_id` (`messages` of
    them, in the order prompts hold them) summarised by `model`, in the background. With
    context_overflow "adaptive", prompts hold `summary` in place of those messages; it is the
    session's `summary` until the next one or a PATCH."""

    session_id: str
    summary: str
    first_message_id: str
    last_message_id: str
    messages: int
    model: str


class SessionNamed(Event, frozen=True):
    """The robot named the session: a short title its `model` gave for the first exchange
    (asked beside the turn `turn_id`). A name a person gave (at the start, by PATCH, through
    the session_rename tool) is never replaced by one."""

    session_id: str
    name: str
    robot_id: str
    turn_id: str
    model: str


class TurnCompleted(Event, frozen=True):
    turn_id: str
    attempt: int
    finish_reason: str
    usage: Usage = Usage()
    time_to_first_token_ms: float | None = None
    duration_ms: float | None = None


class TurnFailed(Event, frozen=True):
    turn_id: str
    attempt: int
    error: str


class TurnCancelled(Event, frozen=True):
    turn_id: str
    attempt: int
    reason: str = "cancelled"


registry = EventRegistry(
    SessionStarted,
    SessionRenamed,
    SessionDeleted,
    SessionSettingsChanged,
    SessionForked,
    MessagePosted,
    TurnRequested,
    TurnStarted,
    TurnCancelRequested,
    StepCompleted,
    ToolCallStarted,
    ToolCallCompleted,
    RobotSwitched,
    AssistantMessageCompleted,
    TurnCompleted,
    TurnFailed,
    TurnCancelled,
    TurnBeganWaiting,
    ToolApprovalAnswered,
    TurnResumed,
    SessionSummarised,
    SessionNamed,
)
