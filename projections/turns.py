"""Turns read model: each turn's status, attempts, timings and usage."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from app.domain.events import (
    RobotSwitched,
    TurnBeganWaiting,
    TurnCancelled,
    TurnCancelRequested,
    TurnCompleted,
    TurnFailed,
    TurnRequested,
    TurnResumed,
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
_SWITCHED = "UPDATE turns SET robot_id = %s, version = %s" + _GUARD
_CANCEL_REQUESTED = "UPDATE turns SET cancel_requested = true, version = %s" + _GUARD
_WAITING = ("UPDATE turns SET status = 'waiting', waiting_since = %s, awaiting = %s::jsonb,"
            " version = %s" + _GUARD)
_RESUMED = ("UPDATE turns SET status = 'requested', waiting_since = NULL, awaiting = NULL,"
            " version = %s" + _GUARD)
_ENDED = ("UPDATE turns SET status = %s, waiting_since = NULL, awaiting = NULL,"
          " finished_at = %s, finish_reason = %s, error = %s,"
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
                case RobotSwitched(turn_id=str(tid), robot_id=rid):  # the turn's robot now
                    await conn.execute(_SWITCHED, [rid, v, tid, v])
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
                case TurnBeganWaiting(turn_id=tid, calls=calls):
                    await conn.execute(_WAITING, [at, msgspec.json.encode(calls).decode(), v,
                                                  tid, v])
                case TurnResumed(turn_id=tid):
                    await conn.execute(_RESUMED, [v, tid, v])
                case TurnCancelled(turn_id=tid):
                    await conn.execute(_ENDED, ["cancelled", at, "abort", None, None, None,
                                                None, v, tid, v])
