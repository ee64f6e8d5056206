"""Which PostgreSQL and Redis a command runs on: the URLs given, else those of the `robots dev`
running on the data folder, else (for one-shot commands only) an embedded PostgreSQL."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

from app.cli.dev_file import DevServers, dev_file, joined, running_dev
from app.cli.embedded import EmbeddedServers, postgres_answers, redis_answers
from app.config.settings import Settings

log = logging.getLogger("robots")


class CommandError(Exception):
    """A command cannot go on; the message says why and what to do."""


def beside_dev(settings: Settings, *, redis: bool = True) -> Settings:
    """For `serve`, `worker` and `project`: URLs not set come from the `robots dev` running
    on the data folder. They never start an embedded server, so they never stop or restart
    the ones `robots dev` owns."""
    needed = {"DATABASE_URL": settings.database_url,
              **({"REDIS_URL": settings.redis_url} if redis else {})}
    missing = [name for name, url in needed.items() if not url]
    if not missing:
        return settings
    dev = running_dev(settings.data_dir)
    if dev is None:
        raise CommandError(
            f"{' and '.join(missing)} not set and no robots dev running on"
            f" {settings.data_dir.resolve()}: start `robots dev` first (commands started"
            " beside it join its servers), or set DATABASE_URL and REDIS_URL")
    return _join(settings, dev, redis=redis)


def _join(settings: Settings, dev: DevServers, *, redis: bool) -> Settings:
    s = joined(settings, dev)
    shared: list[tuple[str, str, Callable[[str], bool]]] = []
    if s.database_url == dev.database_url:
        shared.append(("PostgreSQL", dev.database_url, postgres_answers))
    if redis and s.redis_url == dev.redis_url:
        shared.append(("Redis", dev.redis_url, redis_answers))
    for name, url, answers in shared:
        if not answers(url):
            raise CommandError(
                f"robots dev (pid {dev.pid}) published its {name} at {url}, which does not"
                f" answer; if robots dev is gone, remove {dev_file(settings.data_dir)}")
    log.info("joined robots dev (pid %s) on %s", dev.pid, ", ".join(n for n, _, _ in shared))
    return s


@contextlib.contextmanager
def one_shot(settings: Settings) -> Iterator[Settings]:
    """For the commands that need PostgreSQL only for a moment: DATABASE_URL, else the
    running `robots dev`'s, else an embedded PostgreSQL for the command's length (one that
    something else still uses is left running)."""
    dev = None if settings.database_url else running_dev(settings.data_dir)
    if dev is not None:
        yield _join(settings, dev, redis=False)
        return
    with EmbeddedServers(settings, redis=False) as s:
        yield s
