"""Recording a session's summary: given events / when a summary is recorded / then events, and
what the folded session shows. No database."""

from __future__ import annotations

import msgspec

from app.domain import decisions as d
from app.domain.events import (
    MessagePosted,
    SessionDeleted,
    SessionSettingsChanged,
    SessionStarted,
    SessionSummarised,
)
from app.domain.session import SessionState, fold
from app.eventstore import Event

ADAPTIVE = SessionSettingsChanged(session_id="s", token_budget=500, context_overflow="adaptive")


def given(*events: Event) -> SessionState:
    return fold([SessionStarted(session_id="s"),
                 *(MessagePosted(session_id="s", message_id=f"m{i}",
                                 parts=[{"type": "text", "text": "hi"}]) for i in range(6)),
                 *events])


def summary(messages: int, text: str = "They said hi.") -> d.RecordSummary:
    return d.RecordSummary(session_id="s", summary=text, first_message_id="m0",
                           last_message_id=f"m{messages - 1}", messages=messages,
                           model="local/echo")


def recorded(messages: int, text: str = "They said hi.") -> SessionSummarised:
    return SessionSummarised(session_id="s", summary=text, first_message_id="m0",
                             last_message_id=f"m{messages - 1}", messages=messages,
                             model="local/echo")


def test_a_summary_of_an_adaptive_session_is_recorded() -> None:
    assert d.record_summary(given(ADAPTIVE), summary(4)) == [recorded(4)]


def test_a_summary_that_covers_no_more_than_the_last_one_changes_nothing() -> None:
    state = given(ADAPTIVE, recorded(4))
    assert d.record_summary(state, summary(4)) == []  # the same job, run again
    assert d.record_summary(state, summary(2, "older")) == []  # overtaken by a later one
    assert d.record_summary(state, summary(5, "more")) == [recorded(5, "more")]


def test_no_summary_for_an_empty_text_a_session_gone_or_one_no_longer_adaptive() -> None:
    assert d.record_summary(given(ADAPTIVE), summary(4, "  ")) == []
    assert d.record_summary(given(ADAPTIVE, SessionDeleted(session_id="s")), summary(4)) == []
    truncating = SessionSettingsChanged(session_id="s", context_overflow="truncate")
    assert d.record_summary(given(ADAPTIVE, truncating), summary(4)) == []
    assert d.record_summary(fold([]), summary(4)) == []


def test_the_session_shows_the_latest_summary_and_one_set_by_hand_until_the_next() -> None:
    state = given(ADAPTIVE, recorded(4, "auto one"))
    assert state.settings.summary == "auto one" and state.summarised == recorded(4, "auto one")

    by_hand = fold([SessionSettingsChanged(session_id="s", summary="by hand")], state)
    assert by_hand.settings.summary == "by hand"
    assert by_hand.summarised == recorded(4, "auto one")  # what it covers stays

    later = fold([recorded(6, "auto two")], by_hand)
    assert later.settings.summary == "auto two" and later.summarised == recorded(6, "auto two")


def test_a_fork_leaves_an_automatic_summary_behind_but_keeps_one_set_by_hand() -> None:
    source = given(ADAPTIVE, recorded(4, "auto one"))
    fork = d.ForkSession(source_id="s", source=source, at_message_id="m1",
                         new_session_id="f", requested_by=None)
    [settings] = [e for e in d.fork_session(fold([]), fork)
                  if isinstance(e, SessionSettingsChanged)]
    assert settings.summary is msgspec.UNSET and settings.context_overflow == "adaptive"

    by_hand = fold([SessionSettingsChanged(session_id="s", summary="by hand")], source)
    fork = msgspec.structs.replace(fork, source=by_hand)
    [settings] = [e for e in d.fork_session(fold([]), fork)
                  if isinstance(e, SessionSettingsChanged)]
    assert settings.summary == "by hand"
