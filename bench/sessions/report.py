"""bench.sessions' results and their report: at each length, the long session's added
times beside a fresh session's, then where a long turn's time went, then the targets."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.harness.figures import Targets, format_table, percentile
from bench.harness.part_runner import print_shares
from bench.sessions.measure import Paired, Sampled, Timing

RATIO, SLACK_MS = 1.2, 2.0  # the long session's added time <= 1.2 x a fresh one's + 2 ms
TARGET_AT = 1_000  # exchanges


@dataclass(frozen=True)
class Sizes:
    lengths: tuple[int, ...] = (1, 100, 1_000)
    samples: int = 30  # per length, in the long session and in fresh ones each
    warmup: int = 5
    reply_tokens: int = 20


QUICK = Sizes(samples=10, warmup=3)


@dataclass
class Breakdown:
    """From the log, per turn: posted -> claimed by the worker, the worker's own time to
    first token (model call -> first output), claimed -> completed."""

    claimed_ms: list[float] = field(default_factory=list)
    worker_ttft_ms: list[float] = field(default_factory=list)
    finished_ms: list[float] = field(default_factory=list)


@dataclass
class LengthResult:
    length: int  # exchanges before the first sample (each sample adds one)
    sampled: Sampled
    grew_s: float
    long_log: Breakdown
    fresh_log: Breakdown
    cpu_ms: dict[str, float]  # CPU per long turn, by process


@dataclass
class Results:
    sizes: Sizes
    lengths: list[LengthResult] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    shares: dict[str, tuple[float, float, float]] = field(default_factory=dict)


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _p50(values: list[float]) -> float:
    return percentile(values, 50)


def _side(paired: Paired, which: Callable[[Timing], float]) -> list[str]:
    added = paired.added(which)
    return [_ms(_p50([which(t) for t in paired.pipeline])),
            _ms(_p50([which(t) for t in paired.direct])),
            _ms(_p50(added)), _ms(percentile(added, 90))]


def _table(results: Results, targets: Targets, what: str,
           which: Callable[[Timing], float]) -> str:
    rows = []
    for r in results.lengths:
        long, fresh = r.sampled.long, r.sampled.fresh
        limit = RATIO * _p50(fresh.added(which)) + SLACK_MS
        added = _p50(long.added(which))
        shown = ""
        if r.length >= TARGET_AT:
            shown = targets.check(f"{what} at {r.length:,} exchanges: added p50 "
                                  f"{added:.1f} ms <= {limit:.1f} ms", added <= limit)
        rows.append([f"{r.length:,}-{r.length + len(long.pipeline):,}",
                     *_side(long, which), *_side(fresh, which), _ms(limit), shown])
    return format_table(
        ["exchanges", "long p50", "direct", "added", "added p90", "fresh p50", "direct",
         "added", "added p90", "limit", "target"], rows)


def _where(results: Results) -> str:
    rows = []
    for r in results.lengths:
        processes = ", ".join(f"{k} {v:.1f}" for k, v in r.cpu_ms.items())
        for name, log in (("long", r.long_log), ("fresh", r.fresh_log)):
            rows.append([f"{r.length:,} {name}", _ms(_p50(log.claimed_ms)),
                         _ms(_p50(log.worker_ttft_ms)), _ms(_p50(log.finished_ms)),
                         processes if name == "long" else ""])
    return format_table(["exchanges", "posted->claimed", "worker ttft", "claimed->done",
                         "CPU ms per long turn"], rows)


def print_report(results: Results) -> None:
    sizes = results.sizes
    print(f"\nbench.sessions: one session grown through the API to "
          f"{', '.join(f'{n:,}' for n in sizes.lengths)} exchanges; at each, {sizes.samples} "
          "turns in it and as many in fresh sessions, interleaved, each minus the model read "
          "directly with the same history (p50 of the differences, ms)")
    targets = Targets()
    if results.lengths:
        print("\nadded time to first token, ms (POST -> first text-delta, minus the model's "
              "own)")
        print(_table(results, targets, "added time to first token", lambda t: t.ttft_ms))
        print("\nadded whole-turn time, ms (POST -> [DONE], minus request -> the model's "
              "last delta)")
        print(_table(results, targets, "added whole-turn time", lambda t: t.whole_ms))
        print("\nwhere the time went (p50, ms; from the log, the database's clock), and CPU "
              "per long turn (ms)")
        print(_where(results))
        grown = "; ".join(f"to {r.length:,} in {r.grew_s:.0f} s" for r in results.lengths)
        print(f"\nThe session was grown through the API, turn by turn ({grown}).")
    for name, error in results.failures.items():
        print(f"FAILED {name}: {error}")
    print()
    print_shares(results.shares)
    print(targets.summary(f" (long session's added time <= {RATIO} x a fresh one's + "
                          f"{SLACK_MS:.0f} ms, at {TARGET_AT:,} exchanges)"))
