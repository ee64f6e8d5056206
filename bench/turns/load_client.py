"""A load client process for bench.turns: many concurrent streams, per-delta latency.

    python -m bench.turns.load_client --mode pipeline|direct --out FILE ... (see --help)

`pipeline` posts chats to the API and reads the SSE replies; `direct` posts the same
streaming completion straight to the stamped fake model. Both read with the same lean
client (bench.harness.sse), so what differs is only what lies between. Each text delta
carries the model server's send time (bench.turns.stamped_model): latency = read time - send time
on the machine's one monotonic clock. Runs in its own process so the client's CPU is its
own line in the report; writes its figures as JSON to --out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import time
import uuid
from collections import Counter

import httpx
import msgspec

from bench.harness.machine import raise_open_files_limit
from bench.harness.sse import DONE, Connection, chat_body, is_finish, text_delta
from bench.turns.stamped_model import parse_stamp

# The request a worker sends (workers/prompt.py build_request); bench.turns.measure's
# direct baselines send the same.
SYSTEM = "You are a helpful robot."
MAX_TOKENS = 4096


class StreamResult(msgspec.Struct):
    """One stream's progress, updated as it goes: a stream cut short keeps what it got."""

    ok: bool = False
    deltas: int = 0
    opened_ns: int = 0
    first_ns: int = 0
    last_ns: int = 0
    error: str | None = None

    def delta(self, at: int) -> None:
        self.first_ns = self.first_ns or at
        self.last_ns = at
        self.deltas += 1


class LoadReport(msgspec.Struct):
    mode: str
    streams: int
    complete: int
    errors: dict[str, int]
    latency_ms: list[float]  # read time - model send time, every delta
    gap_ms: list[float]  # read-time gaps between successive deltas of a stream
    first_delta_ms: list[float]  # request sent -> first delta read
    spans: list[tuple[int, int]]  # (first delta, last delta) read times, ns
    cpu_s: float
    wall_s: float


class Collector:
    def __init__(self) -> None:
        self.latency_ms: list[float] = []
        self.gap_ms: list[float] = []

    def delta(self, text: str, at: int, previous: int) -> None:
        stamp = parse_stamp(text)
        if stamp is not None:
            self.latency_ms.append((at - stamp[0]) / 1e6)
        if previous:
            self.gap_ms.append((at - previous) / 1e6)


async def pipeline_stream(args: argparse.Namespace, index: int, out: Collector,
                          result: StreamResult) -> None:
    conn = Connection(args.host, args.port, args.token)
    result.opened_ns = time.monotonic_ns()
    done = finished = False
    try:
        body = chat_body(f"load-{uuid.uuid4().hex}", f"m-{index}", f"load stream {index}")
        async for at, data in conn.stream("/robots/chat/sse", body):
            if data == DONE:
                done = True
                continue
            text = text_delta(data)
            if text is not None:
                out.delta(text, at, result.last_ns)
                result.delta(at)
            elif is_finish(data):
                finished = True
    finally:
        await conn.close()
    result.ok = done and finished and result.deltas == args.tokens
    if not result.ok:
        result.error = f"incomplete: done={done} finish={finished} deltas={result.deltas}"


class _Delta(msgspec.Struct):
    content: str | None = None


class _Choice(msgspec.Struct):
    delta: _Delta
    finish_reason: str | None = None


class _Chunk(msgspec.Struct):
    choices: list[_Choice] = []


_decode_chunk = msgspec.json.Decoder(_Chunk)


async def direct_stream(args: argparse.Namespace, index: int, out: Collector,
                        result: StreamResult) -> None:
    """The completion a worker would ask for, read straight from the model's SSE."""
    url = httpx.URL(args.base_url)
    conn = Connection(url.host, url.port or 80, "dummy")
    result.opened_ns = time.monotonic_ns()
    finished = False
    body = {"model": "echo", "stream": True, "stream_options": {"include_usage": True},
            "max_completion_tokens": MAX_TOKENS,
            "messages": [{"role": "system", "content": SYSTEM},
                         {"role": "user", "content": f"load stream {index}"}]}
    try:
        async for at, data in conn.stream(url.path.rstrip("/") + "/chat/completions", body):
            if data == DONE:
                continue
            for choice in _decode_chunk.decode(data).choices[:1]:
                if choice.delta.content:
                    out.delta(choice.delta.content, at, result.last_ns)
                    result.delta(at)
                if choice.finish_reason is not None:
                    finished = True
    finally:
        await conn.close()
    result.ok = finished and result.deltas == args.tokens
    if not result.ok:
        result.error = f"incomplete: finish={finished} deltas={result.deltas}"


async def run(args: argparse.Namespace) -> LoadReport:
    out = Collector()
    # An overloaded pipeline must not hold the run hostage: a stream gets its length + 30 s.
    timeout = args.tokens / max(args.tokens_per_second, 1) + 30

    async def one(slot: int) -> StreamResult:
        index = slot * args.processes + args.process_index
        delay = args.start_ns / 1e9 + index / args.rate - time.monotonic()
        await asyncio.sleep(max(0.0, delay))
        result = StreamResult()
        stream = direct_stream if args.mode == "direct" else pipeline_stream
        try:
            async with asyncio.timeout(timeout):
                await stream(args, index, out, result)
        except Exception as exc:
            result.ok = False
            result.error = f"{type(exc).__name__} (cut short)"
        return result

    began = time.monotonic()
    results = await asyncio.gather(*(one(slot) for slot in range(args.streams)))
    wall = time.monotonic() - began
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return LoadReport(
        mode=args.mode, streams=args.streams, complete=sum(r.ok for r in results),
        errors=dict(Counter(r.error for r in results if r.error)),
        latency_ms=out.latency_ms, gap_ms=out.gap_ms,
        first_delta_ms=[(r.first_ns - r.opened_ns) / 1e6 for r in results if r.first_ns],
        spans=[(r.first_ns, r.last_ns) for r in results if r.first_ns],
        cpu_s=usage.ru_utime + usage.ru_stime, wall_s=wall)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.turns.load_client")
    parser.add_argument("--mode", choices=["pipeline", "direct"], required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="the API's port (pipeline)")
    parser.add_argument("--token", default="", help="API token (pipeline)")
    parser.add_argument("--base-url", default="", help="the fake model's /v1 URL (direct)")
    parser.add_argument("--streams", type=int, required=True, help="streams of this process")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--process-index", type=int, default=0)
    parser.add_argument("--rate", type=float, required=True,
                        help="streams opened per second, all processes together")
    parser.add_argument("--start-ns", type=int, required=True,
                        help="CLOCK_MONOTONIC ns at which the first stream opens")
    parser.add_argument("--tokens", type=int, required=True, help="deltas each stream gets")
    parser.add_argument("--tokens-per-second", type=float, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    raise_open_files_limit()
    loop_factory = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        report = runner.run(run(args))
    with open(args.out, "wb") as f:
        f.write(msgspec.json.encode(report))


if __name__ == "__main__":
    main()
