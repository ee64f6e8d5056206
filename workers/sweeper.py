"""Nothing leaves a turn stuck: find turns that should be running but are not, and retry or
end them. Postgres says what happened; Redis (arq) may have lost the job."""

from __future__ import annotations

import logging
import time
from typing import Any

from app.adapters.metrics import SWEPT
from app.adapters.outage import DATABASE_DOWN
from app.adapters.turn_queue import enqueue_turn
from app.domain import decisions
from app.readmodels.turns import TurnRow, expired_waits, open_turns
from workers.deps import WorkerDeps

log = logging.getLogger(__name__)


_LOST_DATABASE = "sweeper_lost_database"
_LEASES_TRUSTED_AFTER = "sweeper_leases_trusted_after"


async def sweep_turns(ctx: dict[str, Any]) -> dict[str, int]:
    """arq cron task. Returns what it did, by kind, for the job log."""
    deps: WorkerDeps = ctx["deps"]
    done = {"requeued": 0, "retried": 0, "failed": 0, "timed_out": 0}
    try:
        async with deps.services.pool.connection() as conn:
            stuck = await open_turns(conn, older_than_s=deps.settings.sweep_grace_s)
    except DATABASE_DOWN as exc:
        # Nothing to sweep that the next sweep after the database's return will not find.
        log.warning("sweeper: the database is unreachable (%s)", type(exc).__name__)
        ctx[_LOST_DATABASE] = True
        return done
    if ctx.pop(_LOST_DATABASE, False):
        # Every lease lapsed while nobody could renew one: a live worker gets a lease's
        # time to renew its own before its turn is called dead and run again.
        ctx[_LEASES_TRUSTED_AFTER] = time.monotonic() + deps.settings.turn_lease_s
    leases_trusted = time.monotonic() >= ctx.get(_LEASES_TRUSTED_AFTER, 0.0)
    for turn in stuck:
        if turn.status != "requested" and not leases_trusted:
            continue
        kind = await _sweep_one(deps, turn)
        if kind:
            done[kind] += 1
            SWEPT.labels(kind).inc()
    done["timed_out"] = await _end_expired_waits(deps)
    if any(done.values()):
        log.info("sweeper: %s", done)
    return done


async def _sweep_one(deps: WorkerDeps, turn: TurnRow) -> str | None:
    if turn.status == "requested":
        # Committed but never claimed: the enqueue was lost (crash, Redis lost the job).
        if await enqueue_turn(deps.arq, turn.session_id, turn.turn_id):
            return "requeued"
        return None
    if turn.lease_alive:
        return None
    if turn.attempts >= deps.settings.turn_max_attempts:
        await _give_up(deps, turn)
        return "failed"
    # The worker running it died: the next attempt runs under a new job id, because the
    # dead worker's job may still hold the old one.
    job_id = f"{turn.turn_id}:attempt-{turn.attempts + 1}"
    return "retried" if await enqueue_turn(deps.arq, turn.session_id, turn.turn_id,
                                           job_id) else None


async def _end_expired_waits(deps: WorkerDeps) -> int:
    """Nothing waits forever: calls unanswered after TOOL_WAIT_TIMEOUT_S are denied and
    their turns go on (the reactions hand them to a worker)."""
    async with deps.services.pool.connection() as conn:
        expired = await expired_waits(conn, older_than_s=deps.settings.tool_wait_timeout_s)
    for turn_id, session_id in expired:
        command = decisions.ExpireWait(turn_id=turn_id)
        await deps.handler.execute(session_id,
                                   lambda state, c=command: decisions.expire_wait(state, c))
    return len(expired)


async def _give_up(deps: WorkerDeps, turn: TurnRow) -> None:
    """The reactions end its stream and start the session's next turn."""
    command = decisions.GiveUpTurn(
        turn_id=turn.turn_id,
        reason=f"the turn was abandoned {turn.attempts} times (its worker stopped"
               " answering); giving up")
    await deps.handler.execute(turn.session_id,
                               lambda state: decisions.give_up_turn(state, command))
