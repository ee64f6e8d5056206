"""Every error leaves as an RFC 7807 problem document: {type, title, detail, trace_id, metadata}."""

from __future__ import annotations

import asyncio
import logging
import uuid
from http import HTTPStatus
from typing import Any

import msgspec
import psycopg
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    SerializationException,
    ValidationException,
)
from redis.exceptions import RedisError

from app.adapters.accounts import HandleTaken
from app.adapters.outage import DATABASE_DOWN
from app.domain.session_access import NotPermitted
from app.eventstore import ConcurrencyError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TRACE_HEADER = "x-trace-id"


# The type of a problem raised without a slug of its own, by status. With the slugs the API
# raises by name, this is the vocabulary README.md's table lists: keep the two in step.
SLUG_BY_STATUS = {
    400: "invalid-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "too-large",
    500: "internal-error",
    503: "unavailable",
}


def slug_for(status: int) -> str:
    """The default slug of a status; one Litestar might raise that we never name is
    spelled from its reason phrase, so every problem has a type."""
    return SLUG_BY_STATUS.get(status) or HTTPStatus(status).phrase.lower().replace(" ", "-")


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The error shape of every 4xx and 5xx response."""

    type: str  # /problems/<slug>
    title: str
    detail: str | None = None
    trace_id: str
    metadata: dict[str, Any]  # what the problem is about (`field`, `parameter`, ...); {} if nothing


class ProblemError(Exception):
    """Raise from a handler to answer with a specific problem."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug
        self.metadata = metadata


def trace_id_of(request: Request[Any, Any, Any]) -> str:
    """The request's trace id: the caller's x-trace-id if it sent one, else a new one."""
    state = request.scope.setdefault("state", {})
    if "trace_id" not in state:
        sent = request.headers.get(TRACE_HEADER, "")
        state["trace_id"] = sent[:64] if sent.isascii() and sent else uuid.uuid4().hex
    trace: str = state["trace_id"]
    return trace


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    detail: str | None,
    *,
    slug: str | None = None,
    metadata: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    trace_id = trace_id_of(request)
    body = Problem(
        type=f"/problems/{slug or slug_for(status)}",
        title=HTTPStatus(status).phrase,
        detail=detail,
        trace_id=trace_id,
        metadata=metadata or {},
    )
    return Response(
        content=msgspec.json.encode(body),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers={TRACE_HEADER: trace_id, **(headers or {})},
    )


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    errors = [e for e in (exc.extra or []) if isinstance(e, dict)]
    parts = [
        f"{e['key']}: {e.get('message', '')}" if e.get("key") else str(e.get("message", ""))
        for e in errors
    ]
    detail = "; ".join(p for p in parts if p) or exc.detail
    return problem_response(
        request, exc.status_code, detail, slug="invalid-request",
        metadata={"errors": errors} if errors else None,
    )


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    if isinstance(exc, ValidationException):
        return _validation(request, exc)
    if isinstance(exc.__cause__, SerializationException):
        return problem_response(
            request, 400, f"the request body is not valid JSON: {exc.detail}", slug="invalid-json"
        )
    if isinstance(exc, MethodNotAllowedException):
        return _method_not_allowed(request, exc)
    if isinstance(exc, NotFoundException):  # the router's (ours are ProblemErrors)
        return problem_response(request, 404, f"no route matches {request.url.path}",
                                metadata={"path": request.url.path})
    return problem_response(request, exc.status_code, exc.detail, headers=exc.headers)


def _method_not_allowed(request: Request[Any, Any, Any],
                        exc: MethodNotAllowedException) -> Response[bytes]:
    allowed = sorted(m.strip() for m in (exc.headers or {}).get("allow", "").split(",")
                     if m.strip())
    return problem_response(
        request, 405, f"{request.method} is not allowed on {request.url.path}",
        metadata={"allowed": allowed}, headers=exc.headers)


def _problem(request: Request[Any, Any, Any], exc: ProblemError) -> Response[bytes]:
    return problem_response(request, exc.status, exc.detail, slug=exc.slug, metadata=exc.metadata)


def _conflict(request: Request[Any, Any, Any], exc: ConcurrencyError) -> Response[bytes]:
    return problem_response(
        request, 409, str(exc), slug="concurrent-change",
        metadata={"expected_version": exc.expected, "actual_version": exc.actual},
    )


def _not_permitted(request: Request[Any, Any, Any], exc: NotPermitted) -> Response[bytes]:
    return problem_response(request, 403, str(exc), slug="forbidden",
                            metadata={"session_id": exc.session_id})


def _handle_taken(request: Request[Any, Any, Any], exc: HandleTaken) -> Response[bytes]:
    return problem_response(request, 409, str(exc), slug="handle-taken",
                            metadata={"field": "handle"})


# How long a client is asked to wait when a server the API needs does not answer.
RETRY_AFTER_S = 2


def _unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """PostgreSQL or Redis did not answer: nothing half-done stays (a commit is whole, and
    what follows it waits for Redis), so the client may send the same request again."""
    server = "Redis" if isinstance(exc, RedisError) else "the database"
    log.warning("%s %s: %s unreachable (%s)", request.method, request.url.path, server,
                type(exc).__name__)
    if isinstance(exc, psycopg.OperationalError):
        _check_idle_connections(request)
    return problem_response(
        request, 503, f"{server} is not answering; try again in a few seconds",
        slug="unavailable", metadata={"retry_after_s": RETRY_AFTER_S},
        headers={"retry-after": str(RETRY_AFTER_S)})


def _check_idle_connections(request: Request[Any, Any, Any]) -> None:
    """After the database went away, the pool's idle connections are dead: test them all
    now (once at a time) rather than let each fail one more request."""
    state = request.app.state
    pool = state.services.pool
    running = state.get("pool_check")
    if running is None or running.done():
        state.pool_check = asyncio.create_task(pool.check())


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    trace_id = trace_id_of(request)
    log.exception("unhandled error (trace_id=%s)", trace_id, exc_info=exc)
    return problem_response(
        request, 500, f"an unexpected error occurred; quote trace id {trace_id}"
    )


exception_handlers: dict[int | type[Exception], Any] = {
    HTTPException: _http,
    ProblemError: _problem,
    ConcurrencyError: _conflict,
    HandleTaken: _handle_taken,
    NotPermitted: _not_permitted,
    # Not every OSError: only Redis's are a server gone (redis-py wraps the rest).
    **dict.fromkeys((RedisError, *DATABASE_DOWN), _unavailable),
    Exception: _unexpected,
}

__all__ = ["PROBLEM_JSON", "MediaType", "Problem", "ProblemError", "exception_handlers"]
