"""`python -m bench.eventlog`: the command line and the run (see bench/eventlog/__init__.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

import psycopg

from bench.eventlog import __doc__ as DESCRIPTION
from bench.eventlog.appends import APPENDS_PER_STREAM, append_benchmark
from bench.eventlog.rebuild import EVENTS_PER_STREAM, rebuild_benchmark
from bench.eventlog.report import append_report, rebuild_report
from bench.eventlog.workload import Settings, event_loop_runner
from bench.harness.figures import Targets
from bench.harness.machine import CpuSample
from bench.harness.servers import admin_postgres, server_summary


async def run(admin_url: str, settings: Settings, parts: set[str]) -> None:
    print(f"event log benchmark: {server_summary(admin_url)}")
    loop = "uvloop" if settings.uvloop else "asyncio"
    print(f"client: Python {sys.version.split()[0]}, psycopg {psycopg.__version__}, {loop}")
    idle = CpuSample()
    await asyncio.sleep(1)
    if (busy_before := idle.busy()) is not None:
        warning = "  << other work is running: figures will be low" if busy_before > 0.2 else ""
        print(f"machine busy before start: {busy_before * 100:.0f}%{warning}")
    targets = Targets()
    if "append" in parts:
        rows = await append_benchmark(admin_url, settings)
        print(
            f"\nappends: {settings.duration_s:g} s per figure after {settings.warmup_s:g} s"
            f" warm-up; each stream gets {APPENDS_PER_STREAM} appends at its expected version."
            "\n8 writers as 2 processes x 4 pooled connections (many API processes); the"
            " latency is per append;\ncpu% is the whole machine's during the figure (PostgreSQL,"
            " the writers, and anything else)."
        )
        print(append_report(rows, targets))
    if "rebuild" in parts:
        figures = await rebuild_benchmark(admin_url, settings)
        print(
            f"\nrebuild: {figures.events:,} session events, {EVENTS_PER_STREAM} per stream"
            f" (written in {figures.insert_s:.1f} s, not a figure), rebuild's default batch size"
        )
        print(rebuild_report(figures, targets))
    print(f"\n{targets.summary()}")


def parse_args(argv: Sequence[str] | None) -> tuple[str | None, Settings, set[str]]:
    parser = argparse.ArgumentParser(prog="python -m bench.eventlog",
                                     description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        help="admin URL of the server to create a scratch database on"
        " (default: BENCH_DATABASE_URL, else the local server, else an embedded one)",
    )
    parser.add_argument("--quick", action="store_true", help="a ~20 s smoke run")
    parser.add_argument("--duration", type=float, help="seconds per append figure")
    parser.add_argument("--rebuild-events", type=int, help="events to write and rebuild")
    parser.add_argument(
        "--compare-in-process",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also run 8 writers as tasks in one process (default: on, off with --quick)",
    )
    parser.add_argument("--only", choices=["append", "rebuild"], help="run one part")
    parser.add_argument("--uvloop", action="store_true", help="run the writers on uvloop")
    args = parser.parse_args(argv)
    settings = Settings(
        warmup_s=0.3 if args.quick else 0.5,
        duration_s=args.duration or (1.0 if args.quick else 4.0),
        rebuild_events=args.rebuild_events or (20_000 if args.quick else 200_000),
        compare_in_process=(
            not args.quick if args.compare_in_process is None else args.compare_in_process
        ),
        uvloop=args.uvloop,
    )
    parts = {args.only} if args.only else {"append", "rebuild"}
    return args.database_url, settings, parts


def main(argv: Sequence[str] | None = None) -> int:
    url, settings, parts = parse_args(argv)
    with admin_postgres(url) as admin_url:
        event_loop_runner(settings)(run(admin_url, settings, parts))
    return 0  # a measurement, not a test: missed targets are reported, not failed


if __name__ == "__main__":
    sys.exit(main())
