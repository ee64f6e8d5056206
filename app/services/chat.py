"""Chat turns from the API's side: post a message, cancel a turn, open a turn's stream.

Controllers translate HTTP into these calls; these translate into the session handler.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from app.adapters.metrics import STREAMS_OPEN, TURNS_POSTED
from app.adapters.streams.keys import buffer_key
from app.adapters.streams.publisher import TurnPublisher, publish_terminal
from app.adapters.streams.relay import TurnRelay
from app.adapters.streams.replay import stream_from_message
from app.adapters.turn_queue import enqueue_turn, signal_cancel
from app.bootstrap import Services
from app.domain import decisions
from app.domain.accounts import Account
from app.domain.events import Multitask, Part, TurnCancelled, TurnCancelRequested
from app.domain.robots import DEFAULT_ROBOT_ID
from app.domain.session import SessionState
from app.eventstore import Checkpoint, EventMetadata
from app.readmodels.waiting import wait_for
from app.services.handler import no_result

READ_MODELS = ["sessions", "messages", "turns"]


class RobotUnavailable(Exception):
    def __init__(self, robot_id: str) -> None:
        super().__init__(f"no robot with id {robot_id}")


class ChatTurn(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    turn_id: str
    message_id: str
    is_new: bool


async def post_message(services: Services, account: Account, *, session_id: str,
                       message_id: str, parts: list[Part], robot_id: str | None,
                       multitask: Multitask, trace_id: str | None = None) -> ChatTurn:
    """Record the message and its turn, then hand the turn to a worker.

    Posting the same message id again returns the turn of the first post. Raises
    decisions.TurnActive (multitask 'reject' while a turn runs), SessionGone,
    RobotUnavailable.
    """
    before = await services.handler.load(session_id)
    robot = await _pick_robot(services, robot_id, before)
    command = decisions.PostMessage(
        session_id=session_id, message_id=message_id, parts=parts, robot_id=robot,
        author_id=str(account.id), new_turn_id=f"turn-{uuid.uuid4().hex}",
        multitask=multitask, session_name=_title(parts))
    posted, outcome = await services.handler.execute(
        session_id, lambda state: decisions.post_message(state, command),
        metadata=EventMetadata(actor=str(account.id), trace_id=trace_id), loaded=before)
    # Publish and enqueue only after the commit: Redis hears of what the log already holds.
    for event in outcome.events:
        if isinstance(event, TurnCancelRequested):
            await signal_cancel(services.redis, services.settings.redis_prefix, event.turn_id)
        elif isinstance(event, TurnCancelled):
            await _end_stream(services, event.turn_id, outcome.appended)
    if posted.is_new:
        TURNS_POSTED.inc()
    if posted.runnable:
        await enqueue_turn(services.arq, session_id, posted.turn_id, robot_id=robot)
    return ChatTurn(session_id=session_id, turn_id=posted.turn_id, message_id=message_id,
                    is_new=posted.is_new)


async def cancel(services: Services, account: Account, session_id: str,
                 turn_id: str) -> SessionState:
    """Stop a turn from any API instance. Idempotent; a finished turn stays as it was."""
    _, outcome = await services.handler.execute(
        session_id, no_result(lambda s: decisions.cancel_turn(s, turn_id, str(account.id))),
        metadata=EventMetadata(actor=str(account.id)))
    for event in outcome.events:
        if isinstance(event, TurnCancelRequested):
            await signal_cancel(services.redis, services.settings.redis_prefix, turn_id)
        elif isinstance(event, TurnCancelled):  # nobody had started it: end its stream here
            await _end_stream(services, turn_id, outcome.appended)
    return outcome.state


async def _end_stream(services: Services, turn_id: str, appended: Any) -> None:
    publisher = TurnPublisher(services.redis, services.settings.redis_prefix, turn_id,
                              ttl_s=services.settings.stream_buffer_ttl_s)
    await publish_terminal(publisher, [{"type": "abort"}],
                           appended.checkpoint if appended else None)


async def _pick_robot(services: Services, robot_id: str | None, state: SessionState) -> str:
    """The robot asked for; else the one the session last used; else the built-in one."""
    if robot_id is not None:
        try:
            robot = await services.robots.get(uuid.UUID(robot_id))
        except ValueError:
            robot = None
        if robot is None:
            raise RobotUnavailable(robot_id)
        return str(robot.id)
    return state.last_robot_id or str(DEFAULT_ROBOT_ID)


def _title(parts: list[Part]) -> str | None:
    text = " ".join("".join(p.get("text", "") for p in parts if p.get("type") == "text").split())
    return (text[:77] + "...") if len(text) > 80 else (text or None)


def stream_turn(services: Services, session_id: str, turn_id: str, after: int = 0, *,
                just_posted: bool = False) -> AsyncIterator[bytes]:
    """SSE frames of a turn from sequence `after` to `[DONE]`, live or replayed.
    `just_posted`: this request posted the turn, so its stream starts without a look in
    the log (see TurnRelay.frames)."""

    async def fallback() -> list[dict[str, Any]] | None:
        state = await services.handler.load(session_id)
        turn = state.turn(turn_id)
        if turn is None or not turn.finished:
            return None
        reply = next((m for m in state.messages if m.turn_id == turn_id), None)
        return stream_from_message(f"msg-{turn_id}", reply.parts if reply else [],
                                   turn.status, turn.error)

    async def wait_projected(done: dict[str, Any]) -> None:
        if done.get("checkpoint"):
            await wait_for(services.pool, Checkpoint(*done["checkpoint"]), READ_MODELS,
                           services.settings.read_your_writes_timeout_s)

    relay = TurnRelay(services.redis, services.hub, services.settings.redis_prefix, turn_id,
                      fallback=fallback, wait_projected=wait_projected)
    return _counted(relay.frames(after, log_first=not just_posted))


async def _counted(frames: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    STREAMS_OPEN.inc()
    try:
        async for frame in frames:
            yield frame
    finally:
        STREAMS_OPEN.dec()


async def turn_to_resume(services: Services, session_id: str) -> str | None:
    """The active turn, else the latest one while its buffer is still in Redis."""
    state = await services.handler.load(session_id)
    if state.active_turn is not None:
        return state.active_turn.turn_id
    if state.turns:
        latest = state.turns[-1].turn_id
        if await services.redis.exists(buffer_key(services.settings.redis_prefix, latest)):
            return latest
    return None
