"""bench.reads' report: how the data was prepared, each read beside the /health baseline
with its verdict, and the plans of the statements behind them."""

from __future__ import annotations

from collections.abc import Sequence

from bench.harness.figures import Targets, format_table
from bench.reads.explain import Explained
from bench.reads.projecting import Projected
from bench.reads.seeding import Plan, Prepared
from bench.reads.timing import HEALTH, Figures

TARGET_P99_MS = 15.0


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def preparation_report(prep: Prepared, p: Plan, writers: int, sizes: dict[str, int]) -> str:
    lines = []
    if prep.seeded:
        s = prep.seeded
        lines.append(f"seeding:    {s.events:,} events, {p.size.sessions:,} streams, {s.appends:,}"
                     f" appends in {s.transactions:,} transactions, {writers} connections:"
                     f" {s.seconds:,.1f} s = {s.per_second:,.0f} events/s")
    else:
        lines.append("seeding:    skipped (database reused)")
    lines.append(projected_line(prep.projected))
    vacuum = "VACUUM (FULL, ANALYZE)" if prep.compacted else "VACUUM (ANALYZE)"
    lines.append(f"settling:   {vacuum} {prep.vacuum_s:,.1f} s; sizes with indexes: "
                 + ", ".join(f"{k} {_mb(v)}" for k, v in sizes.items()))
    return "\n".join(lines)


def projected_line(done: Projected) -> str:
    """Each projection's events, rate and finishing time; the slowest one's rate."""
    if not any(done.applied.values()):
        return "projecting: skipped (the read models were already up to date)"
    per = ", ".join(f"{n} {done.applied[n]:,} events ({done.rate(n):,.0f}/s, done at"
                    f" {done.finished[n]:,.1f} s)" for n in done.applied)
    return (f"projecting: one `robots project`, {done.seconds:,.1f} s to catch up:"
            f" {per}; {done.slowest_rate:,.0f} events/s through all three")


def latency_report(names: Sequence[str], http: dict[str, Figures],
                   local: dict[str, Figures], targets: Targets) -> str:
    """Each case over HTTP, minus /health (`srv`), and in process, with its verdict."""
    base50, base99 = http[HEALTH].ms(50), http[HEALTH].ms(99)
    rows = [[HEALTH, f"{base50:.2f}", f"{base99:.2f}", "", "", "", "", ""]]
    for name in names:
        h50, h99 = http[name].ms(50), http[name].ms(99)
        q50, q99 = local[name].ms(50), local[name].ms(99)
        ok = targets.check(name, q99 <= TARGET_P99_MS and h99 - base99 <= TARGET_P99_MS)
        rows.append([name, f"{h50:.2f}", f"{h99:.2f}", f"{h50 - base50:.2f}",
                     f"{h99 - base99:.2f}", f"{q50:.2f}", f"{q99:.2f}", ok])
    headers = ["case (ms)", "http p50", "http p99", "srv p50", "srv p99", "query p50",
               "query p99", f"p99<={TARGET_P99_MS:.0f}"]
    return format_table(headers, rows)


def explain_report(found: dict[str, list[Explained]], missed: set[str], full: bool) -> str:
    """One line per statement; whole plans for the cases that missed (all with --explain)."""
    out: list[str] = []
    for name, explained in found.items():
        out.append(f"{name}:")
        for e in explained:
            first = " ".join(e.statement.query.split())[:90]
            out.append(f"  {e.execution_ms:8.2f} ms  {first}")
            if full or name in missed:
                out.extend(f"      {line}" for line in e.plan)
    return "\n".join(out)
