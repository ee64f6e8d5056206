"""Every error leaves as an RFC 7807 problem document: {type, title, detail, trace_id, metadata}."""

from __future__ import annotations

import logging
import uuid
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException

from app.adapters.accounts import HandleTaken
from app.eventstore import ConcurrencyError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TRACE_HEADER = "x-trace-id"


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The error shape of every 4xx and 5xx response."""

    type: str
    title: str
    detail: str | None = None
    trace_id: str
    metadata: dict[str, Any] | None = None


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
        type=f"/problems/{slug}" if slug else "about:blank",
        title=HTTPStatus(status).phrase,
        detail=detail,
        trace_id=trace_id,
        metadata=metadata,
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
    return problem_response(request, exc.status_code, exc.detail, headers=exc.headers)


def _problem(request: Request[Any, Any, Any], exc: ProblemError) -> Response[bytes]:
    return problem_response(request, exc.status, exc.detail, slug=exc.slug, metadata=exc.metadata)


def _conflict(request: Request[Any, Any, Any], exc: ConcurrencyError) -> Response[bytes]:
    return problem_response(
        request, 409, str(exc), slug="concurrent-change",
        metadata={"expected_version": exc.expected, "actual_version": exc.actual},
    )


def _handle_taken(request: Request[Any, Any, Any], exc: HandleTaken) -> Response[bytes]:
    return problem_response(request, 409, str(exc), slug="handle-taken")


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
    Exception: _unexpected,
}

__all__ = ["PROBLEM_JSON", "MediaType", "Problem", "ProblemError", "exception_handlers"]
