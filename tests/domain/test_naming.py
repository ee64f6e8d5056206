"""A new session named by its robot: given events / when a turn asks for a name, or a name is
recorded / then events, and what the folded session shows. No database."""

from __future__ import annotations

from app.domain import decisions as d
from app.domain.decisions.naming import MAX_NAME_CHARS, clean_name, naming_text
from app.domain.events import (
    MessagePosted,
    SessionDeleted,
    SessionNamed,
    SessionRenamed,
    SessionSettingsChanged,
    SessionStarted,
    TurnCompleted,
    TurnRequested,
)
from app.domain.session import SessionState, Turn, fold
from app.eventstore import Event


def asked(n: int, text: str = "Plan a trip to Lisbon") -> list[Event]:
    """Question `n` of the session and the turn that answers it."""
    return [MessagePosted(session_id="s", message_id=f"m{n}",
                          parts=[{"type": "text", "text": text}]),
            TurnRequested(session_id="s", turn_id=f"t{n}", message_id=f"m{n}", robot_id="r")]


def given(*events: Event, name: str | None = None) -> SessionState:
    return fold([SessionStarted(session_id="s", name=name), *asked(1), *events])


def turn(state: SessionState, n: int = 1) -> Turn:
    found = state.turn(f"t{n}")
    assert found is not None
    return found


def naming(answer: str = "Trip to Lisbon", turn_id: str = "t1") -> d.NameSession:
    return d.NameSession(session_id="s", name=answer, robot_id="r", turn_id=turn_id,
                         model="local/echo")


def named(name: str = "Trip to Lisbon", turn_id: str = "t1") -> SessionNamed:
    return SessionNamed(session_id="s", name=name, robot_id="r", turn_id=turn_id,
                        model="local/echo")


def test_the_first_turn_of_an_unnamed_session_asks_for_a_name() -> None:
    state = given()
    assert d.wants_a_name(state, turn(state))
    assert naming_text(state, turn(state)) == "Plan a trip to Lisbon"


def test_a_name_given_by_a_person_is_never_asked_for() -> None:
    for by_person in (given(name="Mine"),
                      given(SessionRenamed(session_id="s", name="Mine")),
                      given(SessionSettingsChanged(session_id="s", name="Mine"))):
        assert by_person.named_by == "person"
        assert not d.wants_a_name(by_person, turn(by_person))


def test_a_failed_name_is_asked_again_by_the_next_turns_but_not_forever() -> None:
    state = given(TurnCompleted(turn_id="t1", attempt=1, finish_reason="stop"),
                  *asked(2), *asked(3), *asked(4))
    assert [d.wants_a_name(state, turn(state, n)) for n in (1, 2, 3, 4)] == [
        True, True, True, False]
    # The later turns have more to go on: what the people said so far.
    assert naming_text(state, turn(state, 2)) == "Plan a trip to Lisbon\nPlan a trip to Lisbon"


def test_no_name_is_asked_for_with_no_text_to_go_on_or_once_the_robot_named_it() -> None:
    image_only = fold([SessionStarted(session_id="s"),
                       MessagePosted(session_id="s", message_id="m1",
                                     parts=[{"type": "file", "url": "https://x/a.png",
                                             "mediaType": "image/png"}]),
                       TurnRequested(session_id="s", turn_id="t1", message_id="m1",
                                     robot_id="r")])
    assert not d.wants_a_name(image_only, turn(image_only))
    after = given(named())
    assert not d.wants_a_name(after, turn(after))


def test_the_robots_name_is_recorded_cleaned() -> None:
    assert d.name_session(given(), naming('"Trip to Lisbon."\n')) == [named()]
    assert d.name_session(given(), naming("Title: **Trip to Lisbon**")) == [named()]
    assert d.name_session(given(), naming("\n  \u201cTrip   to Lisbon\u201d...  \nmore")) == [
        named()]


def test_a_name_named_meanwhile_by_a_person_or_the_robot_is_kept() -> None:
    assert d.name_session(given(SessionRenamed(session_id="s", name="Mine")), naming()) == []
    assert d.name_session(given(SessionSettingsChanged(session_id="s", name="Mine")),
                          naming()) == []
    assert d.name_session(given(named("First")), naming("Second")) == []


def test_no_name_for_an_empty_answer_or_a_session_gone() -> None:
    assert d.name_session(given(), naming(' "". \n')) == []
    assert d.name_session(given(SessionDeleted(session_id="s")), naming()) == []
    assert d.name_session(fold([]), naming()) == []


def test_a_long_answer_is_cut_at_a_word() -> None:
    long = clean_name("A very " + "long " * 30 + "title")
    assert len(long) <= MAX_NAME_CHARS and long.endswith("long") and "  " not in long
    assert clean_name("x" * 100) == "x" * MAX_NAME_CHARS


def test_the_session_shows_the_robots_name_until_a_person_renames_it() -> None:
    state = given(named())
    assert (state.name, state.named_by) == ("Trip to Lisbon", "robot")
    renamed = fold([SessionSettingsChanged(session_id="s", name="Mine")], state)
    assert (renamed.name, renamed.named_by) == ("Mine", "person")
    assert d.name_session(renamed, naming("Another")) == []
