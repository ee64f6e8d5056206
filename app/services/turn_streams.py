"""A turn's stream for a client: live from Redis, or rebuilt from the log once the buffer
has expired; and which turn a session's resume means."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from app.adapters.metrics import STREAMS_OPEN
from app.adapters.streams.keys import buffer_key
from app.adapters.streams.relay import TurnRelay
from app.adapters.streams.replay import stream_from_message
from app.bootstrap import Services
from app.eventstore import Checkpoint
from app.readmodels.waiting import READ_MODELS, wait_for


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
        return stream_from_message(f"msg-{turn_id}", reply.parts if reply else [], turn)

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
