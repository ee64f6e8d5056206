"""How benchmarks report: percentiles, tables that put each figure beside its baseline,
met/MISSED verdicts against the targets, and progress notes on stderr.

A benchmark is a measurement, not a test: a missed target is reported, never failed.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def p50_p90_p99(values: Sequence[float]) -> tuple[float, float, float]:
    return percentile(values, 50), percentile(values, 90), percentile(values, 99)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the first column left-aligned, the rest right."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first, *rest = (str(c) for c in cells)
        padded = [c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)]
        parts = [first.ljust(widths[0]), *padded]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def verdict(ok: bool) -> str:
    """A target's mark in a report."""
    return "met" if ok else "MISSED"


class Targets:
    """The targets a run checked, in order; `summary()` closes its report."""

    def __init__(self) -> None:
        self.checked: list[tuple[str, bool]] = []

    def check(self, name: str, ok: bool) -> str:
        """Record one target; its verdict, for the table."""
        self.checked.append((name, ok))
        return verdict(ok)

    @property
    def missed(self) -> list[str]:
        return [name for name, ok in self.checked if not ok]

    def summary(self, how: str = "") -> str:
        """`targets: N/M met` (with `how` after it), then one line per target missed."""
        met = len(self.checked) - len(self.missed)
        lines = [f"targets: {met}/{len(self.checked)} met{how}"]
        return "\n".join(lines + [f"  missed: {name}" for name in self.missed])


def note(message: str) -> None:
    """A progress note on stderr, kept in order with the report on stdout."""
    sys.stdout.flush()
    print(f"  .. {message}", file=sys.stderr, flush=True)


class Progress:
    """A note every `every_s` seconds: how far a long step has come, and how fast."""

    def __init__(self, total: int, label: str, every_s: float = 15) -> None:
        self.total, self.label, self.every_s = total, label, every_s
        self.started = self.last = time.perf_counter()

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if now - self.last >= self.every_s:
            self.last = now
            rate = done / (now - self.started)
            note(f"{self.label}: {done:,}/{self.total:,} events ({rate:,.0f}/s)")
