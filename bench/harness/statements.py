"""PostgreSQL statements one chat turn costs (bench.turns part 4, bench.tools part 2).

The counter is the server's own statement log: `log_statement = 'all'` set on the scratch
database only (`ALTER DATABASE ... SET`, so only its new sessions log, and the setting goes
with the database), read back from the server's log file for lines of that database.
Every statement a client sends is one line, whoever sent it (API, worker, projector),
BEGIN and COMMIT included. pg_stat_statements would need `shared_preload_libraries`, a
server restart; this needs only a superuser and a log file this process can read.

When the log cannot be read the fallback is `pg_stat_database` (transactions and rows
written for the database), read after the statistics flush (PostgreSQL 15 flushes an idle
backend's counters up to 10 s late) - transactions, not statements, and said so.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg

_LINE = re.compile(r"\[(\d+)\] \S*@(\S+) LOG:  (?:statement|execute [^:]*): (.*)$")
_STATS_FLUSH_S = 11.0  # PGSTAT_IDLE_INTERVAL (10 s) and a margin


@dataclass
class Statement:
    pid: int
    text: str


class StatementLog:
    """Statements of one database, from the server log, between two marks."""

    def __init__(self, path: Path, db_name: str) -> None:
        self.path = path
        self.db_name = db_name

    @staticmethod
    async def enable(admin_url: str, db_name: str) -> StatementLog | None:
        """Turn statement logging on for the database; None when its log is out of reach.
        Only sessions opened afterwards log: start the processes after this."""
        async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as conn:
            prefix = await _show(conn, "log_line_prefix")
            if "%p" not in prefix or "%d" not in prefix or "%u" not in prefix:
                return None
            path = await _log_file(conn)
            if path is None:
                return None
            await conn.execute(f'ALTER DATABASE "{db_name}" SET log_statement = \'all\''
                               .encode())
        return StatementLog(path, db_name)

    def mark(self) -> int:
        return self.path.stat().st_size

    def since(self, offset: int) -> list[Statement]:
        with self.path.open("rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
        marker = f"@{self.db_name} LOG:  "
        found: list[Statement] = []
        last: Statement | None = None
        for line in text.splitlines():
            if marker in line and (m := _LINE.search(line)) and m.group(2) == self.db_name:
                last = Statement(int(m.group(1)), m.group(3).strip())
                found.append(last)
            elif line.startswith("\t") and last is not None and not last.text:
                last.text = line.strip()  # SQL that starts on its second line
            elif not line.startswith("\t"):
                last = None
        return found


async def _show(conn: psycopg.AsyncConnection[object], name: str) -> str:
    row = await (await conn.execute(f"SHOW {name}".encode())).fetchone()
    return str(row[0]) if row else ""  # type: ignore[index]


async def _log_file(conn: psycopg.AsyncConnection[object]) -> Path | None:
    """The file this server writes its log to, if this process may read it."""
    row = await (await conn.execute(
        "SELECT coalesce(pg_current_logfile(), ''), current_setting('data_directory'),"
        " pg_backend_pid()")).fetchone()
    assert row is not None
    current, data_dir, pid = str(row[0]), str(row[1]), int(row[2])  # type: ignore[index]
    candidates = []
    if current:
        candidates.append(Path(data_dir) / current)  # an absolute `current` wins the join
    # No logging collector: backends inherit the postmaster's stderr (pg_ctl -l FILE).
    try:
        candidates.append(Path(os.readlink(f"/proc/{pid}/fd/2")))
    except OSError:
        pass
    for path in candidates:
        try:
            if path.is_file():
                with path.open("rb"):
                    return path
        except OSError:
            continue
    return None


async def disable(admin_url: str, db_name: str) -> None:
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as conn:
        await conn.execute(f'ALTER DATABASE "{db_name}" RESET log_statement'.encode())


async def backend_owners(admin_url: str, db_name: str,
                         procs: dict[str, int]) -> dict[int, str]:
    """Backend pid -> the name of our process holding that connection (by client port)."""
    ports: dict[int, str] = {}
    for name, pid in procs.items():
        try:
            for conn in psutil.Process(pid).net_connections("tcp"):
                if conn.laddr:
                    ports[conn.laddr.port] = name
        except psutil.Error:
            continue
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as conn:
        rows = await (await conn.execute(
            "SELECT pid, client_port FROM pg_stat_activity WHERE datname = %s", [db_name]
        )).fetchall()
    return {int(pid): ports.get(int(port or 0), "other") for pid, port in rows}


# projections/waiting.py: the API polls this until projections pass the turn's last event,
# so how often it runs depends on the projector's timing, not on the reply.
_POLL = "SELECT count(*) FILTER (WHERE (transaction_id, global_position) >="


@dataclass
class TurnCount:
    total: int
    by_process: dict[str, int]
    poll_repeats: int  # statements of read-your-writes polls after the first
    texts: list[str] = field(default_factory=list)

    @property
    def own(self) -> int:
        """The turn's own statements: the API's and the worker's, the poll counted once.
        (The projector's depend on how it happens to batch the turn's commits.)"""
        return self.by_process.get("web", 0) + self.by_process.get("worker", 0) \
            - self.poll_repeats


def poll_repeats(statements: list[Statement]) -> int:
    """Statements spent on polls after the first, each with its BEGIN and COMMIT."""
    by_pid: dict[int, list[str]] = {}
    for s in statements:
        by_pid.setdefault(s.pid, []).append(s.text)
    polls = 0
    repeats = 0
    for texts in by_pid.values():
        for i, text in enumerate(texts):
            if not text.startswith(_POLL):
                continue
            polls += 1
            if polls > 1:
                repeats += 1 + (i > 0 and texts[i - 1] == "BEGIN") + (
                    i + 1 < len(texts) and texts[i + 1] == "COMMIT")
    return repeats


def count(statements: list[Statement], owners: dict[int, str]) -> TurnCount:
    by = Counter(owners.get(s.pid, "other") for s in statements)
    return TurnCount(len(statements), dict(sorted(by.items())), poll_repeats(statements),
                     [s.text for s in statements])


@dataclass
class Sized:
    tokens: int
    turns: list[TurnCount]

    @property
    def median(self) -> int:
        return int(statistics.median_low([t.total for t in self.turns]))

    @property
    def own(self) -> int:
        return int(statistics.median_low([t.own for t in self.turns]))

    def spread(self, name: str) -> str:
        values = sorted({t.by_process.get(name, 0) for t in self.turns})
        return f"{values[0]}-{values[-1]}" if len(values) > 1 else str(values[0])

    @property
    def typical(self) -> TurnCount:
        return next(t for t in self.turns if t.total == self.median)


async def pg_stat_counts(admin_url: str, db_name: str) -> tuple[int, int]:
    """(transactions, rows written) of the database so far, as the statistics know."""
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as conn:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        row = await (await conn.execute(
            "SELECT xact_commit + xact_rollback, tup_inserted + tup_updated + tup_deleted"
            " FROM pg_stat_database WHERE datname = %s", [db_name])).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def settle_stats() -> None:
    await asyncio.sleep(_STATS_FLUSH_S)
