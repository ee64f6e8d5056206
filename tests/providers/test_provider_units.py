"""Pure parts of the providers: retry waits, retry-after parsing, redaction, stream endings."""

from __future__ import annotations

import pickle
import time
from email.utils import formatdate

import pytest

from app.adapters.llm import ModelError
from app.adapters.llm.anthropic_adapter import EventDecoder
from app.adapters.llm.errors import error_detail, redact, status_error
from app.adapters.llm.openai_chunks import ChunkDecoder
from app.adapters.llm.retry import Backoff, parse_retry_after


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    backoff = Backoff(initial_s=1.0, max_s=8.0)
    for retry, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (10, 8.0)]:
        delay = backoff.delay(retry)
        assert ceiling / 2 <= delay <= ceiling


def test_retry_after_wins_but_is_capped() -> None:
    backoff = Backoff(initial_s=1.0, max_s=8.0, max_retry_after_s=20.0)
    assert backoff.delay(0, 3.5) == 3.5
    assert backoff.delay(0, 600.0) == 20.0


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None
    in_a_minute = parse_retry_after({"retry-after": formatdate(time.time() + 60, usegmt=True)})
    assert in_a_minute is not None and 55 <= in_a_minute <= 61


def test_redact_removes_the_key_and_key_shaped_words() -> None:
    assert redact("key abcdef123 used", "abcdef123") == "key [redacted] used"
    assert "sk-proj" not in redact("Incorrect API key provided: sk-proj-****abcd.", None)


def test_error_detail_reads_both_apis() -> None:
    assert error_detail({"type": "error", "error": {"type": "api_error", "message": "m1"}}) == "m1"
    assert error_detail({"message": "m2", "type": "server_error"}) == "m2"
    assert error_detail(None) is None


def test_an_error_event_inside_a_200_stream_gets_its_real_status() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    error = status_error("p", 200, body, "fallback", {}, None)
    assert (error.status, error.retryable) == (529, True)


def test_streams_that_end_without_finishing_are_errors() -> None:
    with pytest.raises(ModelError, match="ended the stream before the answer was finished"):
        ChunkDecoder("p").finish()
    with pytest.raises(ModelError, match="ended the stream before the answer was finished"):
        EventDecoder("p").finish()


def test_model_errors_survive_pickling() -> None:
    error = ModelError("boom", status=503, retryable=True, retry_after_s=1.5, attempts=4)
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.status, copy.retryable, copy.retry_after_s, copy.attempts) == (
        "boom", 503, True, 1.5, 4)
