"""What every benchmark needs: a PostgreSQL server, a scratch database, the environment and
command of a `robots` child process, and small statistics.

A benchmark never touches an existing database: it creates `robots_bench_<hex>`, migrates
it, and drops it at the end, even when the run fails or is interrupted.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import psycopg

from app.adapters.migrations import migrate_url
from app.cli.embedded import postgres_answers

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def default_admin_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or LOCAL_POSTGRES


@contextmanager
def admin_postgres(url: str | None) -> Iterator[str]:
    """An admin URL: `url`, else BENCH_DATABASE_URL, else the local server.

    Only when the local default does not answer is an embedded server started (and stopped
    on exit); a URL the caller named is used as given, so a typo fails loudly.
    """
    chosen = url or default_admin_url()
    if url or chosen != LOCAL_POSTGRES or postgres_answers(chosen):
        yield chosen
        return
    from app.cli.embedded import EmbeddedPostgres  # only the fallback pays for pgserver

    folder = Path(tempfile.mkdtemp(prefix="robots-bench-"))
    server = EmbeddedPostgres(folder / "pg")
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def database_url(admin_url: str, name: str) -> str:
    """The admin URL pointed at another database on the same server."""
    return psycopg.conninfo.make_conninfo(admin_url, dbname=name)


@asynccontextmanager
async def scratch_database(admin_url: str, prefix: str = "robots_bench",
                           keep: bool = False) -> AsyncIterator[str]:
    """A freshly created and migrated database, dropped on exit whatever happened,
    unless `keep`."""
    name = await create_database(admin_url, prefix)
    try:
        url = database_url(admin_url, name)
        await migrate_url(url)
        yield url
    finally:
        if not keep:
            await drop_database(admin_url, name)


async def create_database(admin_url: str, prefix: str) -> str:
    """A new empty database named `<prefix>_<10 hex digits>`; its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as admin:
        await admin.execute(f'CREATE DATABASE "{name}"'.encode())
    return name


async def drop_database(admin_url: str, name: str) -> None:
    # FORCE: a benchmark that died mid-run may leave connections (or child processes) open.
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as admin:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


async def delete_redis_keys(redis_url: str, pattern: str, named: Sequence[str] = ()) -> None:
    """Unlink the keys `named` and every key matching `pattern`, a thousand per command."""
    import redis.asyncio as aioredis  # imported here: eventlog's writer processes never need it

    client = aioredis.Redis.from_url(redis_url)
    try:
        for at in range(0, len(named), 1000):
            await client.unlink(*named[at : at + 1000])
        batch: list[bytes] = []
        async for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                await client.unlink(*batch)
                batch = []
        if batch:
            await client.unlink(*batch)
    finally:
        await client.aclose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def robots_command(*args: str) -> list[str]:
    """`robots ARGS`: the venv's console script, else the module it points at."""
    script = Path(sys.executable).parent / "robots"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "app.cli.main", *args]


def env_without_robots_settings() -> dict[str, str]:
    """Our environment minus every robots setting: a child reads only what it is given."""
    from app.config.settings import environment_variables  # here, like redis above

    ours = set(environment_variables().values())
    return {k: v for k, v in os.environ.items() if k not in ours}


def robots_env(url: str, redis_url: str, prefix: str, folder: Path,
               **extra: str) -> dict[str, str]:
    """Our environment with every robots setting replaced by the benchmark's."""
    return {**env_without_robots_settings(), "DATABASE_URL": url, "REDIS_URL": redis_url,
            "REDIS_PREFIX": prefix, "ROBOTS_DATA_DIR": str(folder / "data"),
            "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1", **extra}


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class CpuSample:
    """Machine-wide CPU use between two moments, from /proc/stat (Linux); None elsewhere."""

    def __init__(self) -> None:
        self.start = _cpu_times()

    def busy(self) -> float | None:
        """Fraction of all CPUs busy since this sample was taken."""
        end = _cpu_times()
        if self.start is None or end is None or end[0] <= self.start[0]:
            return None
        total, idle = end[0] - self.start[0], end[1] - self.start[1]
        return 1 - idle / total


def _cpu_times() -> tuple[int, int] | None:
    """(all jiffies, idle + iowait jiffies) summed over CPUs."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(fields), fields[3] + fields[4]


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the first column left-aligned, the rest right."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first, *rest = (str(c) for c in cells)
        padded = [c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)]
        parts = [first.ljust(widths[0]), *padded]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def verdict(ok: bool) -> str:
    """A target's mark in a report."""
    return "met" if ok else "MISSED"


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
