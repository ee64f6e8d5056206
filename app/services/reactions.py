"""What follows a commit, in one table: event type -> the reactions it sets off.

The handler runs `Reactions.run` after every append has committed (publish after commit:
Redis only ever hears of what the log already holds). A new reaction is a new row here,
not another `isinstance` loop in a controller, the runner or the sweeper.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from arq.connections import ArqRedis

from app.adapters.outage import REDIS_DOWN, Outage
from app.adapters.streams.endings import ending
from app.adapters.streams.publisher import TurnPublisher, publish_terminal
from app.adapters.turn_queue import enqueue_summary, enqueue_turn, signal_cancel
from app.config.settings import Settings
from app.domain.events import (
    TurnBeganWaiting,
    TurnCancelled,
    TurnCancelRequested,
    TurnCompleted,
    TurnFailed,
    TurnRequested,
    TurnResumed,
)
from app.eventstore import Event
from app.services.handler import Outcome

Reaction = Callable[["Reactions", Event, Outcome], Awaitable[None]]


async def stop_the_turn(ctx: Reactions, event: Event, _: Outcome) -> None:
    """Wake whichever worker runs the turn; TurnCancelRequested is the durable record."""
    assert isinstance(event, TurnCancelRequested)
    await signal_cancel(ctx.redis, ctx.settings.redis_prefix, event.turn_id)


async def end_the_stream(ctx: Reactions, event: Event, outcome: Outcome) -> None:
    """The turn's last part and the end marker. The relay holds `[DONE]` until projections
    pass this commit, so a client that saw the end can read the message back."""
    assert isinstance(event, TurnCompleted | TurnFailed | TurnCancelled | TurnBeganWaiting)
    turn = outcome.state.turn(event.turn_id)
    assert turn is not None and (turn.finished or turn.status == "waiting")
    publisher = TurnPublisher(ctx.redis, ctx.settings.redis_prefix, turn.stream_id,
                              ttl_s=ctx.settings.stream_buffer_ttl_s)
    checkpoint = outcome.appended.checkpoint if outcome.appended else None
    await publish_terminal(publisher, [ending(turn)], checkpoint)


async def start_the_next_turn(ctx: Reactions, _: Event, outcome: Outcome) -> None:
    """Hand the session's next turn to a worker once nothing runs ahead of it. Enqueueing
    is idempotent by turn id, so running this for several events of one commit is safe."""
    following = outcome.state.next_to_run
    if following is not None:
        await enqueue_turn(ctx.arq, outcome.session_id, following.turn_id,
                           robot_id=following.robot_id)


async def consider_a_summary(ctx: Reactions, _: Event, outcome: Outcome) -> None:
    """An "adaptive" session with a budget may be nearing it: a worker measures its next
    prompt (which needs the robot's system prompt, so not here) and summarises it in the
    background when it is past 80% of the budget (workers/summaries.py). One job per session
    at a time; the next turn's ending asks again."""
    settings = outcome.state.settings
    if settings.context_overflow == "adaptive" and settings.token_budget is not None:
        await enqueue_summary(ctx.arq, outcome.session_id)


REACTIONS: dict[type[Event], tuple[Reaction, ...]] = {
    TurnRequested: (start_the_next_turn,),
    TurnCancelRequested: (stop_the_turn,),
    TurnCompleted: (end_the_stream, start_the_next_turn, consider_a_summary),
    TurnFailed: (end_the_stream, start_the_next_turn),
    TurnCancelled: (end_the_stream, start_the_next_turn),
    # A wait ends the turn's stream, not the turn; answered, the turn runs on.
    TurnBeganWaiting: (end_the_stream,),
    TurnResumed: (start_the_next_turn,),
}
# Reactions that read the state after the commit, not the event: run once per commit.
_ONCE_PER_COMMIT = frozenset({start_the_next_turn})


class Reactions:
    def __init__(self, redis: aioredis.Redis, arq: ArqRedis, settings: Settings) -> None:
        self.redis = redis
        self.arq = arq
        self.settings = settings
        self._later: set[asyncio.Task[None]] = set()

    async def run(self, outcome: Outcome) -> None:
        done: set[Reaction] = set()
        for event in outcome.events:
            for reaction in REACTIONS.get(type(event), ()):
                if reaction in done and reaction in _ONCE_PER_COMMIT:
                    continue
                done.add(reaction)
                try:
                    await reaction(self, event, outcome)
                except REDIS_DOWN as exc:
                    # The commit stands whatever Redis says: what follows it waits for
                    # Redis in the background (every reaction is safe to run again), and
                    # the sweeper finds a queued turn this process did not live to hand on.
                    task = asyncio.create_task(self._until_done(reaction, event, outcome, exc))
                    self._later.add(task)
                    task.add_done_callback(self._later.discard)

    async def _until_done(self, reaction: Reaction, event: Event, outcome: Outcome,
                          exc: BaseException) -> None:
        outage = Outage(f"{reaction.__name__} after {type(event).__name__}")
        outage.failed(exc)
        while True:
            await asyncio.sleep(outage.pause())
            try:
                await reaction(self, event, outcome)
            except REDIS_DOWN:
                continue
            outage.passed()
            return

    async def close(self) -> None:
        """Stop the reactions still waiting for Redis (the sweeper covers what they did)."""
        for task in self._later:
            task.cancel()
        await asyncio.gather(*self._later, return_exceptions=True)
