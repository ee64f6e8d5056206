"""Measurement 1 of bench.tools: the tool round trip, from the model server's own stamps.

A round trip is the time from the end of a model step that called `current_time` (its last
frame handed to the server) to the model server holding the next step's whole request. The
next step's own time to first token (request held -> first output frame) is the model's,
so leaving it out is what the issue's "to the first token of the next step, minus the
model's own time to first token" comes to; both stamps are kept and shown beside it.

Every stamp is taken in the model server process on one monotonic clock, so neither the
client nor the pipeline's clocks are trusted. The baseline is the same exchange (ask, read
the tool call to the end of the body, answer it at once, ask again) driven straight at the
model server: by the OpenAI SDK (`chat.completions.create`, its default transport), and by
the worker's own provider adapter (the SDK's `post` over aiohttp, as a worker sends it).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import openai

from app.adapters.llm.base import (
    ModelRequest,
    PromptMessage,
    PromptToolCall,
    PromptToolResult,
    ProviderConfig,
    ToolSpec,
)
from app.adapters.llm.events import ToolInputEnded
from app.adapters.llm.openai_adapter import OpenAIAdapter
from app.domain.tools import TOOLS
from bench.harness.sse import Connection, chat_body, is_finish, text_delta
from bench.tools.scripted_model import STAMPS_PATH, Stamp, question

SYSTEM = "You are a helpful assistant for a community team. Answer clearly and briefly."
CLOCK = TOOLS["current_time"]
CLOCK_SPEC = ToolSpec(name=CLOCK.callable_name, description=CLOCK.description,
                      input_schema=CLOCK.input_schema)
MAX_TOKENS = 4_096  # what a worker asks for (workers/turns/prompt.py)


def new_tag() -> str:
    return uuid.uuid4().hex[:12]


# The pipeline -----------------------------------------------------------------------------

async def pipeline_turn(conn: Connection, tag: str, steps: int, tokens: int) -> int:
    """One turn in a new session through `robots serve`; the text deltas it streamed.
    Raises when the turn did not finish (the report would be about nothing)."""
    deltas = 0
    finished = False
    body = chat_body(f"tools-{tag}", f"m-{tag}", question(tag, steps, tokens))
    async for _, data in conn.stream("/robots/chat/sse", body):
        if text_delta(data) is not None:
            deltas += 1
        finished = finished or is_finish(data)
    if not finished:
        raise RuntimeError(f"a {steps}-step turn ended without its finish part")
    return deltas


# The baselines ----------------------------------------------------------------------------

def _clock_output() -> str:
    """What the no-op tool answers (app/services/tools/native.py's current_time)."""
    return json.dumps({"now": datetime.now(UTC).isoformat(), "timezone": "UTC"})


def sdk_client(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base_url, api_key="dummy", max_retries=0)


async def sdk_exchange(client: openai.AsyncOpenAI, tag: str) -> None:
    """Ask, read the tool call to the end of the stream, answer it, ask again: the OpenAI
    SDK's `chat.completions.create` (its default transport), nothing else between."""
    messages: list[Any] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": question(tag, 2, 20)}]
    tools: list[Any] = [{"type": "function", "function": {
        "name": CLOCK_SPEC.name, "description": CLOCK_SPEC.description,
        "parameters": CLOCK_SPEC.input_schema}}]
    calls: dict[int, dict[str, str]] = {}
    stream = await client.chat.completions.create(
        model="echo", messages=messages, tools=tools, stream=True,
        stream_options={"include_usage": True}, max_tokens=MAX_TOKENS)
    async for chunk in stream:
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or ():
                got = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                got["id"] = call.id or got["id"]
                if call.function is not None:
                    got["name"] = call.function.name or got["name"]
                    got["arguments"] += call.function.arguments or ""
    if not calls:
        raise RuntimeError("the model called no tool in the baseline exchange")
    messages.append({"role": "assistant", "content": None, "tool_calls": [
        {"id": c["id"], "type": "function",
         "function": {"name": c["name"], "arguments": c["arguments"]}}
        for c in calls.values()]})
    messages += [{"role": "tool", "tool_call_id": c["id"], "content": _clock_output()}
                 for c in calls.values()]
    stream = await client.chat.completions.create(
        model="echo", messages=messages, tools=tools, stream=True,
        stream_options={"include_usage": True}, max_tokens=MAX_TOKENS)
    async for _ in stream:
        pass


def adapter_client(base_url: str) -> OpenAIAdapter:
    """The model as a worker reads it: app.adapters.llm.openai_adapter, no retries."""
    return OpenAIAdapter(ProviderConfig(name="bench", kind="openai-compatible",
                                        base_url=base_url, max_retries=0))


async def adapter_exchange(adapter: OpenAIAdapter, tag: str) -> None:
    """The same exchange through the worker's provider adapter."""
    asked = [PromptMessage(role="user", text=question(tag, 2, 20))]
    request = ModelRequest(model="echo", system=SYSTEM, messages=asked,
                           max_tokens=MAX_TOKENS, tools=[CLOCK_SPEC])
    calls = [PromptToolCall(call_id=e.call_id, name=e.name, arguments=e.arguments)
             async for e in adapter.stream(request) if isinstance(e, ToolInputEnded)]
    if not calls:
        raise RuntimeError("the model called no tool in the baseline exchange")
    results = [PromptToolResult(call_id=c.call_id, name=c.name, output=_clock_output())
               for c in calls]
    follow = msgspec.structs.replace(request, messages=[
        *asked, PromptMessage(role="assistant", tool_calls=calls),
        PromptMessage(role="tool", tool_results=results)])
    async for _ in adapter.stream(follow):
        pass


# The stamps -------------------------------------------------------------------------------

async def take_stamps(base_url: str) -> list[Stamp]:
    """The model server's stamps since the last call (it forgets what it hands over)."""
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(base_url.removesuffix("/v1") + STAMPS_PATH)
        response.raise_for_status()
    return msgspec.json.decode(response.content, type=list[Stamp])


@dataclass
class Trip:
    """One tool round trip, in ns of the model server's clock."""

    tag: str
    step: int  # the step that called the tool; the trip leads to step + 1
    ended_ns: int  # step's last frame sent
    received_ns: int  # step + 1's request fully read
    first_ns: int  # step + 1's first output frame sent

    @property
    def round_trip_ms(self) -> float:
        return (self.received_ns - self.ended_ns) / 1e6

    @property
    def to_first_token_ms(self) -> float:
        return (self.first_ns - self.ended_ns) / 1e6

    @property
    def model_ttft_ms(self) -> float:
        return (self.first_ns - self.received_ns) / 1e6


def trips(stamps: list[Stamp]) -> list[Trip]:
    """Every step -> next step of every tagged turn in `stamps`."""
    by_tag: dict[str, dict[int, Stamp]] = {}
    for stamp in stamps:
        if stamp.tag:
            by_tag.setdefault(stamp.tag, {})[stamp.step] = stamp
    found = []
    for tag, steps in by_tag.items():
        for step, stamp in sorted(steps.items()):
            after = steps.get(step + 1)
            if after is not None and stamp.last_ns and after.first_ns:
                found.append(Trip(tag, step, stamp.last_ns, after.received_ns, after.first_ns))
    return found


@dataclass
class RoundTrips:
    steps: int  # model steps of each pipeline turn
    pipeline: list[Trip] = field(default_factory=list)
    sdk: list[Trip] = field(default_factory=list)
    adapter: list[Trip] = field(default_factory=list)
    turns: int = 0
