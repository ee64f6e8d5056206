"""A progress bar on stderr for long CLI jobs (no dependency for one line of output)."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    def __init__(self, total: int, label: str, width: int = 30) -> None:
        self.total = max(total, 1)
        self.label = label
        self.width = width
        self.started = time.perf_counter()
        self._last_draw = 0.0

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if now - self._last_draw < 0.1 and done < self.total:
            return  # redrawing faster than the eye reads only costs throughput
        self._last_draw = now
        filled = min(self.width, int(self.width * done / self.total))
        rate = done / max(now - self.started, 1e-9)
        sys.stderr.write(
            f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}]"
            f" {done:,}/{self.total:,} ({rate:,.0f}/s)"
        )
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
