"""Sessions written through the event log as real chats would have written them: the one
seeding path, for bench.reads (100,000 sessions) and the API tests (tests/api/seed.py).

A seeded session is one stream: SessionStarted, then per exchange MessagePosted,
TurnRequested, TurnStarted, AssistantMessageCompleted and TurnCompleted, appended with
EventStore.append at its expected version. The read models are never written here: the
projections build them from the log, as in production, so a test that reads a seeded
session checks the very streams the benchmark measures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.domain.events import (
    AssistantMessageCompleted,
    MessagePosted,
    SessionStarted,
    TurnCompleted,
    TurnRequested,
    TurnStarted,
    Usage,
    session_stream,
)
from app.eventstore import AppendResult, Event, EventStore
from app.eventstore.store import Conn

ROBOT = ("robot-1", "Helper")  # (id, name) of the robot that answers every seeded turn
EVENTS_PER_EXCHANGE = 5
EVENTS_PER_APPEND = 1_000  # a long session is several appends, each at its expected version
USAGE = Usage(input_tokens=200, output_tokens=80)

Texts = Callable[[int], tuple[str, str]]  # exchange n -> (question, answer)


def numbered(n: int) -> tuple[str, str]:
    return f"question {n}", f"answer {n}"


def message_id(session_id: str, index: int) -> str:
    """The id of a seeded session's message `index` (0: its first): user messages and
    replies alternate."""
    turn = f"{session_id}-t{index // 2}"
    return f"{session_id}-u{index // 2}" if index % 2 == 0 else f"msg-{turn}"


def exchange(session_id: str, n: int, author: str | None, question: str,
             answer: str) -> list[Event]:
    """User message `n` and the turn that answered it."""
    turn = f"{session_id}-t{n}"
    asked, reply = message_id(session_id, 2 * n), message_id(session_id, 2 * n + 1)
    robot_id, robot_name = ROBOT
    return [
        MessagePosted(session_id=session_id, message_id=asked, author_id=author,
                      parts=[{"type": "text", "text": question}]),
        TurnRequested(session_id=session_id, turn_id=turn, message_id=asked,
                      robot_id=robot_id, requested_by=author),
        TurnStarted(turn_id=turn, attempt=1, worker_id="seed", robot_id=robot_id,
                    robot_name=robot_name, model="local/echo", playbook_digest="seed"),
        AssistantMessageCompleted(turn_id=turn, message_id=reply, robot_id=robot_id,
                                  robot_name=robot_name, model="local/echo",
                                  parts=[{"type": "text", "text": answer}], usage=USAGE),
        TurnCompleted(turn_id=turn, attempt=1, finish_reason="stop", usage=USAGE,
                      time_to_first_token_ms=120.0, duration_ms=900.0),
    ]


def session_events(session_id: str, *, author: str | None, exchanges: int = 0,
                   name: str | None = None, metadata: dict[str, Any] | None = None,
                   texts: Texts = numbered) -> list[Event]:
    """A whole session's stream; `texts` is asked for each exchange's words, in order."""
    events: list[Event] = [SessionStarted(session_id=session_id, created_by=author,
                                          name=name or session_id, metadata=metadata or {})]
    for n in range(exchanges):
        events += exchange(session_id, n, author, *texts(n))
    return events


async def seed_session(store: EventStore, session_id: str, *, author: str | None,
                       exchanges: int = 0, metadata: dict[str, Any] | None = None,
                       name: str | None = None, texts: Texts = numbered,
                       conn: Conn | None = None) -> AppendResult:
    """Append a new session with `exchanges` answered messages (on `conn`, inside the
    caller's transaction, if given); the last append's result, to wait for projections."""
    events = session_events(session_id, author=author, exchanges=exchanges, name=name,
                            metadata=metadata, texts=texts)
    stream = session_stream(session_id)
    appended = [await store.append(stream, events[at:at + EVENTS_PER_APPEND], at, conn=conn)
                for at in range(0, len(events), EVENTS_PER_APPEND)]
    return appended[-1]
