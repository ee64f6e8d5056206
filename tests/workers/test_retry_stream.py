"""A retried attempt on a turn's stream: what it keeps of the dead attempt's output, and what
each client is shown of it (app.adapters.streams.retries)."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from app.adapters.streams.retries import (
    RETRY_ERROR,
    Dropped,
    RetryPlan,
    RetryView,
    StepMark,
    plan_retry,
    retry_marker,
    takes_reset_step,
)

# Parts 1-9 of a turn whose worker died in step 2 (step 1 recorded): 5 is step 2's
# start-step, 6-9 its partial text; the retry's marker (`data-turn-retry`) is part 10.
STEP_2_STARTED = StepMark(seq=5, step=2)
ABANDONED = Dropped(5, 9)


def encoded(part: dict[str, Any]) -> bytes:
    return msgspec.json.encode(part)


def text_delta(seq: int) -> bytes:
    return encoded({"type": "text-delta", "id": "t", "delta": f"w{seq} "})


def sent(frames: list[bytes]) -> list[tuple[str | None, dict[str, Any]]]:
    """(SSE id, part) of each frame."""
    out = []
    for raw in frames:
        lines = raw.decode().strip().split("\n")
        ids = [line[4:] for line in lines if line.startswith("id: ")]
        data = [line[6:] for line in lines if line.startswith("data: ")]
        out.append((ids[0] if ids else None, json.loads(data[0])))
    return out


def shown(view: RetryView, seqs: range) -> list[bytes]:
    return [f for seq in seqs for f in view.show(seq, text_delta(seq))]


def marker(dropped: Dropped | None = ABANDONED, attempt: int = 2) -> bytes:
    return encoded(retry_marker(attempt, dropped))


# The worker's plan


def test_a_step_the_log_did_not_record_is_dropped_after_its_start_step() -> None:
    plan = plan_retry(STEP_2_STARTED, recorded_steps=1, last_seq=9)
    assert plan == RetryPlan(open_step=2, dropped=Dropped(5, 9))


def test_a_stream_whose_last_step_was_recorded_is_kept_whole() -> None:
    # Step 2 recorded with its tool calls; the worker died running them.
    assert plan_retry(STEP_2_STARTED, recorded_steps=2, last_seq=9) == RetryPlan(None, None)


def test_a_start_step_with_nothing_after_it_is_kept_and_not_sent_again() -> None:
    assert plan_retry(StepMark(9, 2), recorded_steps=1, last_seq=9) == RetryPlan(2, None)


def test_a_stream_without_a_numbered_start_step_is_kept_whole() -> None:
    assert plan_retry(None, recorded_steps=0, last_seq=4) == RetryPlan(None, None)


def test_the_marker_names_the_dropped_parts_only_when_there_are_some() -> None:
    assert retry_marker(3, Dropped(5, 9)) == {
        "type": "data-turn-retry", "transient": True, "data": {"attempt": 3, "dropped": [5, 9]}}
    assert retry_marker(2, None) == {
        "type": "data-turn-retry", "transient": True, "data": {"attempt": 2}}


# What each client is shown


def test_a_client_that_takes_reset_step_has_the_dead_attempts_parts_dropped_in_place() -> None:
    view = RetryView("t", resets=True)
    assert len(shown(view, range(1, 10))) == 9
    out = sent(view.show(10, marker()))
    assert out == [(None, {"type": "reset-step"}),
                   ("t:10", {"type": "data-turn-retry", "transient": True,
                             "data": {"attempt": 2}})]
    assert not view.ended
    assert sent(view.show(11, text_delta(11))) == [("t:11", json.loads(text_delta(11)))]


def test_a_client_without_reset_step_is_told_to_start_over_and_its_stream_ends() -> None:
    view = RetryView("t", resets=False)
    shown(view, range(1, 10))
    assert sent(view.show(10, marker())) == [
        ("t:0", {"type": "error", "errorText": RETRY_ERROR})]
    assert view.ended


def test_a_resume_from_the_start_leaves_the_dropped_parts_out_and_needs_no_reset() -> None:
    for resets in (False, True):
        view = RetryView("t", resets=resets, held=0, dropped=[ABANDONED])
        frames = shown(view, range(1, 10))
        assert [i for i, _ in sent(frames)] == [f"t:{seq}" for seq in range(1, 6)]
        assert [p["type"] for _, p in sent(view.show(10, marker()))] == ["data-turn-retry"]
        assert not view.ended


def test_a_client_that_joined_after_the_dead_attempts_parts_gets_the_notice_only() -> None:
    view = RetryView("t", resets=False, held=4)
    assert [p["type"] for _, p in sent(view.show(10, marker()))] == ["data-turn-retry"]
    assert not view.ended


def test_a_client_resuming_inside_the_dropped_parts_still_holds_some() -> None:
    view = RetryView("t", resets=False, held=7, dropped=[ABANDONED])
    assert shown(view, range(8, 10)) == []
    assert [p["type"] for _, p in sent(view.show(10, marker()))] == ["error"]


def test_a_retry_that_drops_nothing_is_a_notice_to_everyone() -> None:
    view = RetryView("t", resets=False)
    shown(view, range(1, 10))
    assert [p["type"] for _, p in sent(view.show(10, marker(None)))] == ["data-turn-retry"]


def test_a_second_retry_of_the_same_step_drops_the_first_retrys_output_too() -> None:
    # Attempt 2 said parts 11-12 of step 2 and died; attempt 3 drops 6-12 (marker 10 too).
    view = RetryView("t", resets=True)
    shown(view, range(1, 10))
    view.show(10, marker())
    shown(view, range(11, 13))
    out = sent(view.show(13, marker(Dropped(5, 12), attempt=3)))
    assert [p["type"] for _, p in out] == ["reset-step", "data-turn-retry"]
    # A client starting later knows both ranges and is shown neither retry's leftovers.
    later = RetryView("t", resets=False, dropped=[ABANDONED, Dropped(5, 12)])
    seqs = [s for s in range(1, 13) if later.show(s, text_delta(s))]
    assert seqs == [1, 2, 3, 4, 5]
    assert [p["type"] for _, p in sent(later.show(13, marker(Dropped(5, 12), 3)))] == [
        "data-turn-retry"]


def test_reset_step_is_taken_only_when_the_client_names_it() -> None:
    assert takes_reset_step("reset-step")
    assert takes_reset_step("other, Reset-Step ")
    assert not takes_reset_step(None)
    assert not takes_reset_step("")
    assert not takes_reset_step("reset-steps")
