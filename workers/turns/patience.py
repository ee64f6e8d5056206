"""A worker's session handler waits out a database outage instead of abandoning its turn.

The API fails fast (503) and lets the client try again; a worker mid-turn has no one to
try again for it, and an abandoned attempt is retried from its last recorded step, with the
unrecorded step streamed twice. So a worker's reads and appends try again until the
database answers: an append that did commit before the connection died is decided again on
fresh state (every turn decision is idempotent: a recorded step or ending is not recorded
twice), and one that another attempt overtook meanwhile meets StaleAttempt, as it would
have anyway.
"""

from __future__ import annotations

import asyncio
from typing import Any

from app.adapters.outage import DATABASE_DOWN, Outage
from app.domain.session import SessionState
from app.services.handler import Outcome, SessionHandler

# Past this, the attempt gives up (its lease has long lapsed, the sweeper retries the turn).
_PATIENCE_S = 300.0


class PatientHandler(SessionHandler):
    async def load(self, session_id: str, *, up_to_version: int | None = None) -> SessionState:
        outage = Outage(f"session {session_id}", server="the database")
        while True:
            try:
                state = await super().load(session_id, up_to_version=up_to_version)
            except DATABASE_DOWN as exc:
                await _wait(outage, exc)
                continue
            outage.passed()
            return state

    async def execute(self, session_id: str, *args: Any, **kwargs: Any) -> Outcome:
        outage = Outage(f"session {session_id}", server="the database")
        while True:
            try:
                outcome = await super().execute(session_id, *args, **kwargs)
            except DATABASE_DOWN as exc:
                await _wait(outage, exc)
                kwargs.pop("loaded", None)  # decide again on what the log now holds
                continue
            outage.passed()
            return outcome


async def _wait(outage: Outage, exc: Exception) -> None:
    outage.failed(exc)
    if outage.lasted() > _PATIENCE_S:
        raise exc
    await asyncio.sleep(outage.pause())
