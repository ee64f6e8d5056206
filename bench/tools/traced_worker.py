"""`robots worker` with a stopwatch on what a tool round trip does, for `--trace`.

    python -m bench.tools.traced_worker --trace-file PATH

The worker itself, unchanged, with the calls between two model steps timed: reading the
end of the model's stream, each append (and, inside it, the stream's load, the insert and
the after-commit reactions), the tool's context, the tool, and building the next request.
Two moments are marked too: the adapter
reaching the end of the body, and the step's Finished event reaching the turn. Each span is
(label, start ns, end ns, depth; -1 for a moment) on CLOCK_MONOTONIC, the clock the model
server stamps with, so the two line up; a turn's spans are appended to the file as JSON
lines when the turn ends. Wrapping costs a few microseconds a span: the untraced run is
the measurement, this one says where its time goes.
"""

from __future__ import annotations

import argparse
import contextvars
import functools
import inspect
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STREAM = "read the model's stream to its end"
_DEPTH = contextvars.ContextVar("bench_trace_depth", default=0)
_SPANS: list[tuple[str, int, int, int]] = []


def _label_of_append(outcome: Any) -> str:
    events = getattr(outcome, "events", None) or []
    names = sorted({type(e).__name__ for e in events})
    return "append " + "+".join(names) if names else "append (nothing)"


def _wrap(owner: Any, attr: str, label: str | Callable[[Any], str]) -> None:
    """Time every call of `owner.attr` (a coroutine function, or a plain one)."""
    original = getattr(owner, attr)

    def name(result: Any) -> str:
        return label if isinstance(label, str) else label(result)

    if inspect.iscoroutinefunction(original):
        @functools.wraps(original)
        async def traced(*args: Any, **kwargs: Any) -> Any:
            depth = _DEPTH.get()
            token = _DEPTH.set(depth + 1)
            start = time.monotonic_ns()
            result = None
            try:
                result = await original(*args, **kwargs)
                return result
            finally:
                _SPANS.append((name(result), start, time.monotonic_ns(), depth))
                _DEPTH.reset(token)
    else:
        @functools.wraps(original)
        def traced(*args: Any, **kwargs: Any) -> Any:
            depth = _DEPTH.get()
            start = time.monotonic_ns()
            result = None
            try:
                result = original(*args, **kwargs)
                return result
            finally:
                _SPANS.append((name(result), start, time.monotonic_ns(), depth))
    setattr(owner, attr, traced)


def _mark(label: str) -> None:
    """A moment, not a span (depth -1): it splits the span it falls in."""
    now = time.monotonic_ns()
    _SPANS.append((label, now, now, -1))


def _mark_stream_ends() -> None:
    """When the adapter has read the model's body to its end, and when the step's Finished
    event reaches the turn's encoder: the two moments inside the stream's last stretch."""
    from app.adapters.llm import openai_adapter
    from app.adapters.llm.events import Finished
    from workers.turns.ui_stream import StepEncoder

    body = openai_adapter._body

    async def body_to_its_end(response: Any) -> Any:
        async for raw in body(response):
            yield raw
        _mark("the adapter read the body to its end")

    openai_adapter._body = body_to_its_end
    on_event = StepEncoder.on_event

    @functools.wraps(on_event)
    def seen(self: Any, event: Any) -> Any:
        if isinstance(event, Finished):
            _mark("the step's Finished event reached the turn")
        return on_event(self, event)

    StepEncoder.on_event = seen  # type: ignore[method-assign]


def install(path: Path) -> None:
    from app.eventstore import EventStore
    from app.services.handler import SessionHandler
    from app.services.reactions import Reactions
    from workers.turns import run, tool_calls
    from workers.turns.run import TurnRun
    from workers.turns.tool_calls import ToolStep

    _wrap(TurnRun, "_stream", STREAM)
    _wrap(SessionHandler, "execute", _label_of_append)
    _wrap(SessionHandler, "load", "load the session stream")
    _wrap(EventStore, "append", "insert the events (one transaction)")
    _wrap(Reactions, "run", "after-commit reactions")
    _wrap(ToolStep, "_context", "tool context (account lookup)")
    _wrap(tool_calls, "run_tool", "run the tool")
    _wrap(TurnRun, "_ask", "build the next request, start the call")
    _mark_stream_ends()
    original_run = run.TurnRun.run

    @functools.wraps(original_run)
    async def run_and_dump(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original_run(self, *args, **kwargs)
        finally:
            spans = list(_SPANS)
            _SPANS.clear()
            with path.open("a") as out:
                out.writelines(json.dumps([self.turn_id, *s]) + "\n" for s in spans)

    run.TurnRun.run = run_and_dump  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tools.traced_worker")
    parser.add_argument("--trace-file", type=Path, required=True)
    args = parser.parse_args(argv)
    install(args.trace_file)
    from app.cli.main import main as robots

    robots(["worker"])


if __name__ == "__main__":
    main()
