"""Turns read model: each turn's status, attempts, timings and usage."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from app.domain.events import (
    TurnCancelled,
    TurnCancelRequested,
    TurnCompleted,
    TurnFailed,
    TurnRequested,
    TurnStarted,
)
from app.eventstore import RecordedEvent
from projections.base import Conn

_REQUESTED = """
INSERT INTO turns (turn_id, session_id, message_id, robot_id, status, multitask, requested_at,
                   requested_position, version)
VALUES (%s, %s, %s, %s, 'requested', %s, %s, %s, %s) ON CONFLICT (turn_id) DO NOTHING
"""
# Every update is guarded by the stream version, so replaying an event changes nothing.
_GUARD = " WHERE turn_id = %s AND version < %s"
_STARTED = ("UPDATE turns SET status = 'running', attempts = %s, started_at = %s, model = %s,"
            " robot_id = %s, version = %s" + _GUARD)
_CANCEL_REQUESTED = "UPDATE turns SET cancel_requested = true, version = %s" + _GUARD
_ENDED = ("UPDATE turns SET status = %s, finished_at = %s, finish_reason = %s, error = %s,"
          " usage = %s::jsonb, time_to_first_token_ms = %s, duration_ms = %s, version = %s"
          + _GUARD)


class TurnsProjection:
    name: str = "turns"
    tables: tuple[str, ...] = ("turns",)

    async def apply(self, conn: Conn, events: Sequence[RecordedEvent]) -> None:
        for rec in events:
            at, v = rec.recorded_at, rec.stream_version
            match rec.event:
                case TurnRequested(session_id=sid, turn_id=tid, message_id=mid, robot_id=rid,
                                   multitask=mode):
                    await conn.execute(_REQUESTED, [tid, sid, mid, rid, mode, at,
                                                    rec.global_position, v])
                case TurnStarted(turn_id=tid, attempt=n, model=model, robot_id=rid):
                    await conn.execute(_STARTED, [n, at, model, rid, v, tid, v])
                case TurnCancelRequested(turn_id=tid):
                    await conn.execute(_CANCEL_REQUESTED, [v, tid, v])
                case TurnCompleted(turn_id=tid, finish_reason=reason, usage=usage,
                                   time_to_first_token_ms=ttft, duration_ms=duration):
                    usage_json = msgspec.json.encode(usage).decode()
                    await conn.execute(_ENDED, ["completed", at, reason, None, usage_json,
                                                ttft, duration, v, tid, v])
                case TurnFailed(turn_id=tid, error=error):
                    await conn.execute(_ENDED, ["failed", at, "error", error, None, None,
                                                None, v, tid, v])
                case TurnCancelled(turn_id=tid):
                    await conn.execute(_ENDED, ["cancelled", at, "abort", None, None, None,
                                                None, v, tid, v])


class TurnRow(msgspec.Struct, frozen=True, kw_only=True):
    turn_id: str
    session_id: str
    status: str
    attempts: int
    lease_alive: bool | None  # None: no lease row (never started, or released)


async def open_turns(conn: Conn, *, older_than_s: float) -> list[TurnRow]:
    """Each session's earliest unfinished turn (the one that should be running), if it was
    requested more than `older_than_s` ago, with the state of its lease."""
    cur = await conn.execute(
        """
        SELECT turn_id, session_id, status, attempts, alive FROM (
            SELECT DISTINCT ON (t.session_id) t.turn_id, t.session_id, t.status, t.attempts,
                   l.expires_at > now() AS alive, t.requested_at
            FROM turns t LEFT JOIN turn_leases l ON l.turn_id = t.turn_id
            WHERE t.status IN ('requested', 'running')
            ORDER BY t.session_id, t.requested_position
        ) first_open
        WHERE requested_at < now() - make_interval(secs => %s)
        """, [older_than_s])
    return [TurnRow(turn_id=r[0], session_id=r[1], status=r[2], attempts=r[3],
                    lease_alive=r[4]) for r in await cur.fetchall()]


async def turn_status(conn: Conn, turn_id: str) -> dict[str, object] | None:
    cur = await conn.execute(
        "SELECT turn_id, session_id, status, attempts, cancel_requested, model, requested_at,"
        " started_at, finished_at, finish_reason, error, usage, time_to_first_token_ms,"
        " duration_ms FROM turns WHERE turn_id = %s", [turn_id])
    row = await cur.fetchone()
    if row is None:
        return None
    names = [c.name for c in cur.description or []]
    return dict(zip(names, row, strict=True))
