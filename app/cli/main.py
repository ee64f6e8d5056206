"""The `robots` command line: run the processes, migrate, rebuild, manage accounts."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

from app.adapters.logs import setup_logging
from app.cli import processes
from app.cli.arguments import parser
from app.config.settings import load_settings
from app.domain.accounts import Role


def _run_long(main: Coroutine[Any, Any, None]) -> None:
    """Run a long-lived process on uvloop when it is installed (uvicorn[standard] brings
    it, and `robots serve` already runs on it): a cheaper event loop is a shorter way from
    a queued turn to its first token."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    settings = load_settings()
    setup_logging(settings)
    try:
        match args.command:
            case "dev":
                _run_long(processes.dev(settings))
            case "serve":
                processes.serve(settings, workers=args.workers)
            case "worker":
                _run_long(processes.worker(settings))
            case "project":
                _run_long(processes.project(settings))
            case "migrate":
                asyncio.run(processes.migrate(settings))
            case "rebuild":
                asyncio.run(processes.rebuild(settings, args.projection))
            case "accounts":
                asyncio.run(processes.create_account(settings, args.handle, args.name,
                                                    Role(args.role)))
    except KeyboardInterrupt:
        pass
    except processes.CommandError as exc:
        print(f"robots: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
