"""Naming a new session: beside one of its first turns the robot's model is asked, in a call
of its own (not streamed, not in the turn's prompt or message), for a short title, recorded
as the robot's name for the session (SessionNamed) unless a person named it first. Whether a
turn asks, and what is recorded, is app/domain/decisions/naming.py's.

The call starts at the turn's first token and runs while the turn's model streams. A name
ready by the turn's ending (or within ENDING_WAIT_S of it) is recorded before the ending and
sent as a transient `data-session-name` part, so the client has it before `finish`; a later
one is recorded after the ending (the next GET shows it). Nothing here fails a turn: a call
that fails, times out or answers no title is logged, and one of the next turns asks again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from app.adapters.llm import ModelProvider, ModelRequest, PromptMessage
from app.domain import decisions
from app.domain.decisions.naming import naming_text
from app.domain.events import SessionNamed
from app.domain.robots import Robot
from app.domain.session import SessionState
from app.eventstore import EventMetadata
from workers.deps import WorkerDeps

log = logging.getLogger(__name__)

# The local model knows a naming request by its first words (local_model/conversation.py).
INSTRUCTION = (
    "Name this conversation: answer with a title of 2 to 5 words that says what it is about,"
    " in the language of the messages below. No quotes, no full stop, nothing else.")
# A cap, not a target: a title is a few tokens, but a reasoning model thinks some first.
MAX_TOKENS = 256
# How long a turn's ending waits for a name still coming, so that the stream carries it: a
# title is a short answer, most often ready before the turn's own.
ENDING_WAIT_S = 2.0
NAME_PART = "data-session-name"


def naming_request(text: str, model: str) -> ModelRequest:
    """The model call that names a session after what its people said (`text`)."""
    return ModelRequest(model=model, system=INSTRUCTION,
                        messages=[PromptMessage(role="user", text=text)], max_tokens=MAX_TOKENS)


async def _named(provider: ModelProvider, request: ModelRequest, timeout_s: float) -> str:
    # The provider's coroutine is made inside the task: a task cancelled before it ran (a
    # turn that failed at once) leaves no coroutine that was never awaited.
    return await asyncio.wait_for(provider.complete(request), timeout_s)


class SessionNaming:
    """A turn's naming call under way, or none (`call` None: the session needs no name,
    naming is off, or the call is done with)."""

    def __init__(self, deps: WorkerDeps, session_id: str, turn_id: str,
                 ask: Callable[[], Coroutine[Any, Any, str]] | None = None,
                 robot_id: str = "", model: str = "") -> None:
        self.deps = deps
        self.session_id = session_id
        self.turn_id = turn_id
        self._ask = ask  # the call to make, until `begin` makes it
        self.call: asyncio.Task[str] | None = None
        self.robot_id = robot_id
        self.model = model

    @classmethod
    def plan(cls, deps: WorkerDeps, session_id: str, state: SessionState, turn_id: str,
             robot: Robot) -> SessionNaming:
        """The naming call `robot`'s model gets, if the turn `turn_id` should ask: `begin`
        makes it."""
        turn = state.turn(turn_id)
        if (not deps.settings.name_sessions or turn is None
                or not decisions.wants_a_name(state, turn)):
            return cls(deps, session_id, turn_id)
        ref = deps.models.resolve(robot.model)
        request = naming_request(naming_text(state, turn), ref.model)
        provider, timeout_s = deps.models.provider(ref), deps.settings.session_name_timeout_s
        return cls(deps, session_id, turn_id, lambda: _named(provider, request, timeout_s),
                   str(robot.id), str(ref))

    def begin(self) -> None:
        """Make the call, once. The turn begins it once its first token is sent: begun with
        the turn, it raced the turn's own first model call for the cores (bench.turns
        --quick, added time to first token at p50: 29 ms begun with the turn, 22 ms with
        naming off, 18-25 ms begun at the first token, within the runs' noise)."""
        if self._ask is not None:
            self.call, self._ask = asyncio.create_task(self._ask()), None

    async def before_ending(self, outcome: str, send: Callable[[dict[str, Any]], None]) -> None:
        """Before the turn's ending is recorded: a turn that failed or was cancelled drops the
        call (a next turn asks again); otherwise a name ready within ENDING_WAIT_S is recorded
        and sent to the client."""
        if outcome in ("failed", "cancelled"):
            self.drop()
            return
        self.begin()  # a turn that streamed no output asks now
        if self.call is None:
            return
        await asyncio.wait({self.call}, timeout=ENDING_WAIT_S)
        if self.call.done() and (name := await self._record()) is not None:
            send({"type": NAME_PART, "data": {"name": name}, "transient": True})

    async def after_ending(self) -> None:
        """After the turn's ending: a name that was not ready is recorded when it comes (the
        call gives up session_name_timeout_s after it began)."""
        if self.call is not None:
            await asyncio.wait({self.call})
            await self._record()

    def drop(self) -> None:
        """Stop the call, if it still runs; its answer, if any, is not recorded."""
        self._ask = None
        call, self.call = self.call, None
        if call is not None and not call.done():
            call.cancel()
        elif call is not None and not call.cancelled():
            call.exception()  # seen: asyncio would log a failure no one looked at

    async def _record(self) -> str | None:
        """Record the finished call's name; the name recorded, or None."""
        call, self.call = self.call, None
        assert call is not None and call.done()
        try:
            answer = call.result()
        except Exception as exc:  # a failed name fails nothing else
            log.warning("session %s: naming it failed (a next turn asks again): %s",
                        self.session_id, str(exc) or type(exc).__name__)
            return None
        command = decisions.NameSession(session_id=self.session_id, name=answer,
                                        robot_id=self.robot_id, turn_id=self.turn_id,
                                        model=self.model)
        try:
            outcome = await self.deps.handler.execute(
                self.session_id, lambda s: decisions.name_session(s, command),
                metadata=EventMetadata(actor=f"robot:{self.robot_id}",
                                       correlation_id=self.turn_id))
        except Exception:
            log.warning("session %s: its name could not be recorded", self.session_id,
                        exc_info=True)
            return None
        named = next((e for e in outcome.events if isinstance(e, SessionNamed)), None)
        if named is None:
            log.info("session %s: no name recorded (named meanwhile, or no title in %r)",
                     self.session_id, answer[:80])
        return named.name if named is not None else None
