"""Robot sessions: the conversations, read from the sessions read model."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import JSONBody, QueryParameter

from app.accounts import Account, Permission
from app.api.auth import requires
from app.api.chat import ChatRequest, TurnAccepted, start_in_background
from app.api.paging import page_numbers, parse_page
from app.api.profiles import ProfileReference, profile_reference
from app.bootstrap import Services
from projections.sessions import SessionRow, list_sessions

PAGE_SIZE = 20


class RobotSessionRef(
    msgspec.Struct, kw_only=True, rename={"created": "createdAt", "updated": "updatedAt"}
):
    id: str
    created: datetime
    updated: datetime
    name: str
    created_by: ProfileReference | None
    misc: dict[str, Any] | None = None


class RobotSessionsListResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    page_size: int
    results: int
    total_pages: int
    current_page: int
    sessions: list[RobotSessionRef]
    next_page: int | None = None


def _ref(row: SessionRow) -> RobotSessionRef:
    creator = None
    if row.created_by is not None and row.creator_joined is not None:
        creator = profile_reference(row.created_by, row.creator_joined)
    return RobotSessionRef(
        id=row.id,
        created=row.created_at,
        updated=row.updated_at,
        name=row.name or "New conversation",
        created_by=creator,
    )


class SessionsController(Controller):
    path = "/robots/sessions"
    tags = ["sessions"]
    guards = [requires(Permission.USE_ROBOTS)]

    @get("/")
    async def list(
        self,
        state: State,
        page: Annotated[str | None, QueryParameter(description="Page number, from 1")] = None,
        account_id: Annotated[
            uuid.UUID | None, QueryParameter(description="Only sessions this account started")
        ] = None,
    ) -> RobotSessionsListResult:
        """Sessions, newest first, 20 a page. Every USE_ROBOTS member sees every session."""
        current = parse_page(page)
        services: Services = state.services
        async with services.pool.connection() as conn:
            rows, total = await list_sessions(
                conn, limit=PAGE_SIZE, offset=(current - 1) * PAGE_SIZE, account_id=account_id
            )
        total_pages, next_page = page_numbers(current, total, PAGE_SIZE)
        return RobotSessionsListResult(
            page_size=PAGE_SIZE,
            results=total,
            total_pages=total_pages,
            current_page=current,
            sessions=[_ref(r) for r in rows],
            next_page=next_page,
        )

    @post("/", status_code=202)
    async def start_turn(self, request: Request[Account, Any, Any], state: State,
                         data: JSONBody[ChatRequest]) -> TurnAccepted:
        """Start a turn nobody watches live (same body as the chat stream); follow it at
        `streamUrl`. 202: the turn is recorded and queued."""
        return await start_in_background(request, state.services, data)
