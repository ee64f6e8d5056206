"""Chat turns from the API's side: post a message, regenerate an answer, cancel a turn.

Controllers translate HTTP into these calls; these translate into the session handler.
What follows each commit (queue the turn, signal a cancel, end a stream) is the
reactions' work (app/services/reactions.py).
"""

from __future__ import annotations

import uuid

import msgspec

from app.adapters.metrics import TURNS_POSTED
from app.bootstrap import Services
from app.domain import decisions
from app.domain.accounts import Account
from app.domain.events import Multitask, Part
from app.domain.robots import DEFAULT_ROBOT_ID
from app.domain.session import SessionState, turn_of_reply
from app.domain.session_access import check_cancel
from app.eventstore import Event, EventMetadata


class RobotUnavailable(Exception):
    def __init__(self, robot_id: str, *, from_session: bool = False) -> None:
        super().__init__(
            f"this session's robot {robot_id} was deleted; name another robot with robotId"
            if from_session else f"no robot with id {robot_id}")


class ChatTurn(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    turn_id: str
    message_id: str
    is_new: bool
    stream_id: str = ""  # the turn's current stream segment (Turn.stream_id)

    @property
    def stream(self) -> str:
        return self.stream_id or self.turn_id


async def post_message(services: Services, account: Account, *, session_id: str,
                       message_id: str, parts: list[Part], robot_id: str | None,
                       multitask: Multitask, trace_id: str | None = None) -> ChatTurn:
    """Record the message and its turn (the reactions hand it to a worker).

    Posting the same message id again returns the turn of the first post. Raises
    decisions.TurnActive (multitask 'reject' while a turn runs), SessionGone,
    RobotUnavailable, NotPermitted (an 'interrupt' by one who may not cancel the turn).
    """
    before = await services.handler.load(session_id)
    robot = await _pick_robot(services, robot_id, before)
    command = decisions.PostMessage(
        session_id=session_id, message_id=message_id, parts=parts, robot_id=robot,
        author_id=str(account.id), new_turn_id=f"turn-{uuid.uuid4().hex}",
        # No name: its robot names a new session after the first exchange (SessionNamed).
        multitask=multitask)

    def decide(state: SessionState) -> list[Event]:
        # An interrupt cancels the active turn: only those who may cancel it may interrupt.
        active = state.active_turn
        if (multitask == "interrupt" and active is not None
                and state.turn_for_message(message_id) is None):
            check_cancel(account, state, session_id, active.turn_id)
        return decisions.post_message(state, command)

    outcome = await services.handler.execute(
        session_id, decide,
        metadata=EventMetadata(actor=str(account.id), trace_id=trace_id), loaded=before)
    turn = outcome.state.turn_for_message(message_id)
    assert turn is not None  # posted now or before
    if outcome.events:
        TURNS_POSTED.inc()
    return ChatTurn(session_id=session_id, turn_id=turn.turn_id, message_id=message_id,
                    is_new=bool(outcome.events), stream_id=turn.stream_id)


async def regenerate(services: Services, account: Account, *, session_id: str,
                     message_id: str | None, robot_id: str | None, multitask: Multitask,
                     trace_id: str | None = None) -> ChatTurn:
    """Answer the session's latest question again (the AI SDK's `regenerate()`): a new turn
    whose answer replaces the latest one. `message_id` names the answer or its question
    (None: the latest). Raises decisions.SessionNotFound, SessionGone, UnknownMessage,
    NotLatestAnswer, TurnActive, TurnWaiting, RobotUnavailable, NotPermitted."""
    before = await services.handler.load(session_id)
    command = decisions.Regenerate(
        session_id=session_id, message_id=message_id,
        robot_id=await _pick_robot(services, robot_id, before), requested_by=str(account.id),
        new_turn_id=f"turn-{uuid.uuid4().hex}", multitask=multitask)

    def decide(state: SessionState) -> list[Event]:
        if state.turns:  # who may cancel the latest turn may replace its answer
            check_cancel(account, state, session_id, state.turns[-1].turn_id,
                         "regenerate the answer of")
        return decisions.regenerate(state, command)

    outcome = await services.handler.execute(
        session_id, decide,
        metadata=EventMetadata(actor=str(account.id), trace_id=trace_id), loaded=before)
    turn = outcome.state.turn(command.new_turn_id)
    assert turn is not None
    TURNS_POSTED.inc()
    return ChatTurn(session_id=session_id, turn_id=turn.turn_id, message_id=turn.message_id,
                    is_new=True, stream_id=turn.stream_id)


async def answer_calls(services: Services, account: Account, *, session_id: str,
                       message_id: str, answers: list[decisions.CallAnswer],
                       trace_id: str | None = None) -> ChatTurn:
    """Record the client's answers to the calls a turn waits on; the turn then runs on (the
    reactions hand it to a worker) in the same assistant message. Who may cancel the turn
    may answer for it. Raises decisions.UnknownTurn, NotWaiting, PartlyAnswered,
    NotPermitted."""
    turn_id = turn_of_reply(message_id) or message_id
    command = decisions.AnswerCalls(turn_id=turn_id, answers=answers,
                                    answered_by=str(account.id))

    def decide(state: SessionState) -> list[Event]:
        check_cancel(account, state, session_id, turn_id)
        return decisions.answer_calls(state, command)

    outcome = await services.handler.execute(
        session_id, decide, metadata=EventMetadata(actor=str(account.id), trace_id=trace_id))
    turn = outcome.state.turn(turn_id)
    assert turn is not None
    return ChatTurn(session_id=session_id, turn_id=turn_id, message_id=message_id,
                    is_new=True, stream_id=turn.stream_id)


async def cancel(services: Services, account: Account, session_id: str,
                 turn_id: str) -> SessionState:
    """Stop a turn from any API instance. Idempotent; a finished turn stays as it was.
    Raises decisions.UnknownTurn, NotPermitted (see app/domain/session_access.py)."""
    command = decisions.CancelTurn(turn_id=turn_id, requested_by=str(account.id))

    def decide(state: SessionState) -> list[Event]:
        check_cancel(account, state, session_id, turn_id)
        return decisions.cancel_turn(state, command)

    outcome = await services.handler.execute(
        session_id, decide, metadata=EventMetadata(actor=str(account.id)))
    return outcome.state


async def _pick_robot(services: Services, robot_id: str | None, state: SessionState) -> str:
    """The robot asked for; else the session's robot; else the built-in one.

    One rule for deleted robots: a deleted robot answers no new message, whether the
    request names it or the session last used it (a turn already queued still runs with
    it). Raises RobotUnavailable."""
    chosen = robot_id or state.robot_id
    if chosen is None or chosen == str(DEFAULT_ROBOT_ID):
        return str(DEFAULT_ROBOT_ID)
    try:
        robot = await services.robots.get(uuid.UUID(chosen))
    except ValueError:
        robot = None
    if robot is None:
        raise RobotUnavailable(chosen, from_session=robot_id is None)
    return str(robot.id)
