"""Find PostgreSQL and Redis for the tests, or start embedded ones.

Order: TEST_DATABASE_URL / TEST_REDIS_URL if set; else the standard local ports (or
ROBOTS_TEST_LOCAL_POSTGRES / ROBOTS_TEST_LOCAL_REDIS); else the embedded servers (set
ROBOTS_TEST_EMBEDDED=1 to force them).
"""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import psycopg
import pytest

from app.cli.embedded import EmbeddedPostgres, EmbeddedRedis, postgres_answers

# Where a run looks for a developer's servers. The test of the embedded path
# (tests/e2e/test_embedded_path.py) points these at closed ports: a machine without them.
LOCAL_POSTGRES = os.environ.get("ROBOTS_TEST_LOCAL_POSTGRES",
                                "postgresql://postgres@127.0.0.1:5432/postgres")
LOCAL_REDIS = os.environ.get("ROBOTS_TEST_LOCAL_REDIS", "redis://127.0.0.1:6379/0")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class FoundServices:
    """Admin URLs for the servers the test run uses, and what it started itself."""

    def __init__(self) -> None:
        self._stoppers: list[EmbeddedPostgres | EmbeddedRedis] = []
        self._tmp = Path(tempfile.mkdtemp(prefix="robots-test-"))
        force_embedded = os.environ.get("ROBOTS_TEST_EMBEDDED") == "1"
        self.postgres_admin_url = self._postgres(force_embedded)
        self.redis_url = self._redis(force_embedded)
        # Every key this run writes starts with this, so a developer's Redis data is safe.
        self.redis_prefix = f"robots-test-{uuid.uuid4().hex[:8]}"

    def _postgres(self, force_embedded: bool) -> str:
        if url := os.environ.get("TEST_DATABASE_URL"):
            return url
        if not force_embedded and postgres_answers(LOCAL_POSTGRES):
            return LOCAL_POSTGRES
        server = EmbeddedPostgres(self._tmp / "pg")
        self._stoppers.append(server)
        return server.url

    def _redis(self, force_embedded: bool) -> str:
        if url := os.environ.get("TEST_REDIS_URL"):
            return url
        local = urlsplit(LOCAL_REDIS)
        if not force_embedded and _reachable(local.hostname or "127.0.0.1", local.port or 6379):
            return LOCAL_REDIS
        server = EmbeddedRedis(self._tmp / "redis")
        self._stoppers.append(server)
        return server.url

    def stop(self) -> None:
        for server in reversed(self._stoppers):
            server.stop()


def database_url(admin_url: str, name: str) -> str:
    """The admin URL pointed at another database on the same server."""
    info = psycopg.conninfo.conninfo_to_dict(admin_url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in info.items() if v is not None})


def in_ci() -> bool:
    """CI runners set CI (GitHub Actions, GitLab, Buildkite, ...: CI=true)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def cannot_check(reason: str) -> NoReturn:
    """Skip a check this machine cannot make; under CI, fail instead: a check CI skips is
    a check that cannot fail."""
    if in_ci():
        pytest.fail(f"{reason}, and CI is set: this check must run")
    pytest.skip(reason)
