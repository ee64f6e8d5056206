"""One session: read it (now or as of a version), change it, delete it, replay its events,
fork it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from app.api import session_view
from app.api.auth import requires
from app.api.openapi import problems
from app.api.problems import ProblemError
from app.bootstrap import Services
from app.domain import decisions
from app.domain.accounts import Account, Permission
from app.domain.events import ContextOverflow, RecallOptions
from app.domain.templates import TemplateError
from app.eventstore import EventStore
from app.readmodels.messages import UnknownCursor
from app.services import session_reads, sessions

MessageLimit = Annotated[int, QueryParameter(ge=1, le=100, description="Messages per page")]
Before = Annotated[str | None, QueryParameter(description="Messages older than this id")]
AsOf = Annotated[int | None, QueryParameter(ge=1, description="The session at this version,"
                                                                " folded from the log")]


class SessionPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields left out keep their value; null clears a setting."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType = (
        msgspec.UNSET)
    situation: str | msgspec.UnsetType | None = msgspec.UNSET
    system_template: str | msgspec.UnsetType | None = msgspec.UNSET
    render_templates: bool | msgspec.UnsetType = msgspec.UNSET
    # ge=1, not gt=0: Litestar leaves a bound of 0 out of the OpenAPI document.
    token_budget: Annotated[int, msgspec.Meta(ge=1)] | msgspec.UnsetType | None = msgspec.UNSET
    context_overflow: ContextOverflow | msgspec.UnsetType | None = msgspec.UNSET
    recall_options: RecallOptions | msgspec.UnsetType | None = msgspec.UNSET
    metadata: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    summary: str | msgspec.UnsetType | None = msgspec.UNSET
    auto_run_tools: bool | msgspec.UnsetType = msgspec.UNSET
    forward_tool_calls: bool | msgspec.UnsetType = msgspec.UNSET


class ForkRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    at_message_id: str


class HistoryEvent(msgspec.Struct, kw_only=True):
    type: str
    version: int
    global_position: int
    recorded_at: datetime
    actor: str | None
    data: dict[str, Any]


class EventHistory(msgspec.Struct, kw_only=True, omit_defaults=True):
    events: list[HistoryEvent]
    next_after: int | None = None


def _not_found(session_id: str) -> ProblemError:
    return ProblemError(404, f"no session with id {session_id}", slug="not-found",
                        metadata={"session_id": session_id})


def _bad_cursor(exc: UnknownCursor) -> ProblemError:
    return ProblemError(400, str(exc), slug="invalid-request", metadata={"parameter": "before"})


async def _current(services: Services, session_id: str, before: str | None = None,
                   limit: int = 50) -> session_view.RobotSessionOut:
    try:
        page = await session_reads.current(services, session_id, before=before, limit=limit)
    except UnknownCursor as exc:
        raise _bad_cursor(exc) from None
    if page is None:
        raise _not_found(session_id)
    return session_view.session_out(page, limit)


async def _as_of(services: Services, session_id: str, version: int, before: str | None,
                 limit: int) -> session_view.RobotSessionOut:
    try:
        page = await session_reads.as_of(services, session_id, version, before=before,
                                         limit=limit)
    except session_reads.VersionBeyondLatest as exc:
        raise ProblemError(400, str(exc), slug="invalid-request",
                           metadata={"parameter": "as_of"}) from None
    except session_reads.NotAtVersion as exc:
        raise ProblemError(404, str(exc), slug="not-found",
                           metadata={"session_id": session_id, "as_of": version}) from None
    except UnknownCursor as exc:
        raise _bad_cursor(exc) from None
    if page is None:
        raise _not_found(session_id)
    return session_view.session_out(page, limit)


class SessionDetailController(Controller):
    path = "/robots/sessions/{session_id:str}"
    tags = ["sessions"]
    guards = [requires(Permission.USE_ROBOTS)]

    @get("/", summary="Get a session and its messages", responses=problems(403, 404))
    async def get_session(self, services: NamedDependency[Services], session_id: FromPath[str],
                          before: Before = None, limit: MessageLimit = 50,
                          as_of: AsOf = None) -> session_view.RobotSessionOut:
        """The session and a page of its messages: the newest `limit` (before `before`),
        in chronological order; `next_before` only when older messages exist."""
        if as_of is not None:
            return await _as_of(services, session_id, as_of, before, limit)
        return await _current(services, session_id, before, limit)

    @patch("/", summary="Change a session's options",
           responses=problems(403, 404, 409, 413))
    async def change(self, request: Request[Account, Any, Any],
                     services: NamedDependency[Services], session_id: FromPath[str],
                     data: JSONBody[SessionPatch]) -> session_view.RobotSessionOut:
        """Change session options; each change is one SessionSettingsChanged event."""
        fields = {k: v for k, v in msgspec.structs.asdict(data).items()
                  if v is not msgspec.UNSET}
        try:
            await sessions.change_settings(services, request.user, session_id, fields)
        except TemplateError as exc:
            raise ProblemError(422, str(exc), slug="invalid-field", metadata={
                "field": "system_template", "line": exc.line}) from None
        except decisions.SessionNotFound:
            raise _not_found(session_id) from None
        return await _current(services, session_id)

    @delete("/", status_code=204, summary="Delete a session",
            responses=problems(403, 404, 409))
    async def remove(self, request: Request[Account, Any, Any],
                     services: NamedDependency[Services], session_id: FromPath[str]) -> None:
        """Delete the session from listings; its events stay in the log."""
        try:
            await sessions.delete(services, request.user, session_id)
        except decisions.SessionNotFound:
            raise _not_found(session_id) from None
        await session_reads.caught_up(services, session_id)

    @get("/events", summary="A session's event history", responses=problems(403, 404))
    async def events(
        self, store: NamedDependency[EventStore], session_id: FromPath[str],
        after: Annotated[int, QueryParameter(ge=0, description="After this version")] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> EventHistory:
        """The session's raw event history, in order: the log is its memory."""
        page = await session_reads.history(store, session_id, after=after, limit=limit)
        if page is None:
            raise _not_found(session_id)
        return EventHistory(
            events=[HistoryEvent(type=r.type, version=r.stream_version,
                                 global_position=r.global_position, recorded_at=r.recorded_at,
                                 actor=r.metadata.actor, data=msgspec.to_builtins(r.event))
                    for r in page.records],
            next_after=page.next_after)

    @post("/fork", status_code=201, summary="Fork a session at a message",
          responses=problems(403, 404, 409, 413, 422))
    async def fork(self, request: Request[Account, Any, Any],
                   services: NamedDependency[Services], session_id: FromPath[str],
                   data: JSONBody[ForkRequest]) -> session_view.RobotSessionOut:
        """A new session whose history is this one's up to `at_message_id` (inclusive), to
        retry a conversation from that point with another robot or model."""
        try:
            new_id = await sessions.fork(services, request.user, session_id,
                                         data.at_message_id)
        except decisions.SessionNotFound:
            raise _not_found(session_id) from None
        except decisions.UnknownMessage as exc:
            raise ProblemError(422, str(exc), slug="invalid-field",
                               metadata={"field": "at_message_id"}) from None
        return await _current(services, new_id)
