"""Retrying a model stream: only before its first event, with capped exponential backoff."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import TypeVar

from msgspec import Struct

from app.adapters.llm.base import ModelError
from app.adapters.llm.events import ModelEvent

T = TypeVar("T")


class Backoff(Struct, frozen=True):
    """How long to wait before retry number `n` (0-based).

    Exponential from `initial_s`, capped at `max_s`, with jitter so many workers hit by the
    same outage do not retry in step. A server's `retry-after` wins, capped at
    `max_retry_after_s` so one answer cannot park a turn for minutes.
    """

    initial_s: float = 0.5
    max_s: float = 8.0
    max_retry_after_s: float = 20.0

    def delay(self, retry: int, retry_after_s: float | None = None) -> float:
        if retry_after_s is not None:
            return min(max(retry_after_s, 0.0), self.max_retry_after_s)
        ceiling = min(self.max_s, self.initial_s * 2.0**retry)
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `retry-after` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


async def retrying(
    attempt: Callable[[], AsyncGenerator[ModelEvent, None]],
    classify: Callable[[Exception], ModelError | None],
    *,
    max_retries: int,
    backoff: Backoff,
) -> AsyncGenerator[ModelEvent, None]:
    """Yield the events of `attempt()`, starting it again on a retryable error.

    A retry happens only while nothing has been yielded: after the first event, starting
    again would repeat text, so the error is raised. `classify` turns an SDK error into a
    `ModelError` (None: not a model error, raised unchanged). Every failure that ends the
    stream is a `ModelError` saying how many attempts were made. It is raised without its
    SDK cause: what the server said (which can echo the API key) must not reach a logged
    traceback; the redacted gist is in the message.
    """
    retry = 0
    while True:
        started = False
        events = attempt()
        try:
            async for event in events:
                started = True
                yield event
            return
        except Exception as exc:
            error = classify(exc)
            if error is None:
                raise
            if started:
                raise _restated(error, "; the answer had already begun, so it was not retried",
                                retry + 1) from None
            if not error.retryable:
                raise _restated(error, "", retry + 1) from None
            if retry >= max_retries:
                raise _restated(error, f"; gave up after {retry + 1} attempts", retry + 1) from None
        finally:
            await events.aclose()  # releases the HTTP connection when the caller stops early
        await asyncio.sleep(backoff.delay(retry, error.retry_after_s))
        retry += 1


async def retrying_call(
    attempt: Callable[[], Awaitable[T]],
    classify: Callable[[Exception], ModelError | None],
    *,
    max_retries: int,
    backoff: Backoff,
) -> T:
    """What `attempt()` returns, calling it again on a retryable error: `retrying` for a
    call that is not streamed (nothing can be repeated, so any failure may be retried).
    Raises a `ModelError` as `retrying` does, without its SDK cause."""
    retry = 0
    while True:
        try:
            return await attempt()
        except Exception as exc:
            error = classify(exc)
            if error is None:
                raise
            if not error.retryable:
                raise _restated(error, "", retry + 1) from None
            if retry >= max_retries:
                raise _restated(error, f"; gave up after {retry + 1} attempts", retry + 1) from None
        await asyncio.sleep(backoff.delay(retry, error.retry_after_s))
        retry += 1


def _restated(error: ModelError, suffix: str, attempts: int) -> ModelError:
    return ModelError(error.message + suffix, status=error.status, retryable=error.retryable,
                      retry_after_s=error.retry_after_s, attempts=attempts)
