"""`python -m bench.tools`: the command line and the run (see bench/tools/__init__.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from bench.harness.part_runner import run_parts
from bench.tools import __doc__ as DESCRIPTION
from bench.tools.parts import PARTS, TRACE
from bench.tools.report import QUICK, Results, Sizes, print_report


async def run(args: argparse.Namespace) -> Results:
    results = Results(QUICK if args.quick else Sizes())
    parts = [(n, p) for n, p in PARTS if not args.only or n.replace(" ", "").startswith(args.only)]
    if args.trace:
        parts.append(TRACE)
    await run_parts(args.database_url, parts, results.sizes, results, args.verbose)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tools", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a ~1 minute smoke run")
    parser.add_argument("--database-url", help="admin URL of the PostgreSQL server to use"
                        " (default: BENCH_DATABASE_URL, else the local server, else embedded)")
    parser.add_argument("--only", choices=["roundtrip", "statements"],
                        help="run one part")
    parser.add_argument("--trace", action="store_true",
                        help="also time the worker's calls between two steps (a traced "
                        "worker) and show where the round trip's time goes")
    parser.add_argument("--verbose", action="store_true", help="tracebacks of failed parts")
    args = parser.parse_args(argv)
    began = time.monotonic()
    results = asyncio.run(run(args))
    print_report(results)
    print(f"\n(run took {time.monotonic() - began:.0f} s)")
    sys.exit(0)


if __name__ == "__main__":
    main()
