"""Turning what the SDKs raise into one clear `ModelError`, with secrets kept out."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import aiohttp
import httpx2

from app.adapters.llm.base import ModelError
from app.adapters.llm.retry import parse_retry_after

# Keys look like `sk-...`, `sk-ant-...`, `sk-proj-...`; OpenAI echoes a masked one on 401.
_KEY_LIKE = re.compile(r"\b(?:sk|pk|key)-[A-Za-z0-9_\-*.]{6,}")
# Anthropic reports some failures as an `error` event inside a 200 stream.
_STATUS_OF_ERROR_TYPE = {"invalid_request_error": 400, "authentication_error": 401,
                         "permission_error": 403, "not_found_error": 404,
                         "rate_limit_error": 429, "api_error": 500, "overloaded_error": 529}
_HINTS = {401: " (check the provider's API key)", 404: " (check the model id)"}


def redact(text: str, secret: str | None) -> str:
    """`text` with the API key, and anything shaped like a key, replaced."""
    if secret:
        text = text.replace(secret, "[redacted]")
    return _KEY_LIKE.sub("[redacted]", text)


def status_error(provider: str, status: int, body: object, fallback: str,
                 headers: Mapping[str, str], secret: str | None) -> ModelError:
    """The error for an HTTP error answer (or an error event inside a stream)."""
    if status < 400:
        status = _STATUS_OF_ERROR_TYPE.get(_error_type(body) or "", 500)
    detail = redact(error_detail(body) or fallback, secret)
    retryable = status in (408, 409, 429) or status >= 500
    return ModelError(
        f"model provider '{provider}' answered HTTP {status}: {detail}{_HINTS.get(status, '')}",
        status=status, retryable=retryable,
        retry_after_s=parse_retry_after(headers) if retryable else None,
    )


def connection_error(provider: str, exc: BaseException, *, timeout_s: float,
                     secret: str | None, base_url: str | None = None) -> ModelError:
    """The error for a request that got no complete answer: refused, dropped, timed out."""
    if timed_out(exc):
        return ModelError(f"model provider '{provider}' did not answer within {timeout_s:g}s",
                          retryable=True)
    cause = exc.__cause__ or exc
    detail = redact(str(cause) or type(cause).__name__, secret)
    if any(isinstance(e, httpx2.ConnectError | aiohttp.ClientConnectorError)
           for e in _causes(exc)):
        where = f" at {redact(base_url, secret)}" if base_url else ""
        return ModelError(f"could not connect to model provider '{provider}'{where}: {detail}",
                          retryable=True)
    return ModelError(f"lost the connection to model provider '{provider}': {detail}",
                      retryable=True)


def timed_out(exc: BaseException) -> bool:
    """Whether a transport error is a timeout, judged by what it was raised from.

    The SDKs' own classes cannot tell: their aiohttp transport maps every
    `ClientConnectionError` (a refused connect, a server that hung up) to `ConnectTimeout`.
    At the bottom of a real timeout there is always a `TimeoutError`, whichever transport.
    """
    return any(isinstance(e, TimeoutError) for e in _causes(exc))


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def error_detail(body: object) -> str | None:
    """The human message inside an error body of either API, if there is one."""
    if isinstance(body, str):
        return body or None
    if not isinstance(body, dict):
        return None
    inner = body.get("error")
    if isinstance(inner, dict) and isinstance(inner.get("message"), str):
        return str(inner["message"])
    if isinstance(inner, str):
        return inner
    message = body.get("message")
    return message if isinstance(message, str) else None


def _error_type(body: object) -> str | None:
    if not isinstance(body, dict):
        return None
    inner = body.get("error")
    kind = inner.get("type") if isinstance(inner, dict) else body.get("type")
    return kind if isinstance(kind, str) else None
