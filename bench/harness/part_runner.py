"""Running a benchmark's parts one by one, each with the machine's CPU beside ours."""

from __future__ import annotations

import functools
import math
import os
import platform
import shutil
import traceback
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from bench.harness.machine import MachineShare
from bench.harness.servers import admin_postgres, redis_server, server_summary
from bench.harness.stack import Bench, backend_pids, scratch_bench

CORES = os.cpu_count() or 1
Shares = dict[str, tuple[float, float, float]]  # part -> (machine CPU-s, ours, wall s)


async def run_part(name: str, part: Callable[[], Awaitable[None]],
                   our_pids: Callable[[], Awaitable[set[int]]], failures: dict[str, str],
                   shares: Shares, verbose: bool) -> None:
    """One part; a failure is recorded in `failures`, not raised."""
    print(f"... {name}", end="", flush=True)
    share = MachineShare(our_pids)
    await share.start()
    try:
        await part()
    except Exception as exc:
        failures[name] = f"{type(exc).__name__}: {exc}"
        if verbose:
            traceback.print_exc()
    machine, ours, wall = await share.stop()
    shares[name] = (machine, ours, wall)
    print(f" ({wall:.0f} s; machine busy {machine:.0f} of {CORES * wall:.0f} CPU-s, "
          f"ours {ours:.0f})" + (" FAILED" if name in failures else ""), flush=True)


def print_shares(shares: Shares) -> None:
    for name, (machine, ours, wall) in shares.items():
        cores = machine / wall if wall else math.nan
        others = (machine - ours) / wall if wall else math.nan
        print(f"Machine during '{name}': {cores:.2f} of {CORES} cores busy, ours "
              f"{ours / wall if wall else math.nan:.2f} (the rest: Redis, the OS, other "
              "tenants of this machine)"
              + (f"  WARNING: {others:.2f} cores went elsewhere; latencies are inflated"
                 if others > 0.5 else ""))


class PartResults(Protocol):
    failures: dict[str, str]
    shares: Shares


Part = Callable[[Bench, Any, Any], Awaitable[None]]  # (bench, sizes, results)


async def run_parts(database_url: str | None, parts: Sequence[tuple[str, Part]], sizes: Any,
                    results: PartResults, verbose: bool) -> None:
    """Each part in turn on one scratch bench (database, Redis prefix, process logs); the
    logs are kept, and said where, when a part failed."""
    with admin_postgres(database_url) as admin, redis_server() as redis_url:
        print(f"{server_summary(admin)}; Redis at {redis_url}; Python "
              f"{platform.python_version()}", flush=True)
        async with scratch_bench(admin, redis_url) as bench:
            for name, part in parts:
                await run_part(name, functools.partial(part, bench, sizes, results),
                               functools.partial(backend_pids, bench), results.failures,
                               results.shares, verbose)
            if results.failures:
                print(f"process logs kept in {bench.folder}")
            else:
                shutil.rmtree(bench.folder, ignore_errors=True)
