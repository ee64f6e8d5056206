"""The log line formats (app/adapters/logs.py): JSON fields, redaction, what the console leaves
out. Records are formatted directly: the test process's own logging is left alone."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from app.adapters.logs import ConsoleFilter, JsonFormatter, TextFormatter

TOKEN = "rbt_" + "x" * 43


def _record(name: str, msg: str, *args: object, level: int = logging.INFO,
            exc: bool = False) -> logging.LogRecord:
    exc_info = sys.exc_info() if exc else None
    return logging.LogRecord(name, level, __file__, 1, msg, args, exc_info)


def test_a_json_line_has_time_level_logger_message_and_the_exceptions_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("robots", "turn %s failed", "t1", level=logging.ERROR, exc=True)
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "ERROR" and line["logger"] == "robots"
    assert line["message"] == "turn t1 failed"
    assert line["time"].endswith("+00:00") and "T" in line["time"]
    assert "Traceback" in line["exception"] and "ValueError: boom" in line["exception"]


def test_an_access_line_carries_its_requests_client_method_path_and_status() -> None:
    record = _record("uvicorn.access", '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                     "/health", "1.1", 200)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == '127.0.0.1:5000 - "GET /health HTTP/1.1" 200'
    assert (line["client"], line["method"], line["path"], line["status"]) == (
        "127.0.0.1:5000", "GET", "/health", 200)


@pytest.mark.parametrize("secret, kept", [
    (TOKEN, "rbt_[redacted]"),
    ("sk-ant-api03-abcdefghijkl", "[redacted]"),
    ("postgresql://robots:hunter2secret@db:5432/robots", "postgresql://robots:[redacted]@db"),
    ("Authorization: Bearer abcdefghij123", "Bearer [redacted]"),
])
def test_secrets_never_reach_a_line_of_either_format(secret: str, kept: str) -> None:
    try:
        raise RuntimeError(f"failed with {secret}")
    except RuntimeError:
        record = _record("robots", "calling with %s", secret, exc=True)
    for formatted in (JsonFormatter().format(record), TextFormatter().format(record)):
        assert "hunter2secret" not in formatted and "abcdefghij" not in formatted
        assert "x" * 43 not in formatted
        assert kept in formatted


def test_the_console_leaves_out_embedded_setup_the_local_model_server_and_idle_sweeps() -> None:
    console = ConsoleFilter()
    assert not console.filter(_record("pgserver", "Running commandline: initdb"))
    assert console.filter(_record("pgserver", "Failed to start server", level=logging.ERROR))
    assert not console.filter(_record("arq.worker", "%6.2fs → %s(%s)%s", 0.0,
                                      "cron:sweep_turns", "", ""))
    assert not console.filter(_record("arq.worker", "%6.2fs ← %s ● %s", 0.01,
                                      "cron:sweep_turns", "{}"))
    assert console.filter(_record("arq.worker", "Starting worker for 3 functions: %s",
                                  "run_turn, summarise_session, cron:sweep_turns"))
    assert console.filter(_record("arq.worker", "%6.2fs → %s(%s)%s", 0.0, "j1:run_turn", "",
                                  ""))
    assert console.filter(_record("uvicorn.error", "Started server process [%d]", 1))
