"""A session's rules: pure functions from state and a command Struct to the events it implies.

Every decider has one shape, `decide(state, command) -> list[Event]`, and raises (see
errors.py) what it refuses. No I/O and no clock: ids and times arrive on the command.
"""

from app.domain.decisions.errors import (
    MessageIdTaken,
    NotLatestAnswer,
    NotWaiting,
    PartlyAnswered,
    SessionExists,
    SessionGone,
    SessionNotFound,
    StaleAttempt,
    TurnActive,
    TurnWaiting,
    UnknownMessage,
    UnknownTurn,
)
from app.domain.decisions.naming import NameSession, name_session, wants_a_name
from app.domain.decisions.posting import PostMessage, post_message
from app.domain.decisions.regenerating import Regenerate, regenerate
from app.domain.decisions.sessions import (
    ChangeSettings,
    DeleteSession,
    ForkSession,
    change_settings,
    delete_session,
    fork_session,
)
from app.domain.decisions.steps import (
    CompleteToolCall,
    RecordStep,
    StartToolCalls,
    SwitchRobot,
    complete_tool_call,
    record_step,
    start_tool_calls,
    switch_robot,
)
from app.domain.decisions.summaries import RecordSummary, record_summary
from app.domain.decisions.turns import (
    CancelTurn,
    FinishTurn,
    GiveUpTurn,
    StartTurn,
    TurnOutcome,
    cancel_turn,
    finish_turn,
    give_up_turn,
    start_turn,
)
from app.domain.decisions.waiting import (
    AnswerCalls,
    CallAnswer,
    ExpireWait,
    answer_calls,
    expire_wait,
)

__all__ = [
    "AnswerCalls",
    "CallAnswer",
    "CancelTurn",
    "ChangeSettings",
    "CompleteToolCall",
    "DeleteSession",
    "ExpireWait",
    "FinishTurn",
    "ForkSession",
    "GiveUpTurn",
    "MessageIdTaken",
    "NameSession",
    "NotLatestAnswer",
    "NotWaiting",
    "PartlyAnswered",
    "PostMessage",
    "RecordStep",
    "RecordSummary",
    "Regenerate",
    "SessionExists",
    "SessionGone",
    "SessionNotFound",
    "StaleAttempt",
    "StartToolCalls",
    "StartTurn",
    "SwitchRobot",
    "TurnActive",
    "TurnOutcome",
    "TurnWaiting",
    "UnknownMessage",
    "UnknownTurn",
    "answer_calls",
    "cancel_turn",
    "change_settings",
    "complete_tool_call",
    "delete_session",
    "expire_wait",
    "finish_turn",
    "fork_session",
    "give_up_turn",
    "name_session",
    "post_message",
    "record_step",
    "record_summary",
    "regenerate",
    "start_tool_calls",
    "start_turn",
    "switch_robot",
    "wants_a_name",
]
