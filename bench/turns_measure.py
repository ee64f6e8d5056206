"""Measurements 1-3 of bench.turns against a running stack; each returns figures, no output.

Every pipeline figure has a baseline taken in the same run: the same fake model read
directly through the worker's own provider adapter (the OpenAI SDK sends the request, the
adapter decodes the stream: exactly what a worker does), so what is left is what the
pipeline adds: the API, the log, arq, Redis, the relay and SSE.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import psutil

from app.adapters.llm.base import ModelRequest, PromptMessage, ProviderConfig
from app.adapters.llm.events import ModelEvent, TextDelta
from app.adapters.llm.openai_adapter import OpenAIAdapter
from bench.common import percentile
from bench.turns_load import MAX_TOKENS, SYSTEM, LoadReport
from bench.turns_sse import Connection, chat_body, text_delta
from bench.turns_stamp import parse_stamp


def ms_since(start_ns: int, end_ns: int) -> float:
    return (end_ns - start_ns) / 1e6


def q(values: Sequence[float]) -> tuple[float, float, float]:
    """p50, p90, p99."""
    return percentile(values, 50), percentile(values, 90), percentile(values, 99)


def sdk_client(base_url: str) -> OpenAIAdapter:
    """The model as a worker reads it: app.adapters.llm.openai_adapter, no retries."""
    return OpenAIAdapter(ProviderConfig(name="bench", kind="openai-compatible",
                                        base_url=base_url, max_retries=0))


def _sdk_stream(client: OpenAIAdapter, text: str) -> AsyncIterator[ModelEvent]:
    return client.stream(ModelRequest(
        model="echo", system=SYSTEM, max_tokens=MAX_TOKENS,
        messages=[PromptMessage(role="user", text=text)]))


# 1. Added time to first token ------------------------------------------------------------

@dataclass
class Ttft:
    pipeline_ms: list[float] = field(default_factory=list)
    direct_ms: list[float] = field(default_factory=list)

    @property
    def added_ms(self) -> list[float]:
        """Per sample: the pipeline's time to first token minus the direct one next to it."""
        return [p - d for p, d in zip(self.pipeline_ms, self.direct_ms, strict=True)]


async def pipeline_first_delta(conn: Connection, text: str) -> float:
    """POST a new session's first message; ms to its first text delta (read to [DONE])."""
    began, first = time.monotonic_ns(), 0
    body = chat_body(f"ttft-{uuid.uuid4().hex}", f"m-{uuid.uuid4().hex[:8]}", text)
    async for at, data in conn.stream("/robots/chat/sse", body):
        if not first and text_delta(data):
            first = at
    if not first:
        raise RuntimeError("a pipeline turn streamed no text delta")
    return ms_since(began, first)


async def direct_first_delta(client: OpenAIAdapter, text: str) -> float:
    began, first = time.monotonic_ns(), 0
    async for event in _sdk_stream(client, text):
        if not first and isinstance(event, TextDelta) and event.text:
            first = time.monotonic_ns()
    if not first:
        raise RuntimeError("the model streamed no text delta")
    return ms_since(began, first)


async def measure_ttft(conn: Connection, client: OpenAIAdapter, samples: int,
                       warmup: int) -> Ttft:
    """Sequential samples, pipeline and direct interleaved (alternating which goes first)
    so that drift on the machine touches both alike."""
    result = Ttft()
    for i in range(warmup + samples):
        text = f"Benchmark turn {i}: please answer."
        if i % 2:
            direct = await direct_first_delta(client, text)
            pipeline = await pipeline_first_delta(conn, text)
        else:
            pipeline = await pipeline_first_delta(conn, text)
            direct = await direct_first_delta(client, text)
        if i >= warmup:
            result.pipeline_ms.append(pipeline)
            result.direct_ms.append(direct)
        await asyncio.sleep(0.01)  # let the turn's tail (lease release, projector) settle
    return result


# 2. One fast stream -----------------------------------------------------------------------

@dataclass
class StreamRate:
    deltas: int
    client_rate: float  # deltas/s between the first and the last delta read
    source_rate: float  # deltas/s between the first and last send times (stamps)


def _rate(count: int, first_ns: int, last_ns: int) -> float:
    return (count - 1) / ((last_ns - first_ns) / 1e9) if count > 1 and last_ns > first_ns else 0


async def pipeline_rate(conn: Connection) -> StreamRate:
    reads: list[int] = []
    stamps: list[int] = []
    body = chat_body(f"rate-{uuid.uuid4().hex}", "m-1", "Stream as fast as you can.")
    async for at, data in conn.stream("/robots/chat/sse", body):
        text = text_delta(data)
        if text is not None:
            reads.append(at)
            if (stamp := parse_stamp(text)) is not None:
                stamps.append(stamp[0])
    return _stream_rate(reads, stamps)


async def direct_rate(client: OpenAIAdapter) -> StreamRate:
    reads: list[int] = []
    stamps: list[int] = []
    async for event in _sdk_stream(client, "Stream as fast as you can."):
        if isinstance(event, TextDelta) and event.text:
            reads.append(time.monotonic_ns())
            if (stamp := parse_stamp(event.text)) is not None:
                stamps.append(stamp[0])
    return _stream_rate(reads, stamps)


def _stream_rate(reads: list[int], stamps: list[int]) -> StreamRate:
    if not reads:
        return StreamRate(0, 0, 0)
    source = _rate(len(stamps), stamps[0], stamps[-1]) if stamps else 0
    return StreamRate(len(reads), _rate(len(reads), reads[0], reads[-1]), source)


@dataclass
class Rates:
    pipeline: list[StreamRate] = field(default_factory=list)
    direct: list[StreamRate] = field(default_factory=list)

    @staticmethod
    def median(runs: list[StreamRate]) -> StreamRate:
        ordered = sorted(runs, key=lambda r: r.client_rate)
        return ordered[len(ordered) // 2]


async def measure_rate(conn: Connection, client: OpenAIAdapter, runs: int) -> Rates:
    result = Rates()
    for i in range(runs):
        if i % 2:
            result.direct.append(await direct_rate(client))
            result.pipeline.append(await pipeline_rate(conn))
        else:
            result.pipeline.append(await pipeline_rate(conn))
            result.direct.append(await direct_rate(client))
        await asyncio.sleep(0.2)
    return result


# 3. Many concurrent streams ---------------------------------------------------------------

@dataclass
class Load:
    """All client processes of one mode, merged."""

    reports: list[LoadReport]

    @property
    def streams(self) -> int:
        return sum(r.streams for r in self.reports)

    @property
    def complete(self) -> int:
        return sum(r.complete for r in self.reports)

    @property
    def errors(self) -> dict[str, int]:
        merged: dict[str, int] = {}
        for report in self.reports:
            for error, count in report.errors.items():
                merged[error] = merged.get(error, 0) + count
        return merged

    @property
    def latency_ms(self) -> list[float]:
        return [x for r in self.reports for x in r.latency_ms]

    @property
    def gap_ms(self) -> list[float]:
        return [x for r in self.reports for x in r.gap_ms]

    @property
    def first_delta_ms(self) -> list[float]:
        return [x for r in self.reports for x in r.first_delta_ms]

    @property
    def client_cpu_s(self) -> float:
        return sum(r.cpu_s for r in self.reports)

    @property
    def peak_concurrent(self) -> int:
        """Most streams between their first and last delta at one moment."""
        edges = sorted([(s, 1) for s, _ in self.spans] + [(e, -1) for _, e in self.spans])
        peak = live = 0
        for _, step in edges:
            live += step
            peak = max(peak, live)
        return peak

    @property
    def spans(self) -> list[tuple[int, int]]:
        return [tuple(s) for r in self.reports for s in r.spans]  # type: ignore[misc]


async def run_load(mode: str, folder: Path, *, processes: int, streams: int, rate: float,
                   tokens: int, tokens_per_second: float, port: int = 0, token: str = "",
                   base_url: str = "") -> Load:
    """`streams` streams over `processes` client processes, opened at `rate` per second."""
    start_ns = time.monotonic_ns() + 2_000_000_000  # time for the processes to import
    procs, outs = [], []
    for i in range(processes):
        out = folder / f"load-{mode}-{i}-{uuid.uuid4().hex[:6]}.json"
        outs.append(out)
        share = streams // processes + (1 if i < streams % processes else 0)
        argv = [sys.executable, "-m", "bench.turns_load", "--mode", mode,
                "--port", str(port), "--token", token, "--base-url", base_url,
                "--streams", str(share), "--processes", str(processes),
                "--process-index", str(i), "--rate", str(rate), "--start-ns", str(start_ns),
                "--tokens", str(tokens), "--tokens-per-second", str(tokens_per_second),
                "--out", str(out)]
        procs.append(await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT))
    limit = 2 + streams / rate + tokens / max(tokens_per_second, 1) + 60
    try:
        outputs = await asyncio.wait_for(
            asyncio.gather(*(p.communicate() for p in procs)), limit)
    finally:
        for p in procs:
            if p.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    p.kill()
                await p.wait()
    reports = []
    for proc, out, (text, _) in zip(procs, outs, outputs, strict=True):
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"load client failed ({proc.returncode}):\n"
                               f"{(text or b'').decode(errors='replace')[-2000:]}")
        reports.append(msgspec.json.decode(out.read_bytes(), type=LoadReport))
    return Load(reports)


class PeakRss:
    """Samples a process's resident memory while running; `peak_mb` is the highest seen,
    `hwm_mb` the kernel's high-water mark (VmHWM) since the process started."""

    def __init__(self, pid: int, every_s: float = 0.2) -> None:
        self.process = psutil.Process(pid)
        self.every_s = every_s
        self.peak_mb = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            with contextlib.suppress(psutil.Error):
                self.peak_mb = max(self.peak_mb, self.process.memory_info().rss / 2**20)
            await asyncio.sleep(self.every_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self._sample())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def hwm_mb(self) -> float:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return self.peak_mb
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return self.peak_mb


class CpuMeter:
    """CPU seconds each named group of processes used between start() and stop(), and what
    the whole machine used (other tenants included) from /proc/stat."""

    def __init__(self) -> None:
        self._before: dict[int, float] = {}
        self._machine_before = 0.0
        self.began = 0.0

    @staticmethod
    def cpu(pid: int) -> float:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            return 0.0
        return float(times.user + times.system)

    @staticmethod
    def _machine() -> float:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    def start(self, pids: Sequence[int]) -> None:
        self._before = {pid: self.cpu(pid) for pid in pids}
        self._machine_before = self._machine()
        self.began = time.monotonic()

    def stop(self, groups: Mapping[str, Sequence[int]]) -> tuple[dict[str, float], float, float]:
        """(CPU s per group, machine CPU s, wall s). A pid not seen at start counts from 0."""
        used = {name: sum(max(0.0, self.cpu(p) - self._before.get(p, 0.0)) for p in pids)
                for name, pids in groups.items()}
        return used, self._machine() - self._machine_before, time.monotonic() - self.began


class MachineShare:
    """Over one part of the run: CPU seconds the machine spent, and how much of it was ours:
    this process and every child it reaped (rusage), and our database's backends (sampled
    while they live); the rest is Redis, the OS and other tenants of the machine."""

    def __init__(self, backends: Callable[[], Awaitable[set[int]]]) -> None:
        self.backends = backends
        self.machine = CpuMeter()
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.rusage = 0.0
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def _rusage() -> float:
        total = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            total += usage.ru_utime + usage.ru_stime
        return total

    async def _sample_backends(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                for pid in await self.backends():
                    cpu = CpuMeter.cpu(pid)
                    self.first.setdefault(pid, 0.0)  # born after start(): all its CPU
                    self.last[pid] = cpu
            await asyncio.sleep(0.5)

    async def start(self) -> None:
        self.rusage = self._rusage()
        self.machine.start([])
        for pid in await self.backends():
            self.first[pid] = self.last[pid] = CpuMeter.cpu(pid)
        self._task = asyncio.create_task(self._sample_backends())

    async def stop(self) -> tuple[float, float, float]:
        """(machine CPU s, ours, wall s)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        _, machine, wall = self.machine.stop({})
        backends = sum(max(0.0, self.last[p] - self.first.get(p, 0.0)) for p in self.last)
        return machine, self._rusage() - self.rusage + backends, wall


def listening_pid(port: int) -> int | None:
    """The process listening on a loopback TCP port (the Redis server), if visible."""
    with contextlib.suppress(psutil.Error):
        for conn in psutil.net_connections("tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                return int(conn.pid) if conn.pid else None
    return None
