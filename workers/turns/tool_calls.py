"""Run the open tool calls of a turn's last step, recording each one in the log.

Starts are recorded (one append for the step's calls) before any tool runs, and each
result as soon as it is in, before the model is asked again: a retried attempt runs no
recorded call twice, and a call cut off mid-run is run again only if it is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

from app.domain import decisions
from app.domain.events import ToolCall
from app.domain.session import SessionState, Turn
from app.domain.steps import UNKNOWN_OUTCOME, NextMove
from app.domain.tool_catalog import ToolCatalog
from app.eventstore import EventMetadata
from app.services.tools.context import ToolContext
from app.services.tools.runner import ToolResult, failed, run_tool
from workers.deps import WorkerDeps
from workers.turns.ui_stream import tool_output_part

Send = Callable[..., None]  # TurnRun.send: parts onto the turn's stream


class ToolStep:
    def __init__(self, deps: WorkerDeps, session_id: str, turn_id: str, attempt: int,
                 meta: EventMetadata, send: Send) -> None:
        self.deps = deps
        self.session_id = session_id
        self.turn_id = turn_id
        self.attempt = attempt
        self.meta = meta
        self.send = send
        self._tool_context: ToolContext | None = None  # one account lookup per attempt

    async def run(self, state: SessionState, turn: Turn, move: NextMove, catalog: ToolCatalog,
                  cancel: asyncio.Event) -> tuple[SessionState, bool]:
        """The state once every open call has its result; True when a cancel stopped it
        first (what finished before it stays recorded)."""
        for call in move.unknown:
            state = await self._record(call, failed(UNKNOWN_OUTCOME.format(name=call.name)),
                                       state)
        refused = [c for c in move.to_run if c.input_error is not None]
        for call in refused:  # the model already saw why (tool-input-error): it gets it back
            state = await self._record(call, failed(call.input_error or ""), state,
                                       stream=False)
        runnable = [c for c in move.to_run if c.input_error is None]
        if not runnable:
            return state, False
        started = decisions.StartToolCalls(turn_id=self.turn_id, attempt=self.attempt,
                                           calls=runnable)
        state = (await self.deps.handler.execute(
            self.session_id, lambda s: decisions.start_tool_calls(s, started),
            metadata=self.meta, loaded=state)).state
        return await self._run_all(state, turn, runnable, catalog, cancel)

    async def _run_all(self, state: SessionState, turn: Turn, calls: list[ToolCall],
                       catalog: ToolCatalog, cancel: asyncio.Event
                       ) -> tuple[SessionState, bool]:
        ctx = await self._context(turn)
        inputs = _inputs(turn)
        # Independent calls run side by side; results are recorded one at a time.
        pending: dict[asyncio.Task[ToolResult], ToolCall] = {
            asyncio.create_task(run_tool(ctx, catalog, c, inputs.get(c.call_id, {}))): c
            for c in calls}
        stop = asyncio.create_task(cancel.wait())
        try:
            while pending:
                done, _ = await asyncio.wait({*pending, stop},
                                             return_when=asyncio.FIRST_COMPLETED)
                for task in [t for t in pending if t in done]:
                    state = await self._record(pending.pop(task), task.result(), state)
                if stop in done:
                    return state, True
            return state, False
        finally:
            stop.cancel()
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _record(self, call: ToolCall, result: ToolResult, state: SessionState, *,
                      stream: bool = True) -> SessionState:
        command = decisions.CompleteToolCall(
            turn_id=self.turn_id, attempt=self.attempt, call_id=call.call_id, name=call.name,
            outcome=result.outcome, output=result.output, error=result.error)
        outcome = await self.deps.handler.execute(
            self.session_id, lambda s: decisions.complete_tool_call(s, command),
            metadata=self.meta, loaded=state)
        if stream:
            self.send(tool_output_part(call.call_id, result.outcome, result.output,
                                       result.error))
        return outcome.state

    async def _context(self, turn: Turn) -> ToolContext:
        if self._tool_context is not None:
            return msgspec.structs.replace(self._tool_context, now=datetime.now(UTC))
        account = None
        if turn.requested_by:
            with contextlib.suppress(ValueError):
                account = await self.deps.services.accounts.by_id(
                    uuid.UUID(turn.requested_by))
        self._tool_context = ToolContext(services=self.deps.services, account=account,
                                     session_id=self.session_id, turn_id=self.turn_id,
                                     now=datetime.now(UTC))
        return self._tool_context


def _inputs(turn: Turn) -> dict[str, dict[str, Any]]:
    """Each call's checked input, as the last step recorded it."""
    parts = turn.steps[-1].parts if turn.steps else []
    return {p["toolCallId"]: p.get("input") or {} for p in parts
            if p.get("type") == "dynamic-tool"}
