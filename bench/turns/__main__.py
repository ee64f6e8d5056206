"""`python -m bench.turns`: the command line and the run (see bench/turns/__init__.py)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import platform
import shutil
import sys
import time
import traceback

from bench.harness.machine import MachineShare, raise_open_files_limit
from bench.harness.servers import admin_postgres, redis_server, server_summary
from bench.harness.stack import Bench, scratch_bench
from bench.turns import __doc__ as DESCRIPTION
from bench.turns.parts import PARTS, Part, backend_pids
from bench.turns.report import QUICK, Results, Sizes, print_report


async def run_part(bench: Bench, name: str, part: Part, sizes: Sizes, results: Results,
                   verbose: bool) -> None:
    """One part, with the machine's CPU beside ours; a failure is recorded, not raised."""
    print(f"... {name}", end="", flush=True)
    share = MachineShare(lambda: backend_pids(bench))
    await share.start()
    try:
        await part(bench, sizes, results)
    except Exception as exc:
        results.failures[name] = f"{type(exc).__name__}: {exc}"
        if verbose:
            traceback.print_exc()
    machine, ours, wall = await share.stop()
    results.shares[name] = (machine, ours, wall)
    print(f" ({wall:.0f} s; machine busy {machine:.0f} of {2 * wall:.0f} CPU-s, "
          f"ours {ours:.0f})" + (" FAILED" if name in results.failures else ""), flush=True)


async def run(args: argparse.Namespace) -> Results:
    sizes = QUICK if args.quick else Sizes()
    if args.streams:
        sizes = dataclasses.replace(sizes, load_streams=args.streams)
    results = Results(sizes)
    with admin_postgres(args.database_url) as admin, redis_server() as redis_url:
        print(f"{server_summary(admin)}; Redis at {redis_url}; Python "
              f"{platform.python_version()}", flush=True)
        async with scratch_bench(admin, redis_url) as bench:
            for name, part in PARTS:
                if not args.only or name.startswith(args.only):
                    await run_part(bench, name, part, sizes, results, args.verbose)
            if results.failures:
                print(f"process logs kept in {bench.folder}")
            else:
                shutil.rmtree(bench.folder, ignore_errors=True)
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
