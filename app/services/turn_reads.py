"""One turn as people look at it: status, attempts, robot, model, usage (in all and per
step), time to first token, duration, finish reason, error. The turns read model has the
totals and timings; the steps come from the session's folded state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from app.bootstrap import Services
from app.domain.events import AwaitedCall, Usage
from app.readmodels.turns import turn_status


class StepReport(msgspec.Struct, frozen=True, kw_only=True):
    step: int
    usage: Usage
    finish_reason: str
    tool_calls: int  # how many tools the step called


class TurnReport(msgspec.Struct, frozen=True, kw_only=True):
    turn_id: str
    session_id: str
    status: str
    attempts: int
    robot_id: str | None
    model: str | None
    usage: Usage
    steps: list[StepReport]
    time_to_first_token_ms: float | None
    duration_ms: float | None
    finish_reason: str | None
    error: str | None
    cancel_requested: bool
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    waiting_on: list[AwaitedCall]


async def turn_report(services: Services, session_id: str, turn_id: str) -> TurnReport | None:
    """The turn, or None when this session has no such turn (yet, in the read model)."""
    async with services.pool.connection() as conn:
        row: dict[str, Any] | None = await turn_status(conn, turn_id)
    if row is None or row["session_id"] != session_id:
        return None
    turn = (await services.handler.load(session_id)).turn(turn_id)
    steps = [StepReport(step=s.step, usage=s.usage, finish_reason=s.finish_reason,
                        tool_calls=len(s.tool_calls)) for s in (turn.steps if turn else ())]
    return TurnReport(
        turn_id=turn_id, session_id=session_id, status=str(row["status"]),
        attempts=int(row["attempts"]), robot_id=_text(row["robot_id"]),
        model=_text(row["model"]), usage=_usage(row["usage"], steps), steps=steps,
        time_to_first_token_ms=row["time_to_first_token_ms"],
        duration_ms=row["duration_ms"],
        finish_reason=_text(row["finish_reason"]), error=_text(row["error"]),
        cancel_requested=bool(row["cancel_requested"]),
        requested_at=row["requested_at"],
        started_at=row["started_at"], finished_at=row["finished_at"],
        waiting_on=list(turn.awaiting) if turn else [])


def _usage(stored: Any, steps: list[StepReport]) -> Usage:
    """The turn's usage as its ending recorded it; while it runs, what its steps used."""
    if isinstance(stored, dict):
        return msgspec.convert(stored, Usage)
    return Usage(input_tokens=sum(s.usage.input_tokens for s in steps),
                 output_tokens=sum(s.usage.output_tokens for s in steps))


def _text(value: object) -> str | None:
    return None if value is None else str(value)
