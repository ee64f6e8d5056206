"""What bench.eventlog writes and how it counts: session events, the run's settings, and
one measured figure."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NamedTuple, TypeVar

import msgspec

from app.domain.events import SessionRenamed, SessionStarted
from app.eventstore import Event, EventMetadata
from bench.harness.figures import percentile
from bench.harness.machine import CpuSample

ACCOUNT_ID = str(uuid.UUID(int=1))  # sessions.created_by is a uuid column
EMPTY_METADATA = msgspec.json.encode(EventMetadata()).decode()  # what append stores by default

T = TypeVar("T")


class Settings(NamedTuple):
    warmup_s: float
    duration_s: float
    rebuild_events: int
    compare_in_process: bool
    uvloop: bool  # uvicorn's loop (the web processes); arq workers run plain asyncio


class Measured(NamedTuple):
    events: int
    seconds: float
    latencies: list[float]  # seconds per append (or per plain batch)
    machine_busy: float | None = None  # all CPUs, including work that is not ours

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    def latency_ms(self) -> str:
        p50, p99 = (percentile(self.latencies, q) * 1000 for q in (50, 99))
        return f"{p50:.1f}/{p99:.1f}"

    def busy(self) -> str:
        return "?" if self.machine_busy is None else f"{self.machine_busy * 100:.0f}"


async def timed(work: Awaitable[int]) -> Measured:
    """`work` (which returns the events it handled), timed as one figure."""
    cpu, started = CpuSample(), time.perf_counter()
    events = await work
    seconds = time.perf_counter() - started
    return Measured(events, seconds, [seconds], cpu.busy())


def session_events(session_id: str, after_version: int, count: int) -> list[Event]:
    """The next `count` events of a session stream now at `after_version`."""
    events: list[Event] = []
    for version in range(after_version + 1, after_version + count + 1):
        if version == 1:
            meta = {"team": "bench", "tier": len(session_id) % 3}
            started = SessionStarted(
                session_id=session_id, created_by=ACCOUNT_ID, name="bench session", metadata=meta
            )
            events.append(started)
        else:
            events.append(SessionRenamed(session_id=session_id, name=f"renamed {version}"))
    return events


def event_loop_runner(settings: Settings) -> Callable[[Coroutine[Any, Any, T]], T]:
    if settings.uvloop:
        import uvloop

        return uvloop.run
    return asyncio.run
