"""Measurements 1-3 of bench.turns against a running stack; each returns figures, no output.
(The CPU and memory meters beside them are bench.harness.machine's.)

Every pipeline figure has a baseline taken in the same run: the same fake model read
directly through the worker's own provider adapter (the OpenAI SDK sends the request, the
adapter decodes the stream: exactly what a worker does), so what is left is what the
pipeline adds: the API, the log, arq, Redis, the relay and SSE.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from app.adapters.llm.base import ModelRequest, PromptMessage, ProviderConfig
from app.adapters.llm.events import ModelEvent, TextDelta
from app.adapters.llm.openai_adapter import OpenAIAdapter
from bench.harness.sse import Connection, chat_body, text_delta
from bench.turns.load_client import MAX_TOKENS, SYSTEM, LoadReport
from bench.turns.stamped_model import parse_stamp


def ms_since(start_ns: int, end_ns: int) -> float:
    return (end_ns - start_ns) / 1e6


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
        argv = [sys.executable, "-m", "bench.turns.load_client", "--mode", mode,
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
