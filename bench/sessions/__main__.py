"""`python -m bench.sessions`: the command line and the run (see bench/sessions/__init__.py)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time

from bench.harness.machine import raise_open_files_limit
from bench.harness.part_runner import run_parts
from bench.sessions import __doc__ as DESCRIPTION
from bench.sessions.parts import PARTS
from bench.sessions.report import QUICK, Results, Sizes, print_report


def _lengths(text: str) -> tuple[int, ...]:
    lengths = tuple(sorted({int(n) for n in text.split(",") if n.strip()}))
    if not lengths or lengths[0] < 1:
        raise argparse.ArgumentTypeError("lengths are positive numbers, comma separated")
    return lengths


async def run(args: argparse.Namespace) -> Results:
    sizes = QUICK if args.quick else Sizes()
    if args.lengths:
        sizes = dataclasses.replace(sizes, lengths=args.lengths)
    if args.samples:
        sizes = dataclasses.replace(sizes, samples=args.samples)
    results = Results(sizes)
    await run_parts(args.database_url, PARTS, sizes, results, args.verbose)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sessions", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="fewer samples per length (growing to 1,000 still takes minutes)")
    parser.add_argument("--database-url", help="admin URL of the PostgreSQL server to use"
                        " (default: BENCH_DATABASE_URL, else the local server, else embedded)")
    parser.add_argument("--lengths", type=_lengths,
                        help="session lengths to measure at, in exchanges (default 1,100,1000)")
    parser.add_argument("--samples", type=int, default=0, help="turns sampled per length")
    parser.add_argument("--verbose", action="store_true", help="tracebacks of failed parts")
    args = parser.parse_args(argv)
    raise_open_files_limit()
    began = time.monotonic()
    results = asyncio.run(run(args))
    print_report(results)
    print(f"\n(run took {time.monotonic() - began:.0f} s)")
    sys.exit(0)


if __name__ == "__main__":
    main()
