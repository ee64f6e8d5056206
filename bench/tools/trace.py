"""Where a tool round trip's time goes: the traced worker's spans laid over the model
server's stamps (bench/tools/traced_worker.py writes them; both on CLOCK_MONOTONIC).

Each round trip is the window from the end of a step's stream (model side) to the next
request held by the model. The worker's outermost spans in that window, clipped to it, are
its segments; what no span covers is split into the time before the first span, between
spans (the step loop's own code and the event loop) and after the last span (the SDK
sending the next request until the model has it all).
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.tools.roundtrip import Trip
from bench.tools.traced_worker import STREAM

BEFORE = "(untraced: before the first span)"
BETWEEN = "(untraced: between spans: the step loop, the event loop)"
AFTER = "(untraced: after the last span: the SDK sends the request, the model reads it)"


@dataclass
class Span:
    label: str
    start: int
    end: int
    depth: int


def read_spans(path: Path) -> list[Span]:
    if not path.exists():
        return []
    spans = []
    for line in path.read_text().splitlines():
        _, label, start, end, depth = json.loads(line)
        spans.append(Span(label, int(start), int(end), int(depth)))
    return sorted(spans, key=lambda s: s.start)


@dataclass
class Breakdown:
    """Per segment, its time in each round trip (ms; 0 where a trip had none)."""

    trips: int = 0
    round_trip_ms: list[float] = field(default_factory=list)
    segments: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    nested: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    order: list[str] = field(default_factory=list)  # segments in the order they happen

    def means(self) -> list[tuple[str, float]]:
        """(segment, mean ms over every trip), in order."""
        out = []
        for name in self.order:
            values = self.segments.get(name) or self.nested.get(name) or []
            out.append((name, statistics.fmean(values) if values else 0.0))
        return out


def _clip(span: Span, low: int, high: int) -> float:
    return max(0, min(span.end, high) - max(span.start, low)) / 1e6


def _split(span: Span, marks: list[Span], low: int, high: int) -> list[tuple[str, float]]:
    """The span's stretch in the window cut at the moments marked inside it."""
    start, end = max(span.start, low), min(span.end, high)
    inside = [m for m in marks if start <= m.start <= end]
    if not inside:
        return []
    pieces, at = [], start
    for mark in inside:
        pieces.append((f"{span.label} / until {mark.label}", (mark.start - at) / 1e6))
        at = mark.start
    pieces.append((f"{span.label} / then until it returned", (end - at) / 1e6))
    return pieces


def breakdown(trips: list[Trip], spans: list[Span]) -> Breakdown:
    result = Breakdown()
    seen: list[str] = []
    marks = [s for s in spans if s.depth < 0]
    per_trip: list[tuple[dict[str, float], dict[str, float]]] = []

    def note(name: str) -> None:
        if name not in seen:
            seen.append(name)

    for trip in trips:
        low, high = trip.ended_ns, trip.received_ns
        # The next step's stream starts inside the window: its stretch until the model
        # holds the request is the request being sent, left to AFTER.
        inside = [s for s in spans if s.end > low and s.start < high and s.depth >= 0
                  and not (s.label == STREAM and s.start > low)]
        top = [s for s in inside if s.depth == 0]
        mine: dict[str, float] = defaultdict(float)
        deep: dict[str, float] = defaultdict(float)
        if top:
            mine[BEFORE] = max(0, top[0].start - low) / 1e6
        for span in top:
            note(span.label)
            mine[span.label] += _clip(span, low, high)
            for key, ms in _split(span, marks, low, high):
                note(key)
                deep[key] += ms
            for child in inside:
                if child.depth == 1 and child.start >= span.start and child.end <= span.end:
                    key = f"{span.label} / {child.label}"
                    note(key)
                    deep[key] += _clip(child, low, high)
        window = (high - low) / 1e6
        if top:
            mine[AFTER] = max(0, high - max(s.end for s in top)) / 1e6
            mine[BETWEEN] = max(0.0, window - sum(mine.values()))
        else:
            mine[BETWEEN] = window
        per_trip.append((mine, deep))
        result.round_trip_ms.append(window)
    result.trips = len(trips)
    tops = [name for name in seen if " / " not in name]
    nested = [name for name in seen if " / " in name]
    result.order = [BEFORE, *[n for top in tops
                              for n in [top, *(k for k in nested if k.startswith(top + " / "))]],
                    BETWEEN, AFTER]
    for mine, deep in per_trip:
        for name in result.order:
            if " / " in name:
                result.nested[name].append(deep.get(name, 0.0))
            else:
                result.segments[name].append(mine.get(name, 0.0))
    return result


@dataclass
class StepBreakdowns:
    """The breakdown of the first round trip of each turn (step 1 -> 2, which can overlap
    the turn's claim: the model is asked while the claim commits), of the later ones, and
    of all of them."""

    first: Breakdown
    later: Breakdown
    every: Breakdown


def step_breakdowns(trips: list[Trip], spans: list[Span]) -> StepBreakdowns:
    return StepBreakdowns(first=breakdown([t for t in trips if t.step == 1], spans),
                          later=breakdown([t for t in trips if t.step > 1], spans),
                          every=breakdown(trips, spans))
