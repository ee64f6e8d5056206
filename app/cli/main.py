"""The `robots` command line: run the processes, migrate, rebuild, manage accounts."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

from app.cli import processes
from app.config.settings import load_settings
from app.domain.accounts import Role


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="robots", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("dev", help="web + worker + projector in one process; embedded servers"
                               " when DATABASE_URL / REDIS_URL are not set")
    serve = sub.add_parser("serve", help="the HTTP API (scale: run many)")
    serve.add_argument("--workers", type=int, default=1, help="server processes")
    sub.add_parser("worker", help="an arq worker running robot turns (scale: run many)")
    sub.add_parser("project", help="the projection runner (one active, others standby)")
    sub.add_parser("migrate", help="apply pending SQL migrations")
    rebuild = sub.add_parser("rebuild", help="rebuild read models from position zero")
    rebuild.add_argument("projection", nargs="?", help="one projection (default: all)")
    accounts = sub.add_parser("accounts", help="manage accounts")
    acc_sub = accounts.add_subparsers(dest="accounts_command", required=True)
    create = acc_sub.add_parser("create", help="create an account and print its API token")
    create.add_argument("--handle", required=True)
    create.add_argument("--name")
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.MEMBER.value)
    return parser


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
    args = _parser().parse_args(argv)
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
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
