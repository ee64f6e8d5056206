"""Import pgserver without its warning about the runtime folder."""

from __future__ import annotations

import warnings
from types import ModuleType


def load_pgserver() -> ModuleType:
    """The `pgserver` module. Importing it asks platformdirs for the user's runtime folder
    (for its lock file and socket); where XDG_RUNTIME_DIR is unset (containers, CI, cron)
    platformdirs warns and falls back to a private `/tmp/runtime-<uid>` (mode 700), which
    is what we want. The warning says nothing to act on, and in a test run (warnings are
    errors there) it would fail every test on embedded servers."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        import pgserver
    return pgserver
