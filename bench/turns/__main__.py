"""`python -m bench.turns`: the command line and the run (see bench/turns/__init__.py)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time

from bench.harness.machine import raise_open_files_limit
from bench.harness.part_runner import run_parts
from bench.turns import __doc__ as DESCRIPTION
from bench.turns.parts import PARTS
from bench.turns.report import QUICK, Results, Sizes, print_report


async def run(args: argparse.Namespace) -> Results:
    sizes = QUICK if args.quick else Sizes()
    if args.streams:
        sizes = dataclasses.replace(sizes, load_streams=args.streams)
    results = Results(sizes)
    parts = [(n, p) for n, p in PARTS if not args.only or n.startswith(args.only)]
    await run_parts(args.database_url, parts, sizes, results, args.verbose)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.turns", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a ~1 minute smoke run")
    parser.add_argument("--database-url", help="admin URL of the PostgreSQL server to use"
                        " (default: BENCH_DATABASE_URL, else the local server, else embedded)")
    parser.add_argument("--show-statements", action="store_true",
                        help="list the statements of one short turn")
    parser.add_argument("--verbose", action="store_true", help="tracebacks of failed parts")
    parser.add_argument("--only", choices=["statements", "time", "concurrent"],
                        help="run one part (by the first word of its name)")
    parser.add_argument("--streams", type=int, default=0,
                        help="concurrent streams in part 3 (default 1,000; 100 with --quick)")
    args = parser.parse_args(argv)
    raise_open_files_limit()
    began = time.monotonic()
    results = asyncio.run(run(args))
    print_report(results, show_statements=args.show_statements)
    print(f"\n(run took {time.monotonic() - began:.0f} s)")
    sys.exit(0)


if __name__ == "__main__":
    main()
