"""Recording a session's summary (context_overflow "adaptive"), made in the background."""

from __future__ import annotations

import msgspec

from app.domain.events import SessionSummarised
from app.domain.session import SessionState
from app.eventstore import Event


class RecordSummary(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    summary: str
    first_message_id: str
    last_message_id: str
    messages: int  # how many of the conversation's messages it covers, from the first
    model: str


def record_summary(state: SessionState, cmd: RecordSummary) -> list[Event]:
    """The summary, unless it adds nothing: a range no longer than the one already covered
    (a job run twice, or overtaken by a later one), an empty text, a session gone or no
    longer adaptive. Summaries cover a prefix of the conversation, so a longer one covers
    every message a shorter one did."""
    covered = state.summarised.messages if state.summarised is not None else 0
    if (not state.exists or state.deleted or not cmd.summary.strip()
            or state.settings.context_overflow != "adaptive" or cmd.messages <= covered):
        return []
    return [SessionSummarised(session_id=cmd.session_id, summary=cmd.summary,
                              first_message_id=cmd.first_message_id,
                              last_message_id=cmd.last_message_id, messages=cmd.messages,
                              model=cmd.model)]
