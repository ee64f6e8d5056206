"""Which script answers the next request: queued ones (everyone's, then the model's own), then
the model's standing script, then the default."""

from __future__ import annotations

from collections import deque

from app.adapters.llm.local_model.script import Script, preset_for_model


class ScriptBook:
    """Chooses a script per request and keeps the rate-limit counters.

    Order: the head of the FIFO queue (one per request), then the head of the request's
    model's own queue, then a script set for the model name, then a preset for the model
    name, then the default. A script with `rate_limit=K` answers its first K requests with
    429; a queued one (in either queue) stays at the head of its queue until it has done
    so, then answers once and leaves.
    """

    def __init__(self, default: Script | None = None) -> None:
        self.default = default or Script()
        self.by_model: dict[str, Script] = {}
        self._queue: deque[Script] = deque()
        self._model_queues: dict[str, deque[Script]] = {}
        self._limited: dict[int, int] = {}  # id(script) -> 429s already sent

    def enqueue(self, *scripts: Script) -> None:
        """Answer the next requests with these scripts, one per request, in order."""
        self._queue.extend(scripts)

    def enqueue_for_model(self, model: str, *scripts: Script) -> None:
        """Answer the next requests for `model` (the name the request carries, with no
        `provider/` prefix) with these scripts, one per request, in order, so one test can
        script a conversation while others share the server."""
        self._model_queues.setdefault(model, deque()).extend(scripts)

    def set_default(self, script: Script) -> None:
        self.default = script
        self._limited.clear()

    def reset(self) -> None:
        """Forget queued and per-model scripts and counters; back to the plain default."""
        self.default = Script()
        self.by_model.clear()
        self._queue.clear()
        self._model_queues.clear()
        self._limited.clear()

    @property
    def queued(self) -> int:
        """Scripts waiting in the FIFO queue (not the models' own queues)."""
        return len(self._queue)

    def queued_for(self, model: str) -> int:
        """Scripts waiting in `model`'s own queue."""
        return len(self._model_queues.get(model, ()))

    def take(self, model: str) -> tuple[Script, bool]:
        """The script for the next request, and whether to answer it with a 429."""
        queue = self._queue or self._model_queues.get(model)
        script = queue[0] if queue else self._standing(model)
        sent = self._limited.get(id(script), 0)
        if sent < script.rate_limit:
            self._limited[id(script)] = sent + 1
            return script, True
        if queue:
            queue.popleft()
            # Its id may be reused by a later object once it is gone.
            self._limited.pop(id(script), None)
            if not queue and queue is not self._queue:
                del self._model_queues[model]
        return script, False

    def standing(self, model: str) -> Script:
        """The script for a request that takes no queued one (a naming request: see app.py):
        the one set for the model name, its preset, or the default; no 429s counted."""
        return self._standing(model)

    def _standing(self, model: str) -> Script:
        return self.by_model.get(model) or preset_for_model(model) or self.default
