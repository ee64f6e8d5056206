"""How a long-lived loop waits out a server that stopped answering: a growing pause, one
log line when it starts and one when it ends (not one per failed try)."""

from __future__ import annotations

import logging
import time

import psycopg
from psycopg_pool import PoolTimeout
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# What a call raises when its server does not answer (a lost connection, a refused one, a
# pool with nothing to give), as opposed to a server that answered no.
DATABASE_DOWN: tuple[type[Exception], ...] = (psycopg.OperationalError, PoolTimeout)
REDIS_DOWN: tuple[type[Exception], ...] = (RedisError, OSError)


class Outage:
    def __init__(self, what: str, *, server: str = "Redis", first_pause_s: float = 0.1,
                 longest_pause_s: float = 2.0) -> None:
        self.what = what
        self.server = server
        self.first_pause_s = first_pause_s
        self.longest_pause_s = longest_pause_s
        self.since: float | None = None
        self._pause = first_pause_s

    def failed(self, exc: BaseException) -> None:
        if self.since is None:
            self.since = time.monotonic()
            log.warning("%s: %s unreachable (%s); retrying until it answers",
                        self.what, self.server, exc)

    def lasted(self) -> float:
        """Seconds since the first failure (0 when all is well)."""
        return 0.0 if self.since is None else time.monotonic() - self.since

    def pause(self) -> float:
        """How long to wait before the next try: doubling, up to `longest_pause_s`."""
        pause, self._pause = self._pause, min(self._pause * 2, self.longest_pause_s)
        return pause

    def passed(self) -> None:
        if self.since is not None:
            log.warning("%s: %s answers again after %.1f s", self.what, self.server,
                        self.lasted())
            self.since, self._pause = None, self.first_pause_s
