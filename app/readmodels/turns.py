"""Reading the turns read model (written by projections/turns.py): open turns and
expired waits for the sweeper, one turn's status."""

from __future__ import annotations

import msgspec

from app.eventstore.store import Conn


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


async def expired_waits(conn: Conn, *, older_than_s: float) -> list[tuple[str, str]]:
    """(turn id, session id) of each turn that has waited on answers longer than
    `older_than_s`."""
    cur = await conn.execute(
        "SELECT turn_id, session_id FROM turns WHERE status = 'waiting'"
        " AND waiting_since < now() - make_interval(secs => %s)", [older_than_s])
    return [(r[0], r[1]) for r in await cur.fetchall()]


async def turn_status(conn: Conn, turn_id: str) -> dict[str, object] | None:
    cur = await conn.execute(
        "SELECT turn_id, session_id, status, attempts, cancel_requested, robot_id, model,"
        " requested_at,"
        " started_at, finished_at, finish_reason, error, usage, time_to_first_token_ms,"
        " duration_ms FROM turns WHERE turn_id = %s", [turn_id])
    row = await cur.fetchone()
    if row is None:
        return None
    names = [c.name for c in cur.description or []]
    return dict(zip(names, row, strict=True))
