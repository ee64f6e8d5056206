"""One turn of a session: its status, usage and timings."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from app.api.auth import requires
from app.api.openapi import problems
from app.api.problems import ProblemError
from app.bootstrap import Services
from app.domain.accounts import Permission
from app.services.turn_reads import TurnReport, turn_report


class TurnsController(Controller):
    tags = ["chat"]
    guards = [requires(Permission.USE_ROBOTS)]

    @get("/robots/sessions/{session_id:str}/turns/{turn_id:str}", summary="Read a turn",
         responses=problems(403, 404))
    async def get_turn(self, services: NamedDependency[Services], session_id: FromPath[str],
                       turn_id: FromPath[str]) -> TurnReport:
        """A turn's status, attempts, robot and model, its usage in all and per step, time
        to first token, duration, finish reason and error."""
        report = await turn_report(services, session_id, turn_id)
        if report is None:
            raise ProblemError(404, f"no turn {turn_id} in session {session_id}",
                               slug="not-found",
                               metadata={"session_id": session_id, "turn_id": turn_id})
        return report
