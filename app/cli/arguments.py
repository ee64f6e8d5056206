"""The `robots` command line's arguments: what each command does and its options, for
`robots COMMAND --help`."""

from __future__ import annotations

import argparse

from app.domain.accounts import Role, handle_problem
from projections import all_projections

_SETTINGS = ("Settings come from environment variables (README.md, Configuration): "
             "DATABASE_URL, REDIS_URL, LOG_LEVEL, LOG_FORMAT, ...")
_JOINS_DEV = ("With no DATABASE_URL / REDIS_URL it joins the servers of a `robots dev` running"
              " on the same ROBOTS_DATA_DIR.")
_ONE_SHOT = (" It runs on DATABASE_URL, else on the PostgreSQL of a `robots dev` running on"
             " ROBOTS_DATA_DIR, else on an embedded PostgreSQL there.")

_COMMANDS: dict[str, tuple[str, str]] = {
    # name: (one line for `robots --help`, the command's own description)
    "dev": ("web + worker + projector in one process; embedded servers when DATABASE_URL /"
            " REDIS_URL are not set",
            "Run the API, a worker and the projection runner in one process, for development."
            " Without DATABASE_URL / REDIS_URL it starts an embedded PostgreSQL and Redis under"
            " ROBOTS_DATA_DIR (their setup output goes to ROBOTS_DATA_DIR/embedded.log),"
            " applies migrations, creates a dev admin and prints its API token."),
    "serve": ("the HTTP API (stateless: run as many as you like)",
              "Serve the HTTP API on HOST:PORT; it needs PostgreSQL and Redis. " + _JOINS_DEV),
    "worker": ("an arq worker running robot turns (run as many as you like)",
               "Run robot turns from the queue in Redis: call the models and tools and write"
               " the results to the event log. " + _JOINS_DEV),
    "project": ("the projection runner (one active per projection, the others stand by)",
                "Keep the read models up to date from the event log. Several may run: one is"
                " active per projection, the others stand by. " + _JOINS_DEV),
    "migrate": ("apply pending SQL migrations",
                "Apply the SQL migrations the database has not had yet (safe from many"
                " processes at once)." + _ONE_SHOT),
    "rebuild": ("rebuild read models from position zero",
                "Rebuild read models from the first event, with a progress bar and events/s."
                " Projections: {names}." + _ONE_SHOT),
    "accounts": ("manage accounts", "Manage accounts."),
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="robots", epilog=_SETTINGS, description=(
        "Run the robots backend's processes, migrate, rebuild read models, manage accounts."))
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    names = ", ".join(p.name for p in all_projections())
    made = {name: sub.add_parser(name, help=short, epilog=_SETTINGS,
                                 description=long.format(names=names))
            for name, (short, long) in _COMMANDS.items()}
    made["serve"].add_argument("--workers", type=int, default=1, metavar="N",
                               help="server processes to start (default: 1)")
    made["rebuild"].add_argument("projection", nargs="?", metavar="PROJECTION",
                                 help=f"the one projection to rebuild, one of: {names}"
                                      " (default: all)")
    acc_sub = made["accounts"].add_subparsers(dest="accounts_command", required=True,
                                              metavar="ACTION")
    create = acc_sub.add_parser(
        "create", help="create an account and print its API token", epilog=_SETTINGS,
        description="Create an account and print its API token, once: it is stored only as"
                    " a hash." + _ONE_SHOT)
    create.add_argument("--handle", required=True, type=_handle,
                        help="the account's unique handle: 1 to 30 lowercase letters, digits,"
                             " '-' and '_', starting with a letter or digit")
    create.add_argument("--name", help="display name (default: the handle)")
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.MEMBER.value,
                        help="admin: every permission; member: chat and read sessions;"
                             " guest: none (default: member)")
    return top


def _handle(text: str) -> str:
    if problem := handle_problem(text):
        raise argparse.ArgumentTypeError(problem)
    return text
