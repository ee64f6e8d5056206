"""bench.tools' sizes, results and report: each figure beside its baseline, then the targets
met and missed."""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field

from bench.harness.figures import Targets, format_table, p50_p90_p99, percentile
from bench.harness.part_runner import CORES, print_shares
from bench.harness.statements import TurnCount
from bench.tools.roundtrip import RoundTrips, Trip
from bench.tools.trace import Breakdown, StepBreakdowns

ROUND_TRIP_P50_MS = 5.0


@dataclass(frozen=True)
class Sizes:
    trip_turns: int = 150  # pipeline turns; each gives trip_steps - 1 round trips
    trip_steps: int = 5
    trip_tokens: int = 20
    trip_warmup: int = 5
    trace_turns: int = 50
    statement_steps: tuple[int, ...] = (1, 3, 10)
    statement_tokens: tuple[int, ...] = (50, 2_000)
    statement_reps: int = 5


QUICK = Sizes(trip_turns=15, trip_warmup=3, trace_turns=10, statement_reps=2)


@dataclass
class StatementCounts:
    """Statements of each turn run, by (model steps, reply tokens)."""

    turns: dict[tuple[int, int], list[TurnCount]] = field(default_factory=dict)
    worker_texts: dict[tuple[int, int], list[list[str]]] = field(default_factory=dict)

    def own(self, steps: int, tokens: int) -> int:
        return int(statistics.median_low([t.own for t in self.turns[(steps, tokens)]]))

    def total(self, steps: int, tokens: int) -> int:
        return int(statistics.median_low([t.total for t in self.turns[(steps, tokens)]]))

    def worker(self, steps: int, tokens: int) -> int:
        return int(statistics.median_low([t.by_process.get("worker", 0)
                                          for t in self.turns[(steps, tokens)]]))


@dataclass
class Results:
    sizes: Sizes
    trips: RoundTrips | None = None
    traced: RoundTrips | None = None
    breakdown: StepBreakdowns | None = None
    statements: StatementCounts | None = None
    failures: dict[str, str] = field(default_factory=dict)
    shares: dict[str, tuple[float, float, float]] = field(default_factory=dict)


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _p(trips: list[Trip], attr: str, q: float) -> float:
    return percentile([getattr(t, attr) for t in trips], q)


def trip_rows(rows: list[list[str]], targets: Targets, result: RoundTrips) -> None:
    pipe, sdk, adapter = result.pipeline, result.sdk, result.adapter
    for i, q in enumerate((50, 90, 99)):
        p, s, a = (_p(x, "round_trip_ms", q) for x in (pipe, sdk, adapter))
        target, shown = "", ""
        if q == 50:
            target = f"<= {ROUND_TRIP_P50_MS:.0f} ms"
            shown = targets.check(f"tool round trip p50 {target}", p <= ROUND_TRIP_P50_MS)
        name = (f"1 tool round trip p{q}, ms (n={len(pipe)} / {len(sdk)} / {len(adapter)})"
                if i == 0 else f"  tool round trip p{q}, ms")
        rows.append([name, _ms(p), _ms(s), _ms(a), _ms(p - s), target, shown])
    rows.append(["  step end -> next step's first token p50, ms",
                 *(_ms(_p(x, "to_first_token_ms", 50)) for x in (pipe, sdk, adapter)),
                 "", "", ""])
    rows.append(["  of which the model's own time to first token p50, ms",
                 *(_ms(_p(x, "model_ttft_ms", 50)) for x in (pipe, sdk, adapter)),
                 "", "", ""])
    for step in range(1, result.steps):
        at = [t for t in pipe if t.step == step]
        if at:
            p50, _, p99 = p50_p90_p99([t.round_trip_ms for t in at])
            rows.append([f"  step {step} -> {step + 1}: round trip p50 / p99, ms",
                         f"{_ms(p50)} / {_ms(p99)}", "", "", "", "", ""])


def statement_rows(rows: list[list[str]], targets: Targets, counts: StatementCounts,
                   sizes: Sizes) -> list[str]:
    notes: list[str] = []
    short, long = sizes.statement_tokens
    steps = [s for s in sizes.statement_steps
             if (s, short) in counts.turns and (s, long) in counts.turns]
    for s in steps:
        rows.append([f"2 {s}-step turn: statements, API + worker (all processes)",
                     f"{counts.own(s, short)} ({counts.total(s, short)})",
                     f"{counts.own(s, long)} ({counts.total(s, long)})", "", ""])
    growth: dict[int, list[float]] = {short: [], long: []}
    for a, b in itertools.pairwise(steps):
        cells = []
        for tokens in (short, long):
            own = (counts.own(b, tokens) - counts.own(a, tokens)) / (b - a)
            total = (counts.total(b, tokens) - counts.total(a, tokens)) / (b - a)
            growth[tokens].append(own)
            cells.append(f"{own:g} ({total:g})")
        rows.append([f"  per step added, {a} -> {b} steps", *cells, "", ""])
    # A turn that calls tools pays once for the tool context (the poster's account), then a
    # constant amount per step: the growth is judged between turns that both call tools.
    tooled = [i for i, (a, _) in enumerate(itertools.pairwise(steps)) if a > 1]
    every = [growth[t][i] for t in (short, long) for i in tooled]
    if every:
        ok = len(set(every)) == 1
        rows.append(["  growth per step (between tool-calling turns), both replies",
                     " / ".join(f"{growth[short][i]:g}" for i in tooled),
                     " / ".join(f"{growth[long][i]:g}" for i in tooled), "equal",
                     targets.check("statements: equal growth per step", ok)])
        if steps[0] == 1 and len(steps) >= 2:
            k, first = every[0], steps[1]
            once = counts.own(first, short) - counts.own(1, short) - k * (first - 1)
            notes.append(f"2: a turn's first tool step also pays {once:g} statements once"
                         " (the tool context: the poster's account), whatever its length.")
        worker = [(counts.worker(b, t) - counts.worker(a, t)) / (b - a)
                  for t in (short, long) for a, b in itertools.pairwise(steps)]
        notes.append(f"2: the worker's own statements per step added: "
                     f"{', '.join(f'{w:g}' for w in worker)} (1->3 and 3->10, {short:,}-token "
                     f"then {long:,}-token reply).")
    if len(steps) >= 2:
        notes.append(_step_statements(counts, steps[0], steps[1], short))
    spread = {k: sorted({t.own for t in v}) for k, v in counts.turns.items()}
    moved = {k: v for k, v in spread.items() if len(v) > 1}
    if moved:
        notes.append("2: API + worker counts that differed between runs of one size (the "
                     "median is shown): " + "; ".join(f"{s} steps, {t:,} tokens: {v}"
                                                      for (s, t), v in sorted(moved.items())))
    notes.append(
        "2: an N-step turn is N model steps, the first N-1 each calling current_time, the "
        "last answering; counted with log_statement=all on the scratch database (every "
        "statement any process sent, BEGIN/COMMIT included) from POST to [DONE] + 0.5 s, "
        "time-driven polls pushed to 1 h. 'API + worker' counts the API's read-your-writes "
        "poll once (bench/harness/statements.py); the projector's count depends on how its "
        "wake-ups batch the turn's commits.")
    return notes


def _step_statements(counts: StatementCounts, fewer: int, more: int, tokens: int) -> str:
    """The worker's statements the extra steps brought, per step, by text."""

    def typical(steps: int) -> list[str]:
        runs = counts.worker_texts[(steps, tokens)]
        median = statistics.median_low(len(r) for r in runs)
        return next(r for r in runs if len(r) == median)

    added = Counter(typical(more)) - Counter(typical(fewer))
    per_step = more - fewer
    lines = [f"{n / per_step:5.1f}  {text[:110]}" for text, n in added.most_common(12)]
    return (f"2: what each step adds to the worker's statements ({more}-step turn minus "
            f"{fewer}-step, {tokens:,}-token reply, per step):\n"
            + "\n".join(f"     {line}" for line in lines))


def breakdown_rows(steps: StepBreakdowns) -> str:
    first, later, every = steps.first, steps.later, steps.every

    def p50(part: Breakdown, name: str) -> float:
        values = part.segments.get(name) or part.nested.get(name) or []
        return percentile(values, 50)

    rows = []
    for name, mean in every.means():
        shown = f"  {name.split(' / ', 1)[1]}" if " / " in name else name
        rows.append([shown, _ms(p50(first, name)), _ms(p50(later, name)), _ms(mean)])
    rows.append([f"round trip under the trace (n={first.trips} / {later.trips} / "
                 f"{every.trips})", _ms(percentile(first.round_trip_ms, 50)),
                 _ms(percentile(later.round_trip_ms, 50)),
                 _ms(statistics.fmean(every.round_trip_ms) if every.round_trip_ms
                     else math.nan)])
    return format_table(["where a round trip's time goes (traced worker), ms",
                         "p50 step 1->2", "p50 later steps", "mean, all"], rows)


def print_report(results: Results) -> None:
    targets = Targets()
    notes: list[str] = []
    if results.trips:
        rows: list[list[str]] = []
        trip_rows(rows, targets, results.trips)
        print()
        print(format_table(["measure", "pipeline", "direct SDK", "direct adapter",
                            "added vs SDK", "target", "met"], rows))
        notes.append(
            f"1: round trip = the model server's stamps: next request fully read minus the "
            f"calling step's last frame sent (one clock, one process), so the model's own time "
            f"to first token is left out by construction; {results.trips.turns} pipeline "
            f"turns of {results.trips.steps} model steps (the first "
            f"{results.trips.steps - 1} call current_time), each followed by the same number "
            f"of direct exchanges per baseline. Direct SDK: openai.AsyncOpenAI "
            f"chat.completions.create (default transport); direct adapter: the worker's "
            f"provider adapter (the SDK's post over aiohttp). Step 1 -> 2 runs longer: "
            f"the first step is asked while the turn's claim commits (workers/turns/run.py), "
            f"and a model this fast ends it before the claim has (--trace shows the claim "
            f"in that window).")
    if results.statements:
        rows = []
        notes += statement_rows(rows, targets, results.statements, results.sizes)
        short, long = results.sizes.statement_tokens
        print()
        print(format_table(["measure", f"{short:,}-token reply", f"{long:,}-token reply",
                            "target", "met"], rows))
    if results.breakdown:
        print()
        print(breakdown_rows(results.breakdown))
        if results.traced and results.trips:
            traced = percentile([t.round_trip_ms for t in results.traced.pipeline], 50)
            untraced = percentile([t.round_trip_ms for t in results.trips.pipeline], 50)
            notes.append(f"trace: round trip p50 {_ms(traced)} ms under the stopwatch, "
                         f"{_ms(untraced)} ms in part 1 without it: the wrapping costs a few "
                         f"us per span (about 20 spans a round trip); the rest of the "
                         f"difference is the shared machine drifting between the two parts. "
                         f"Read the table for shares, part 1 for the figure.")
    print()
    print("Processes: scripted model, robots serve (1), robots worker (1), robots project, "
          f"the bench client, PostgreSQL and Redis all share the machine's {CORES} cores, "
          "unpinned, with whatever else runs on it.")
    for note in notes:
        print(note)
    print_shares(results.shares)
    for name, error in results.failures.items():
        print(f"FAILED: {name}: {error}")
    unmeasured = f"; {len(results.failures)} part(s) not measured" if results.failures else ""
    print("\n" + targets.summary(unmeasured))
