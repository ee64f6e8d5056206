"""A lean SSE client for the benchmarks: HTTP/1.1 on raw asyncio streams, keep-alive.

httpx costs tens of microseconds per line; at thousands of frames a second on a 2-core
machine that is CPU taken from the processes being measured. This reads the chunked body
and splits frames, nothing more; each frame comes with the time its bytes were read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec

DONE = b"[DONE]"


class HTTPStatusError(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:300]!r}")
        self.status = status


class Connection:
    """One HTTP/1.1 connection to the API; one request at a time, reused while it can be."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host = host
        self.port = port
        self.token = token
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
            self._reader = self._writer = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(
                self.host, self.port, limit=1 << 20)
        return self._reader, self._writer

    async def _send(self, request: bytes) -> tuple[asyncio.StreamReader, bytes]:
        """Send; the response head. A kept-alive connection the server has closed since
        (uvicorn closes idle ones after 5 s) is replaced once."""
        reused = self._writer is not None and not self._writer.is_closing()
        reader, writer = await self._open()
        try:
            writer.write(request)
            return reader, await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            await self.close()
            if not reused:
                raise
        reader, writer = await self._open()
        writer.write(request)
        return reader, await reader.readuntil(b"\r\n\r\n")

    async def stream(self, path: str, body: Any) -> AsyncIterator[tuple[int, bytes]]:
        """POST `body` as JSON; yields (monotonic ns when read, the frame's data) per SSE
        frame, `[DONE]` included. Raises HTTPStatusError for a status other than 200."""
        payload = msgspec.json.encode(body)
        request = (
            f"POST {path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\n"
            f"authorization: Bearer {self.token}\r\ncontent-type: application/json\r\n"
            f"accept: text/event-stream\r\ncontent-length: {len(payload)}\r\n\r\n".encode()
            + payload)
        reader, head = await self._send(request)
        keep = True
        try:
            status, headers = _head(head)
            keep = headers.get("connection", "") != "close"
            chunks = _body(reader, headers)
            if status != 200:
                raise HTTPStatusError(status, b"".join([c async for c in chunks]))
            buffer = b""
            async for chunk in chunks:
                now = time.monotonic_ns()
                buffer += chunk
                while (end := buffer.find(b"\n\n")) >= 0:
                    frame, buffer = buffer[:end], buffer[end + 2 :]
                    at = frame.find(b"data: ")
                    if at >= 0:
                        yield now, frame[at + 6 :]
        except BaseException:
            keep = False
            raise
        finally:
            if not keep:
                await self.close()


def _head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip().lower()
    return status, headers


async def _body(reader: asyncio.StreamReader, headers: dict[str, str]) -> AsyncIterator[bytes]:
    if headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return
            chunk = await reader.readexactly(size + 2)
            yield chunk[:-2]
    elif "content-length" in headers:
        yield await reader.readexactly(int(headers["content-length"]))
    else:
        while chunk := await reader.read(1 << 16):
            yield chunk


def chat_body(session_id: str, message_id: str, text: str) -> dict[str, Any]:
    """What the AI SDK's useChat sends for a new user message."""
    return {"id": session_id, "trigger": "submit-message",
            "messages": [{"id": message_id, "role": "user",
                          "parts": [{"type": "text", "text": text}]}]}


_TEXT_DELTA = b'"type":"text-delta"'
_FINISH = b'"type":"finish"'
_decode_delta = msgspec.json.Decoder(dict[str, Any])


def text_delta(data: bytes) -> str | None:
    """The delta of a `text-delta` part, else None."""
    if _TEXT_DELTA not in data:
        return None
    delta = _decode_delta.decode(data).get("delta")
    return delta if isinstance(delta, str) else None


def is_finish(data: bytes) -> bool:
    return _FINISH in data
