"""Sessions for the summary tests: exchanges of known size, a robot with a known playbook.

Each question and each plain reply is 17 tokens by the prompt's estimate (53 characters);
the playbook "Be fair." is 6.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from app.domain.events import (
    AssistantMessageCompleted,
    MessagePosted,
    Part,
    SessionSettingsChanged,
    SessionStarted,
    SessionSummarised,
    TurnCompleted,
    TurnRequested,
)
from app.domain.robots import Robot
from app.domain.session import SessionState, fold
from app.eventstore import Event

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ROBOT = Robot(id=uuid.uuid4(), name="Mod", description="moderates", playbook="Be fair.",
              model=None, tools=[], meta={}, author_id=None, created_at=NOW, updated_at=NOW)
SYSTEM = "Be fair."


def text(words: str) -> list[Part]:
    return [{"type": "text", "text": words}]


def sized(label: str, words: int = 10) -> str:
    return f"{label} " + "word " * words


def with_a_tool_call(i: int, output_words: int) -> list[Part]:
    """A reply that called `robot_list` (call `c<i>`), then said something."""
    return [{"type": "step-start"},
            {"type": "dynamic-tool", "toolCallId": f"c{i}", "toolName": "robot_list",
             "state": "output-available", "input": {},
             "output": {"robots": "x " * output_words}},
            {"type": "step-start"}, {"type": "text", "text": f"r{i} there are robots"}]


def question(i: int, *, words: int = 10) -> list[Event]:
    return [MessagePosted(session_id="s", message_id=f"q{i}", parts=text(sized(f"q{i}", words))),
            TurnRequested(session_id="s", turn_id=f"t{i}", message_id=f"q{i}", robot_id="r")]


def reply(i: int, parts: list[Part] | None = None) -> list[Event]:
    return [AssistantMessageCompleted(turn_id=f"t{i}", message_id=f"r{i}",
                                      parts=parts or text(sized(f"r{i}")), robot_id="r",
                                      robot_name="R", model="local/echo"),
            TurnCompleted(turn_id=f"t{i}", attempt=1, finish_reason="stop")]


def exchanges(count: int, *, start: int = 0, tools: int | None = None) -> list[Event]:
    """`count` questions each answered; with `tools`, every reply calls a tool whose output
    has that many words."""
    events: list[Event] = []
    for i in range(start, start + count):
        parts = with_a_tool_call(i, tools) if tools is not None else None
        events += question(i) + reply(i, parts)
    return events


def adaptive(budget: int = 200, **more: Any) -> SessionSettingsChanged:
    return SessionSettingsChanged(session_id="s", token_budget=budget,
                                  context_overflow="adaptive", **more)


def summarised(last: str, messages: int, summary: str = "S1") -> SessionSummarised:
    return SessionSummarised(session_id="s", summary=summary, first_message_id="q0",
                             last_message_id=last, messages=messages, model="local/echo")


def given(*events: Event) -> SessionState:
    return fold([SessionStarted(session_id="s", name="Night shift"), *events])
