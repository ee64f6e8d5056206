"""A long-lived process's start-up objects, set aside from the garbage collector.

Every module a process imports (Litestar, the SDKs, psycopg, ...) leaves some 300,000
objects that live as long as the process, and each full collection walks all of them:
~200 ms on a 2-core machine (bench/sessions), a pause in whichever turn it lands. A turn in
a long session allocates more (its whole history goes to the model), so full collections
come more often as sessions grow. Frozen once the process has imported what it needs, they
are never walked again: a full collection then walks only what the process made since.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Call once, after the process's imports and before it serves. (Not for tests: what
    is frozen is never collected.)"""
    gc.collect()
    gc.freeze()
