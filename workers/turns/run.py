"""Run one turn: claim it in the log, then loop over steps (ask the model, run the tools it
asked for) until it answers without a tool call or reaches its step limit; stream every
part and record every step and tool call as it happens.

The log decides what happened: a worker that lost its claim (another attempt took over)
cannot record anything more, a retried attempt continues from the last recorded step, and
every turn ends with exactly one terminal event (whose stream ending the reactions send).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from typing import Any

import msgspec

from app.adapters.llm import ModelError
from app.adapters.metrics import (
    TIME_TO_FIRST_TOKEN,
    TURN_DURATION,
    TURNS_FINISHED,
    count_tokens,
)
from app.adapters.streams.publisher import TurnPublisher
from app.adapters.streams.retries import (
    last_step_started,
    plan_retry,
    record_dropped,
    retry_marker,
    start_step,
)
from app.domain import decisions
from app.domain.events import AwaitedCall, Part, TurnStarted, Usage
from app.domain.model_refs import ModelRef
from app.domain.robots import Robot
from app.domain.session import SessionState, Turn, reply_id
from app.domain.steps import NextMove, message_parts, next_move, total_usage
from app.domain.tool_catalog import NO_TOOLS, ToolCatalog
from app.domain.tool_input import parse_input
from app.domain.waits import wait_policy, with_robot_rules
from app.eventstore import EventMetadata
from app.services.tools.catalog import load_catalog
from workers.deps import WorkerDeps
from workers.turns.files import with_files
from workers.turns.leases import lease_alive, release, take_lease
from workers.turns.model_stream import ModelStream
from workers.turns.naming import SessionNaming
from workers.turns.prompt import PromptError, build
from workers.turns.tool_calls import ToolStep
from workers.turns.ui_stream import StepEncoder, approval_requests, denials

log = logging.getLogger(__name__)


class _Ending:
    """How an attempt ended, and what its unfinished step had said."""

    def __init__(self) -> None:
        self.outcome: decisions.TurnOutcome = "completed"
        self.finish_reason = "stop"
        self.error: str | None = None
        self.unfinished: list[Part] = []
        self.unfinished_usage: Usage | None = None
        self.last_step: decisions.RecordStep | None = None  # recorded with the ending
        self.awaited: list[AwaitedCall] = []  # "waiting": the calls it waits on


class TurnRun:
    def __init__(self, deps: WorkerDeps, session_id: str, turn_id: str) -> None:
        self.deps = deps
        self.session_id = session_id
        self.turn_id = turn_id
        self.meta = EventMetadata(actor=f"worker:{deps.worker_id}", correlation_id=turn_id)
        self.publisher = TurnPublisher(deps.services.redis, deps.settings.redis_prefix,
                                       turn_id, ttl_s=deps.settings.stream_buffer_ttl_s)
        self.writer = deps.stream_writer
        self.timing: dict[str, float] = {}
        self.open_step: int | None = None  # a step the stream opened before this attempt
        # The tools of the robot answering now, loaded once per attempt and robot: the
        # prompt, the input check, idempotency and the runner all read this one.
        self.catalog: ToolCatalog = NO_TOOLS
        self._catalog_of: str | None = None  # the robot id `catalog` belongs to
        self.naming = SessionNaming(deps, session_id, turn_id)  # none until an attempt plans one

    def send(self, *parts: dict[str, Any]) -> None:
        self.writer.send(self.publisher, *parts)

    async def run(self, robot_hint: str | None = None) -> str:
        state, hinted = await self._load(robot_hint)
        turn = state.turn(self.turn_id)
        if turn is None or turn.finished:
            return "nothing to do"
        if turn.segment:  # it waited on answers before: this is its next stream segment
            self.publisher = TurnPublisher(self.deps.services.redis,
                                           self.deps.settings.redis_prefix, turn.stream_id,
                                           ttl_s=self.deps.settings.stream_buffer_ttl_s)
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
        # When the loaded state says the claim will win and a model step comes first, the
        # model is asked while the claim commits; nothing is published until it has.
        # Otherwise (a turn waiting its turn, running elsewhere, cancelled) no call is paid.
        early = None
        await self._load_tools(robot)
        if (any(isinstance(e, TurnStarted) for e in decisions.start_turn(state, claim))
                and next_move(turn, robot.max_steps, self.catalog.is_idempotent).kind
                == "ask-model"):
            with contextlib.suppress(PromptError, ModelError):  # the loop meets it again
                early = await self._ask(state, turn, robot, ref)
        started = None
        try:
            claimed = await self.deps.handler.execute(
                self.session_id, lambda s: decisions.start_turn(s, claim),
                metadata=self.meta, loaded=state,
                alongside=take_lease(self.session_id, self.deps.worker_id,
                                     self.deps.settings.turn_lease_s))
            started = next((e for e in claimed.events if isinstance(e, TurnStarted)), None)
        finally:
            if started is None and early is not None:  # the claim lost or failed
                await early.cancel()
        if started is None:  # a claim that ended the turn had the reactions end its stream
            return type(claimed.events[0]).__name__ if claimed.events else "not mine to run now"
        return await self._run_attempt(claimed.state, started, robot, early)

    async def _load(self, robot_hint: str | None) -> tuple[SessionState, Robot | None]:
        """The session, and with a hint (the turn's robot, from the job) the robot too,
        read side by side."""
        if robot_hint is None:
            return await self.deps.handler.load(self.session_id), None
        state, robot = await asyncio.gather(
            self.deps.handler.load(self.session_id), self._robot(robot_hint))
        return state, robot

    async def _ask(self, state: SessionState, turn: Turn, robot: Robot,
                   ref: ModelRef) -> ModelStream:
        """The model call for the turn's next step, under way. Raises PromptError or
        ModelError when it cannot be made (the turn then fails, saying why)."""
        provider = self.deps.models.provider(ref)
        request, truncated = build(state, turn, robot, ref.model, catalog=self.catalog)
        request = await with_files(self.deps, request, ref)  # the bytes of its files
        if truncated and state.settings.context_overflow == "adaptive":
            log.info("turn %s: no summary covers enough yet; %d messages left out",
                     self.turn_id, truncated)
        return ModelStream(provider.stream(request), history_truncated=truncated)

    async def _load_tools(self, robot: Robot) -> None:
        if self._catalog_of != str(robot.id):
            self.catalog = with_robot_rules(
                await load_catalog(self.deps.services.mcp_servers, robot.tools), robot)
            self._catalog_of = str(robot.id)

    async def _robot(self, robot_id: str) -> Robot:
        return await self.deps.services.robots.answering(robot_id)

    async def _run_attempt(self, state: SessionState, started: TurnStarted, robot: Robot,
                           early: ModelStream | None) -> str:
        attempt = started.attempt
        self.naming = SessionNaming.plan(self.deps, self.session_id, state, self.turn_id,
                                         robot)
        cancel = self.deps.cancels.watch(self.turn_id)
        self.deps.leases.hold(self.turn_id, attempt)
        # Timed from the model call when it began before the claim, as the TTFT is.
        began = early.started if early is not None else time.perf_counter()
        try:
            # A first attempt follows nothing: only a retry continues an earlier numbering.
            if attempt > 1 and await self.publisher.resume_numbering():
                await self._announce_retry(state, attempt)
            else:
                self.send({"type": "start", "messageId": reply_id(self.turn_id)},
                          *denials(state.turn(self.turn_id)))
            ending = _Ending()
            try:
                state, robot = await self._steps(state, attempt, robot, early, cancel, ending)
            except (PromptError, ModelError) as exc:
                ending.outcome, ending.error = "failed", str(exc)
            self.timing["duration"] = (time.perf_counter() - began) * 1000
            await self.naming.before_ending(ending.outcome, self.send)
            await self.writer.flush(self.publisher)
            finished = await self._finish(state, attempt, robot, ending)
        except decisions.StaleAttempt:
            self.naming.drop()
            log.warning("turn %s attempt %s was superseded; dropping what it had left",
                        self.turn_id, attempt)
            return "stale attempt: another worker took over"
        except BaseException:
            self.naming.drop()
            raise
        finally:
            self.deps.leases.drop(self.turn_id, attempt)
            self.deps.cancels.forget(self.turn_id)
        TURNS_FINISHED.labels(ending.outcome).inc()
        TURN_DURATION.observe(self.timing.get("duration", 0.0) / 1000)
        if "ttft" in self.timing:
            TIME_TO_FIRST_TOKEN.observe(self.timing["ttft"] / 1000)
        if finished:
            await release(self.deps.services.pool, self.turn_id, attempt)
        try:  # a name still coming is recorded when it comes, the turn's lease let go
            await self.naming.after_ending()
        finally:
            self.naming.drop()
        return ending.outcome

    async def _announce_retry(self, state: SessionState, attempt: int) -> None:
        """A retry's first part says what the stream keeps of the attempts before it: all
        of it, or all but the output of the step they left unrecorded, which this attempt
        asks for again under the `start-step` the stream has (app.adapters.streams.retries)."""
        turn = state.turn(self.turn_id)
        assert turn is not None
        redis, settings = self.deps.services.redis, self.deps.settings
        last = await last_step_started(redis, self.publisher.keys[0])
        plan = plan_retry(last, len(turn.steps), self.publisher.last_seq)
        if plan.dropped is not None:
            await record_dropped(redis, settings.redis_prefix, self.turn_id, plan.dropped,
                                 settings.stream_buffer_ttl_s)
        self.open_step = plan.open_step
        self.send(retry_marker(attempt, plan.dropped))

    async def _steps(self, state: SessionState, attempt: int, robot: Robot,
                     early: ModelStream | None, cancel: asyncio.Event,
                     ending: _Ending) -> tuple[SessionState, Robot]:
        """Steps until the turn is done; `ending` says how it ended."""
        tools = ToolStep(self.deps, self.session_id, self.turn_id, attempt, self.meta,
                         self.send)
        # A step whose start-step this stream carries and whose finish-step it does not: a
        # model step with tool calls, or the step a retry goes on under. A turn going on
        # after a wait runs its answered calls before any step of its new stream.
        step_open = self.open_step is not None
        while True:
            turn = state.turn(self.turn_id)
            assert turn is not None
            if turn.robot_id != str(robot.id):  # robot_switch: another robot goes on
                robot = await self._robot(turn.robot_id)
            await self._load_tools(robot)
            move = next_move(turn, robot.max_steps, self.catalog.is_idempotent,
                             wait_policy(self.catalog, state.settings))
            if move.kind == "finish":
                ending.finish_reason = move.finish_reason
                return state, robot
            if cancel.is_set():  # between steps: start nothing more
                ending.outcome = "cancelled"
                return state, robot
            if move.kind == "run-tools":
                await self._fault_point("after-step")
                state, stopped = await tools.run(state, turn, move, self.catalog, cancel)
                if stopped:
                    ending.outcome = "cancelled"
                    return state, robot
                if step_open:
                    self.send({"type": "finish-step"})
                step_open = False
                await self._fault_point("after-tool-result")
                continue
            if move.kind == "wait":  # a person or the client answers; the turn stops here
                self.send(*approval_requests(move.awaited),
                          *([{"type": "finish-step"}] if step_open else []))
                ending.outcome, ending.awaited = "waiting", move.awaited
                ending.finish_reason = "tool-calls"
                return state, robot
            call = early or await self._ask(state, turn, robot,
                                            self.deps.models.resolve(robot.model))
            early = None
            state = await self._model_step(state, attempt, robot, move, call, cancel, ending)
            if ending.outcome != "completed" or ending.last_step is not None:
                return state, robot
            step_open = True

    async def _fault_point(self, name: str) -> None:
        """Crash tests stop a worker here (settings.fault_pause_at) and kill it."""
        if self.deps.settings.fault_pause_at == name:
            log.warning("turn %s: paused at fault point %s until killed", self.turn_id, name)
            await asyncio.Event().wait()

    async def _model_step(self, state: SessionState, attempt: int, robot: Robot,
                          move: NextMove, call: ModelStream, cancel: asyncio.Event,
                          ending: _Ending) -> SessionState:
        tools = self.catalog.tools
        encoder = StepEncoder(f"{self.turn_id}-a{attempt}-s{move.step}",
                              lambda name, arguments: parse_input(name, arguments, tools))
        if move.step != self.open_step:
            self.send(start_step(move.step))
        try:
            stopped = await self._stream(call, encoder, cancel, first=move.step == 1)
        except ModelError as exc:
            log.warning("turn %s: model call failed: %s", self.turn_id, exc)
            ending.outcome, ending.error, stopped = "failed", str(exc), True
        self.send(*encoder.close())
        ref = self.deps.models.resolve(robot.model)
        count_tokens(ref.provider, ref.model, encoder.usage.input_tokens,
                     encoder.usage.output_tokens)
        if stopped:
            if ending.outcome == "completed":
                ending.outcome = "cancelled"
            # A step cut off before it said anything leaves no empty step behind.
            ending.unfinished = encoder.parts if len(encoder.parts) > 1 else []
            ending.unfinished_usage = encoder.usage
            return state
        record = decisions.RecordStep(
            turn_id=self.turn_id, attempt=attempt, step=move.step, parts=encoder.parts,
            tool_calls=encoder.tool_calls, usage=encoder.usage,
            finish_reason=encoder.finish_reason, history_truncated=call.history_truncated)
        if not encoder.tool_calls:  # the answer: recorded with the turn's ending
            self.send({"type": "finish-step"})
            ending.last_step, ending.finish_reason = record, encoder.finish_reason
            return state
        # The state this worker just wrote is fresh unless another writer came between; a
        # stale one costs a retry, never a wrong append (bench/tools: 3 statements a step).
        return (await self.deps.handler.execute(
            self.session_id, lambda s: decisions.record_step(s, record),
            metadata=self.meta, loaded=state)).state

    async def _stream(self, call: ModelStream, encoder: StepEncoder, cancel: asyncio.Event,
                      *, first: bool) -> bool:
        """Stream one model step; True when a cancel stopped it. Raises ModelError."""

        async def consume() -> None:
            async for batch in call.batches():
                parts = [part for event in batch for part in encoder.on_event(event)]
                if parts:
                    first_output = (first and "ttft" not in self.timing
                                    and encoder.saw_output)
                    if first_output:
                        self.timing["ttft"] = (time.perf_counter() - call.started) * 1000
                    self.send(*parts)
                    if first_output:  # once the first token is on its way
                        self.naming.begin()

        task = asyncio.create_task(consume())
        stop = asyncio.create_task(cancel.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if task.done():
            task.result()
            return False
        task.cancel()
        await call.cancel()
        with contextlib.suppress(asyncio.CancelledError, ModelError):
            await task
        return True

    async def _finish(self, state: SessionState, attempt: int, robot: Robot,
                      ending: _Ending) -> bool:
        """The assistant message of every step and the one terminal event. Raises
        StaleAttempt."""
        turn = state.turn(self.turn_id)
        assert turn is not None
        if ending.awaited:  # its message shows the calls as waiting (approval-requested)
            turn = msgspec.structs.replace(turn, awaiting=tuple(ending.awaited))
        last = ending.last_step
        tail = last.parts if last else ending.unfinished
        command = decisions.FinishTurn(
            turn_id=self.turn_id, attempt=attempt, outcome=ending.outcome,
            message_id=reply_id(self.turn_id), parts=message_parts(turn, tail),
            robot_id=str(robot.id), robot_name=robot.name,
            model=str(self.deps.models.resolve(robot.model)),
            usage=total_usage(turn.steps, last.usage if last else ending.unfinished_usage),
            finish_reason=ending.finish_reason, error=ending.error,
            time_to_first_token_ms=self.timing.get("ttft"),
            duration_ms=self.timing.get("duration"), last_step=last,
            awaited=ending.awaited)
        outcome = await self.deps.handler.execute(
            self.session_id, lambda s: decisions.finish_turn(s, command), metadata=self.meta)
        return bool(outcome.events)


async def run_turn(ctx: dict[str, Any], session_id: str, turn_id: str,
                   robot_id: str | None = None) -> str:
    """arq task: run (or resume, or end) one turn. Safe to deliver more than once.
    `robot_id` is a hint (the turn's robot when it was queued); the log decides."""
    deps: WorkerDeps = ctx["deps"]
    return await TurnRun(deps, session_id, turn_id).run(robot_hint=robot_id)
