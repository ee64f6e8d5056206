"""bench.eventlog's tables: each log figure beside its plain baseline, with its verdict."""

from __future__ import annotations

from bench.eventlog.appends import AppendRow
from bench.eventlog.rebuild import RebuildFigures
from bench.harness.figures import Targets, format_table

APPEND_TARGET_EVENTS_S = 10_000  # with 8 writers
RATIO_TARGET = 0.5  # log / plain table
REBUILD_TARGET_EVENTS_S = 20_000


def append_report(rows: list[AppendRow], targets: Targets) -> str:
    table = []
    for row in rows:
        case, marks = row.case, []
        if row.counts_for_targets and case.writers == 8:
            ok = targets.check(f"append 8 writers batch {case.batch} >= 10,000 ev/s",
                               row.log.rate >= APPEND_TARGET_EVENTS_S)
            marks.append(f">= {APPEND_TARGET_EVENTS_S:,}/s {ok}")
        if row.counts_for_targets:
            ok = targets.check(f"append {case.writers} writer(s) batch {case.batch} ratio",
                               row.ratio >= RATIO_TARGET)
            marks.append(f"ratio >= {RATIO_TARGET} {ok}")
        else:
            marks.append("(in-process comparison)")
        table.append(
            [
                str(case.writers),
                case.layout,
                str(case.batch),
                f"{row.log.rate:,.0f}",
                row.log.latency_ms(),
                f"{row.plain.rate:,.0f}",
                row.plain.latency_ms(),
                f"{row.ratio:.2f}",
                f"{row.log.busy()}/{row.plain.busy()}",
                ", ".join(marks),
            ]
        )
    headers = [
        "writers", "layout", "batch", "log ev/s", "p50/p99 ms",
        "plain ev/s", "p50/p99 ms", "ratio", "cpu% log/plain", "targets",
    ]  # fmt: skip
    return format_table(headers, table)


def rebuild_report(figures: RebuildFigures, targets: Targets) -> str:
    ok = targets.check(f"rebuild >= {REBUILD_TARGET_EVENTS_S:,} ev/s",
                       figures.rebuild.rate >= REBUILD_TARGET_EVENTS_S)
    rows = [
        ("rebuild (sessions projection)", figures.rebuild,
         f">= {REBUILD_TARGET_EVENTS_S:,}/s {ok}"),
        ("baseline: read_all walk, no apply", figures.walk, ""),
        ("baseline: plain SELECT + msgspec decode", figures.plain_read, ""),
    ]
    table = [
        [name, f"{m.events:,}", f"{m.seconds:.2f}", f"{m.rate:,.0f}", m.busy(), mark]
        for name, m, mark in rows
    ]
    return format_table(["what", "events", "seconds", "ev/s", "cpu%", "target"], table)
