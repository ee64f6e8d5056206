"""A turn's stream for a client: live from Redis, or rebuilt from the log once the buffer
has expired; and which turn a session's resume means."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from app.adapters.metrics import STREAMS_OPEN
from app.adapters.outage import DATABASE_DOWN
from app.adapters.streams.keys import buffer_key
from app.adapters.streams.relay import TurnRelay
from app.adapters.streams.replay import stream_from_message
from app.bootstrap import Services
from app.domain import decisions
from app.domain.session import reply_id
from app.eventstore import Checkpoint
from app.readmodels.waiting import READ_MODELS, wait_for


async def stream_turn(services: Services, session_id: str, turn_id: str, after: int = 0, *,
                      just_posted: bool = False, resets: bool = False,
                      stream_id: str | None = None) -> AsyncIterator[bytes]:
    """SSE frames of a turn from sequence `after` to `[DONE]`, live or replayed.
    `just_posted`: this request posted the turn, so its stream starts without a look in
    the log (see TurnRelay.frames). `resets`: the client takes `reset-step`
    (app.adapters.streams.retries). `stream_id`: the turn's stream segment, when it
    waited on answers before (Turn.stream_id)."""

    async def fallback() -> list[dict[str, Any]] | None:
        try:
            state = await services.handler.load(session_id)
        except DATABASE_DOWN:
            return None  # as if not over yet: the relay looks again on its next recheck
        turn = state.turn(turn_id)
        if turn is None or not turn.finished:
            return None
        reply = next((m for m in state.messages if m.turn_id == turn_id), None)
        return stream_from_message(reply_id(turn_id), reply.parts if reply else [], turn)

    async def wait_projected(done: dict[str, Any]) -> None:
        if done.get("checkpoint"):
            # Best effort: a client that cannot read its reply back yet still gets its end.
            with contextlib.suppress(*DATABASE_DOWN):
                await wait_for(services.pool, Checkpoint(*done["checkpoint"]), READ_MODELS,
                               services.settings.read_your_writes_timeout_s)

    # Before any byte is sent: a client the stream cannot serve now gets a 503 (the
    # problem handlers map RedisError), not a 200 that ends at once.
    await services.redis.ping()
    relay = TurnRelay(services.redis, services.hub, services.settings.redis_prefix,
                      stream_id or turn_id,
                      fallback=fallback, wait_projected=wait_projected, resets=resets,
                      outage_s=services.settings.redis_outage_grace_s)
    return _counted(relay.frames(after, log_first=not just_posted))


async def _counted(frames: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    STREAMS_OPEN.inc()
    try:
        async for frame in frames:
            yield frame
    finally:
        STREAMS_OPEN.dec()


async def turn_to_resume(services: Services, session_id: str,
                         turn_id: str | None = None) -> tuple[str, str] | None:
    """The turn asked for, else the active turn, else the latest one while its buffer is
    still in Redis, with its current stream segment: (turn id, stream id); None when there
    is none. Checked in the log before any stream starts (a relay of a turn that never was
    would wait for it forever): raises SessionNotFound for a session that never existed,
    UnknownTurn for a turn that is not this session's."""
    state = await services.handler.load(session_id)
    if not state.exists:
        raise decisions.SessionNotFound(session_id)
    if turn_id is not None:
        asked = state.turn(turn_id)
        if asked is None:
            raise decisions.UnknownTurn(turn_id)
        return asked.turn_id, asked.stream_id
    if state.active_turn is not None:
        return state.active_turn.turn_id, state.active_turn.stream_id
    if state.turns:
        latest = state.turns[-1]
        if await services.redis.exists(buffer_key(services.settings.redis_prefix,
                                                  latest.stream_id)):
            return latest.turn_id, latest.stream_id
    return None
