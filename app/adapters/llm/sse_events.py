"""Server-sent events from raw response bytes, for adapters that decode the data
themselves.

The SDKs build a pydantic object per streamed chunk; profiling a worker showed that
costing more than everything else a delta goes through. The adapters still send requests
(auth, base URL, status errors) through the official SDKs, and read the body here.
"""

from __future__ import annotations


class SSEParser:
    """Feed bytes as they arrive; get back each complete event as (event name, data)."""

    def __init__(self) -> None:
        self._rest = b""
        self._event: str | None = None
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[tuple[str | None, bytes]]:
        lines = (self._rest + chunk).split(b"\n")
        self._rest = lines.pop()  # an unfinished line waits for the next chunk
        events: list[tuple[str | None, bytes]] = []
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:  # a blank line ends the event
                if self._data:
                    events.append((self._event, b"\n".join(self._data)))
                self._event, self._data = None, []
                continue
            name, _, value = line.partition(b":")
            if value.startswith(b" "):
                value = value[1:]
            if name == b"data":
                self._data.append(value)
            elif name == b"event":
                self._event = value.decode()
            # comments (a line starting with ':'), `id` and `retry` mean nothing to us
        return events
