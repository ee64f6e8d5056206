"""Seed sessions through the real event log (the read models come from the projector)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

from psycopg_pool import AsyncConnectionPool

from app.domain.events import (
    AssistantMessageCompleted,
    MessagePosted,
    SessionStarted,
    TurnCompleted,
    TurnRequested,
    TurnStarted,
    registry,
    session_stream,
)
from app.eventstore import AppendResult, Event, EventStore
from app.readmodels.waiting import wait_for
from projections import all_projections
from projections.runner import ProjectionRunner


@contextlib.asynccontextmanager
async def projector(database_url: str) -> AsyncIterator[None]:
    """The projection runner on a thread and event loop of its own, as in production it is
    a process of its own. (Litestar's test client blocks the test's loop during a request,
    so a projector sharing that loop could not catch up while a handler waits for it.)"""
    stop = threading.Event()
    thread = threading.Thread(target=asyncio.run, args=(_project(database_url, stop),),
                              daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, 10)


async def _project(database_url: str, stop: threading.Event) -> None:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(database_url, min_size=1,
                                                         max_size=2, open=False)
    await pool.open()
    runner = ProjectionRunner(database_url, EventStore(pool, registry), all_projections(),
                              poll_s=0.2, standby_retry_s=0.05)
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.to_thread(stop.wait)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await pool.close()


def exchange(session_id: str, n: int, author: str | None,
             robot: tuple[str, str] = ("robot-1", "Helper")) -> list[Event]:
    """One user message and its answered turn."""
    turn = f"{session_id}-t{n}"
    return [
        MessagePosted(session_id=session_id, message_id=f"{session_id}-u{n}",
                      parts=[{"type": "text", "text": f"question {n}"}], author_id=author),
        TurnRequested(session_id=session_id, turn_id=turn, message_id=f"{session_id}-u{n}",
                      robot_id=robot[0]),
        TurnStarted(turn_id=turn, attempt=1, worker_id="seed", robot_id=robot[0],
                    robot_name=robot[1], model="local/echo", playbook_digest="x"),
        AssistantMessageCompleted(turn_id=turn, message_id=f"msg-{turn}",
                                  parts=[{"type": "text", "text": f"answer {n}"}],
                                  robot_id=robot[0], robot_name=robot[1], model="local/echo"),
        TurnCompleted(turn_id=turn, attempt=1, finish_reason="stop"),
    ]


async def seed_session(store: EventStore, session_id: str, *, author: str | None,
                       exchanges: int = 0, metadata: dict[str, Any] | None = None,
                       name: str | None = None) -> AppendResult:
    events: list[Event] = [SessionStarted(session_id=session_id, created_by=author,
                                          name=name or session_id, metadata=metadata or {})]
    for n in range(exchanges):
        events += exchange(session_id, n, author)
    return await store.append(session_stream(session_id), events, 0)


async def projected(store: EventStore, result: AppendResult) -> None:
    assert await wait_for(store.pool, result.checkpoint, ["sessions", "messages", "turns"], 20)
