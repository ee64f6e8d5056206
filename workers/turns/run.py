"""Run one turn: claim it in the log, call the model, stream parts, record the outcome.

The log decides what happened: a worker that lost its claim (another attempt took over)
cannot record a second answer, and every turn ends with exactly one terminal event.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from typing import Any

from app.adapters.llm import ModelError
from app.adapters.metrics import TIME_TO_FIRST_TOKEN, TURNS_FINISHED
from app.adapters.streams.publisher import TurnPublisher
from app.domain import decisions
from app.domain.events import TurnStarted, Usage
from app.domain.model_refs import ModelRef
from app.domain.robots import DEFAULT_ROBOT_ID, Robot
from app.domain.session import SessionState, Turn
from app.eventstore import EventMetadata
from app.services.handler import Outcome
from workers.deps import WorkerDeps
from workers.turns.leases import lease_alive, release, take_lease
from workers.turns.model_stream import ModelStream
from workers.turns.prompt import PromptError, build_request
from workers.turns.ui_stream import UIStreamEncoder

log = logging.getLogger(__name__)


def reply_id(turn_id: str) -> str:
    """The assistant message's id: the same across attempts, so clients see one message."""
    return f"msg-{turn_id}"


class TurnRun:
    def __init__(self, deps: WorkerDeps, session_id: str, turn_id: str) -> None:
        self.deps = deps
        self.session_id = session_id
        self.turn_id = turn_id
        self.meta = EventMetadata(actor=f"worker:{deps.worker_id}", correlation_id=turn_id)
        self.publisher = TurnPublisher(deps.services.redis, deps.settings.redis_prefix,
                                       turn_id, ttl_s=deps.settings.stream_buffer_ttl_s)
        self.writer = deps.stream_writer

    async def run(self, robot_hint: str | None = None) -> str:
        state, hinted = await self._load(robot_hint)
        turn = state.turn(self.turn_id)
        if turn is None or turn.finished:
            return "nothing to do"
        robot = (hinted if hinted is not None and str(hinted.id) == turn.robot_id
                 else await self._robot(turn.robot_id))
        ref = self.deps.models.resolve(robot.model)
        claim = decisions.StartTurn(
            turn_id=self.turn_id, worker_id=self.deps.worker_id, robot_id=str(robot.id),
            robot_name=robot.name, model=str(ref),
            playbook_digest=hashlib.sha256(robot.playbook.encode()).hexdigest()[:16],
            # Only a running turn has a lease to check; skip the query otherwise.
            lapsed_attempt=turn.attempt if turn.status == "running"
            and not await lease_alive(self.deps.services.pool, self.turn_id) else None,
            max_attempts=self.deps.settings.turn_max_attempts)
        # When the loaded state says the claim will win, the model is asked while it
        # commits; nothing is published until it has. Otherwise (a turn waiting its turn,
        # running elsewhere, cancelled) no model call is paid for.
        will_start = any(isinstance(e, TurnStarted) for e in decisions.start_turn(state, claim))
        call = self._call_model(state, turn, robot, ref) if will_start else None
        started = None
        try:
            claimed = await self.deps.handler.execute(
                self.session_id, lambda s: decisions.start_turn(s, claim),
                metadata=self.meta, loaded=state,
                alongside=take_lease(self.session_id, self.deps.worker_id,
                                     self.deps.settings.turn_lease_s))
            started = next((e for e in claimed.events if isinstance(e, TurnStarted)), None)
        finally:
            if started is None and isinstance(call, ModelStream):  # the claim lost or failed
                await call.cancel()
        if started is None:  # a claim that ended the turn had the reactions end its stream
            return type(claimed.events[0]).__name__ if claimed.events else "not mine to run now"
        if call is None:  # the session moved on while claiming: this turn's time came
            call = self._call_model(claimed.state, claimed.state.turn(self.turn_id) or turn,
                                    robot, ref)
        return await self._run_attempt(claimed.state, started, robot, call)

    async def _load(self, robot_hint: str | None) -> tuple[SessionState, Robot | None]:
        """The session, and with a hint (the turn's robot, from the job) the robot too,
        read side by side."""
        if robot_hint is None:
            return await self.deps.handler.load(self.session_id), None
        state, robot = await asyncio.gather(
            self.deps.handler.load(self.session_id), self._robot(robot_hint))
        return state, robot

    def _call_model(self, state: SessionState, turn: Turn, robot: Robot,
                    ref: ModelRef) -> ModelStream | str:
        """The model call under way, or why it could not be made (the turn then fails)."""
        try:
            provider = self.deps.models.provider(ref)
            request = build_request(state, turn, robot, ref.model)
        except (PromptError, ModelError) as exc:
            return str(exc)
        return ModelStream(provider.stream(request))

    async def _robot(self, robot_id: str) -> Robot:
        robots = self.deps.services.robots
        try:
            robot = await robots.get(uuid.UUID(robot_id), include_deleted=True)
        except ValueError:
            robot = None
        return robot or await robots.get(DEFAULT_ROBOT_ID)  # type: ignore[return-value]

    async def _run_attempt(self, state: SessionState, started: TurnStarted, robot: Robot,
                           call: ModelStream | str) -> str:
        attempt = started.attempt
        cancel = self.deps.cancels.watch(self.turn_id)
        self.deps.leases.hold(self.turn_id, attempt)
        encoder = UIStreamEncoder(reply_id(self.turn_id), f"{self.turn_id}-a{attempt}")
        try:
            # A first attempt follows nothing: only a retry continues an earlier numbering.
            if attempt > 1 and await self.publisher.resume_numbering():
                self.writer.send(self.publisher,
                                 {"type": "data-turn-retry", "data": {"attempt": attempt}},
                                 {"type": "start-step"})
            else:
                self.writer.send(self.publisher, *encoder.start())
            outcome, error, timing = await self._stream_model(call, encoder, cancel)
            # The turn's ending part follows the commit (app/services/reactions.py).
            self.writer.send(self.publisher, *encoder.close(outcome))
            await self.writer.flush(self.publisher)
            finished = await self._record(encoder, attempt, outcome, error, robot, started,
                                          timing)
        finally:
            self.deps.leases.drop(self.turn_id, attempt)
            self.deps.cancels.forget(self.turn_id)
        if finished is None:
            return "stale attempt: another worker took over"
        TURNS_FINISHED.labels(outcome).inc()
        if "ttft" in timing:
            TIME_TO_FIRST_TOKEN.observe(timing["ttft"] / 1000)
        await release(self.deps.services.pool, self.turn_id, attempt)
        return outcome

    async def _stream_model(self, call: ModelStream | str, encoder: UIStreamEncoder,
                            cancel: asyncio.Event
                            ) -> tuple[decisions.Outcome, str | None, dict[str, float]]:
        timing: dict[str, float] = {}
        if isinstance(call, str):
            timing["duration"] = 0.0
            return "failed", call, timing

        async def consume() -> None:
            async for batch in call.batches():
                parts = [part for event in batch for part in encoder.on_event(event)]
                if parts:
                    if "ttft" not in timing and encoder.saw_output:
                        timing["ttft"] = (time.perf_counter() - call.started) * 1000
                    self.writer.send(self.publisher, *parts)

        task = asyncio.create_task(consume())
        stop = asyncio.create_task(cancel.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        timing["duration"] = (time.perf_counter() - call.started) * 1000
        if not task.done():
            task.cancel()
            await call.cancel()
            with contextlib.suppress(asyncio.CancelledError, ModelError):
                await task
            return "cancelled", None, timing
        try:
            task.result()
        except ModelError as exc:
            log.warning("turn %s: model call failed: %s", self.turn_id, exc)
            return "failed", str(exc), timing
        return "completed", None, timing

    async def _record(self, encoder: UIStreamEncoder, attempt: int, outcome: decisions.Outcome,
                      error: str | None, robot: Robot, started: TurnStarted,
                      timing: dict[str, float]) -> Outcome | None:
        command = decisions.FinishTurn(
            turn_id=self.turn_id, attempt=attempt, outcome=outcome,
            message_id=reply_id(self.turn_id), parts=encoder.parts,
            robot_id=str(robot.id), robot_name=robot.name, model=started.model,
            usage=Usage(input_tokens=encoder.usage[0], output_tokens=encoder.usage[1]),
            finish_reason=encoder.finish_reason, error=error,
            time_to_first_token_ms=timing.get("ttft"), duration_ms=timing.get("duration"))
        try:
            finished = await self.deps.handler.execute(
                self.session_id, lambda s: decisions.finish_turn(s, command),
                metadata=self.meta)
        except decisions.StaleAttempt:
            log.warning("turn %s attempt %s was superseded; dropping its answer",
                        self.turn_id, attempt)
            return None
        return finished


async def run_turn(ctx: dict[str, Any], session_id: str, turn_id: str,
                   robot_id: str | None = None) -> str:
    """arq task: run (or resume, or end) one turn. Safe to deliver more than once.
    `robot_id` is a hint (the turn's robot when it was queued); the log decides."""
    deps: WorkerDeps = ctx["deps"]
    return await TurnRun(deps, session_id, turn_id).run(robot_hint=robot_id)


