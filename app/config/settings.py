"""Typed settings, read once from the environment.

Each setting names its environment variable, its default and why it exists. Nothing else in
the code reads `os.environ` for configuration, so a test builds a `Settings` by hand.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import msgspec


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    # Where the event log and read models live. None: `robots dev` starts an embedded server.
    database_url: str | None = None
    # Pub/sub for live token deltas, the replay buffer and the arq queue. None: embedded.
    redis_url: str | None = None
    # Namespaces every Redis key, so several deployments (or test runs) share one Redis.
    redis_prefix: str = "robots"
    # Folder for the embedded PostgreSQL and Redis data and the generated dev secret.
    data_dir: Path = Path(".robots")
    host: str = "127.0.0.1"
    port: int = 8000
    # Browser origins on other sites that may call the API (CORS), comma separated, such as
    # `https://team.example.org`; `*` is any origin, without cookies. Empty: none.
    cors_allow_origins: str = ""
    # Encrypts provider API keys at rest. None: a key is generated once into data_dir.
    secret_key: str | None = None
    # Connections per process; the API mostly waits on Redis, so a small pool suffices.
    db_pool_min: int = 2
    db_pool_max: int = 10
    # How long a request waits for a database connection before it answers 503: while the
    # database is unreachable, clients hear so at once instead of hanging.
    db_pool_timeout_s: float = 3.0
    # Safety-net poll when a NOTIFY is missed (LISTEN wakes projections immediately).
    projection_poll_s: float = 1.0
    # How long an API request waits for projections to catch up with its own write.
    read_your_writes_timeout_s: float = 5.0
    log_level: str = "INFO"
    # "text": lines for people; "json": one JSON object per line (time, level, logger,
    # message, exception) for a log pipeline in production. Every process uses the same.
    log_format: Literal["text", "json"] = "text"
    # The model robots without one use, as provider/model. None: Anthropic if its key is set,
    # else OpenAI if its key is set, else the offline local model.
    default_model: str | None = None
    # Extra OpenAI-compatible endpoints as name=base_url pairs, comma separated.
    openai_compatible: str = "ollama=http://127.0.0.1:11434/v1"
    anthropic_api_key: str | None = None
    openai_api_key: str | None = None
    # None: the SDK's default (or its own ANTHROPIC_BASE_URL / OPENAI_BASE_URL variable).
    anthropic_base_url: str | None = None
    openai_base_url: str | None = None
    # None: the local model runs inside each worker; a URL: a separate local model server
    # (`python -m app.adapters.llm.local_model`).
    local_model_url: str | None = None
    # Retries of a model call that failed before its first token (429, 5xx, lost connection).
    model_max_retries: int = 3
    # A new session is named by its robot's model (a short title, asked beside its first
    # turn); off: sessions stay unnamed until a person names them, and no call is paid.
    name_sessions: bool = True
    # How long a naming call may take: a turn that ended before its name waits this long
    # (from the call's start) to record it, then leaves it to the next turn.
    session_name_timeout_s: float = 30.0
    # How long a worker's claim on a turn lasts without renewal: a dead worker's turn is
    # retried this long after it died.
    turn_lease_s: float = 15.0
    # Attempts per turn before it fails for good (a worker lost mid-turn counts as one).
    turn_max_attempts: int = 3
    # How long an API process answers a token it has checked from memory (0: every request
    # queries the database). Bounds how long a renamed account shows its old name elsewhere.
    token_trust_s: float = 5.0
    # `robots worker` is woken the moment a turn is queued; with no wake-up (one missed
    # while Redis reconnected) it looks at the queue this often anyway.
    worker_poll_s: float = 0.5
    # The poll of a plain `arq workers.worker.WorkerSettings`, which has no wake-up: its
    # 0.5 s default would dominate time to first token.
    arq_poll_delay_s: float = 0.005
    # The sweeper looks for stuck turns this often, and leaves turns younger than the grace.
    sweep_interval_s: int = 2
    sweep_grace_s: float = 5.0
    # How long a turn waits on approvals and client tool outputs before the sweeper denies
    # the calls ("no answer in time") and the turn goes on.
    tool_wait_timeout_s: float = 86400.0
    # Turns one worker process runs at once (they mostly wait on the model).
    worker_max_jobs: int = 500
    # A worker serves its Prometheus metrics on this port (None: it serves none).
    worker_metrics_port: int | None = None
    # Replay buffer of a turn's parts in Redis: how long it lives after the last part.
    stream_buffer_ttl_s: int = 3600
    # How long an open stream waits out a Redis outage (losing nothing) before it ends
    # with an `error` part the client can resume from.
    redis_outage_grace_s: float = 30.0
    # How long a worker reuses the provider settings it read (enabled, key, base URL) before
    # reading them again: an administrator's change reaches every worker within this.
    provider_settings_ttl_s: float = 2.0
    # A provider's cached model list older than this is reported stale (refresh it).
    model_list_max_age_s: int = 86400
    # How long one call to an MCP server may take (connecting, a tool call, a tool listing):
    # a tool that takes longer is the model's error, and the turn goes on.
    mcp_call_timeout_s: float = 30.0
    # Sessions whose folded state a process keeps between decisions (least recently used out
    # first): a decision on a kept session reads only the events after it. 0: none kept.
    session_cache_size: int = 256
    # A session stream's snapshot row is rewritten every this many events (further apart as
    # the session grows): a process that has not kept the session folds only the events
    # after it. 0: no snapshots.
    session_snapshot_every: int = 100
    # Files users send with a message (images, PDFs): the largest one file may be, and all of
    # one message's files together, in bytes (decoded). Past either: 413 file-too-large.
    max_file_bytes: int = 10 * 1024 * 1024
    max_message_file_bytes: int = 20 * 1024 * 1024
    # Fault injection for crash tests: a worker that reaches this point of a turn
    # ("after-step": a step with tool calls is recorded, its tools not started;
    # "after-tool-result": a tool's result is recorded, the next step not asked) stops
    # there until it is killed. Never set in production.
    fault_pause_at: str | None = None

    def __repr__(self) -> str:  # keys must never reach a log line through a settings dump
        return "Settings(...)"

    @property
    def model_for_new_robots(self) -> str:
        if self.default_model:
            return self.default_model
        if self.anthropic_api_key:
            return "anthropic/claude-sonnet-4-5"
        if self.openai_api_key:
            return "openai/gpt-4.1-mini"
        return "local/echo"

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.cors_allow_origins.split(",") if o.strip()]

    @property
    def compatible_endpoints(self) -> dict[str, str]:
        pairs = (p.split("=", 1) for p in self.openai_compatible.split(",") if "=" in p)
        return {name.strip(): url.strip() for name, url in pairs}


_ENV: dict[str, str] = {
    "database_url": "DATABASE_URL",
    "redis_url": "REDIS_URL",
    "redis_prefix": "REDIS_PREFIX",
    "data_dir": "ROBOTS_DATA_DIR",
    "host": "HOST",
    "port": "PORT",
    "cors_allow_origins": "CORS_ALLOW_ORIGINS",
    "secret_key": "ROBOTS_SECRET_KEY",
    "db_pool_min": "DB_POOL_MIN",
    "db_pool_max": "DB_POOL_MAX",
    "db_pool_timeout_s": "DB_POOL_TIMEOUT_S",
    "projection_poll_s": "PROJECTION_POLL_S",
    "read_your_writes_timeout_s": "READ_YOUR_WRITES_TIMEOUT_S",
    "log_level": "LOG_LEVEL",
    "log_format": "LOG_FORMAT",
    "default_model": "DEFAULT_MODEL",
    "openai_compatible": "OPENAI_COMPATIBLE_ENDPOINTS",
    "anthropic_api_key": "ANTHROPIC_API_KEY",
    "openai_api_key": "OPENAI_API_KEY",
    "anthropic_base_url": "ANTHROPIC_BASE_URL",
    "openai_base_url": "OPENAI_BASE_URL",
    "local_model_url": "LOCAL_MODEL_URL",
    "model_max_retries": "MODEL_MAX_RETRIES",
    "name_sessions": "NAME_SESSIONS",
    "session_name_timeout_s": "SESSION_NAME_TIMEOUT_S",
    "turn_lease_s": "TURN_LEASE_S",
    "turn_max_attempts": "TURN_MAX_ATTEMPTS",
    "token_trust_s": "TOKEN_TRUST_S",
    "worker_poll_s": "WORKER_POLL_S",
    "arq_poll_delay_s": "ARQ_POLL_DELAY_S",
    "stream_buffer_ttl_s": "STREAM_BUFFER_TTL_S",
    "redis_outage_grace_s": "REDIS_OUTAGE_GRACE_S",
    "sweep_interval_s": "SWEEP_INTERVAL_S",
    "sweep_grace_s": "SWEEP_GRACE_S",
    "worker_max_jobs": "WORKER_MAX_JOBS",
    "tool_wait_timeout_s": "TOOL_WAIT_TIMEOUT_S",
    "worker_metrics_port": "WORKER_METRICS_PORT",
    "provider_settings_ttl_s": "PROVIDER_SETTINGS_TTL_S",
    "model_list_max_age_s": "MODEL_LIST_MAX_AGE_S",
    "mcp_call_timeout_s": "MCP_CALL_TIMEOUT_S",
    "session_cache_size": "SESSION_CACHE_SIZE",
    "session_snapshot_every": "SESSION_SNAPSHOT_EVERY",
    "max_file_bytes": "MAX_FILE_BYTES",
    "max_message_file_bytes": "MAX_MESSAGE_FILE_BYTES",
    "fault_pause_at": "ROBOTS_FAULT_PAUSE_AT",
}


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from environment variables; empty values count as unset."""
    env = os.environ if environ is None else environ
    raw = {field: env[var] for field, var in _ENV.items() if env.get(var)}
    try:
        return msgspec.convert(raw, Settings, strict=False, dec_hook=_decode_path)
    except msgspec.ValidationError as exc:
        raise SystemExit(f"invalid configuration: {exc}") from exc


def _decode_path(kind: type, value: object) -> object:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(f"cannot read {kind} from the environment")


def environment_variables() -> dict[str, str]:
    """Setting name to environment variable, for docs and `robots config`."""
    return dict(_ENV)
