"""Listing sessions: Storyden's page mode and Julep's limit/offset, sort and metadata filters."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from app.api.auth import requires
from app.api.chat import ChatBody, TurnAccepted, start_in_background
from app.api.deps import Pool
from app.api.nul_text import refuse_nul_in
from app.api.openapi import problems
from app.api.paging import page_numbers, parse_page
from app.api.problems import ProblemError
from app.api.profiles import ProfileReference, profile_reference
from app.bootstrap import Services
from app.domain.accounts import Account, Permission
from app.readmodels.session_listing import ListQuery
from app.readmodels.sessions import SessionRow
from app.services import session_reads

PAGE_SIZE = 20
FILTER = "metadata_filter"
FILTER_PREFIX = f"{FILTER}."
LISTING_RULES = (
    "Storyden mode: `page` (from 1, 20 a page). Julep mode: `limit` (1-100) and `offset`."
    " `page` with `limit` pages by `limit`; `page` with `offset` is a 400. `sort_by`"
    " (created_at | updated_at) and `direction` (asc | desc, default desc) work in both, as"
    " do `account_id` and the metadata filter: Julep's `metadata_filter={\"tier\": 3}` (a JSON"
    " object) or `metadata_filter.<key>=<value>` (values are JSON scalars: 3, true, \"3\";"
    " anything else is a string); every key must match. Deleted sessions are never listed."
)


class RobotSessionRef(
    msgspec.Struct,
    kw_only=True,
    omit_defaults=True,
    rename={"created": "createdAt", "updated": "updatedAt"},
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


class JulepSession(msgspec.Struct, kw_only=True):
    id: str
    title: str | None
    situation: str | None
    system_template: str | None
    summary: str | None
    render_templates: bool
    token_budget: int | None
    context_overflow: str | None
    recall_options: dict[str, Any] | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    kind: str
    auto_run_tools: bool = True
    forward_tool_calls: bool = False


class JulepSessionList(msgspec.Struct, kw_only=True):
    items: list[JulepSession]


def _ref(row: SessionRow) -> RobotSessionRef:
    creator = (
        profile_reference(row.created_by, row.creator_joined)
        if row.created_by and row.creator_joined
        else None
    )
    return RobotSessionRef(
        id=row.id,
        created=row.created_at,
        updated=row.updated_at,
        name=row.name or "New conversation",
        created_by=creator,
    )


def _julep(row: SessionRow) -> JulepSession:
    return JulepSession(
        id=row.id,
        title=row.name,
        situation=row.situation,
        system_template=row.system_template,
        summary=row.summary,
        render_templates=row.render_templates,
        token_budget=row.token_budget,
        context_overflow=row.context_overflow,
        recall_options=row.recall_options,
        metadata=row.metadata,
        created_at=row.created_at,
        updated_at=row.updated_at,
        kind="single_agent",
        auto_run_tools=row.auto_run_tools,
        forward_tool_calls=row.forward_tool_calls,
    )


def metadata_filters(query: dict[str, list[str]]) -> dict[str, Any]:
    """The metadata a listing must match, from either form: Julep's `metadata_filter` (a
    JSON object, as its SDK sends it) and `metadata_filter.tier=3` -> {"tier": 3} (values
    read as JSON scalars). Both may be given if they agree."""
    found = _filter_object(query.get(FILTER))
    for key, values in query.items():
        if not key.startswith(FILTER_PREFIX):
            continue
        name = key[len(FILTER_PREFIX) :]
        if not name or len(values) != 1:
            raise _bad_filter(key, f"{key} needs a key name and exactly one value")
        value = _scalar(values[0])
        refuse_nul_in(value, key)
        if name in found and found[name] != value:
            raise _bad_filter(key, f"{key} contradicts {FILTER}")
        found[name] = value
    return found


def _filter_object(values: list[str] | None) -> dict[str, Any]:
    if values is None:
        return {}
    try:
        found = json.loads(values[0]) if len(values) == 1 else None
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise _bad_filter(FILTER, f'{FILTER} must be one JSON object, such as {{"team": "core"}}')
    refuse_nul_in(found, FILTER)
    return found


def _scalar(raw: str) -> Any:
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return value if isinstance(value, str | int | float | bool) or value is None else raw


def _bad_filter(parameter: str, detail: str) -> ProblemError:
    return ProblemError(400, detail, slug="invalid-request", metadata={"parameter": parameter})


Limit = Annotated[int | None, QueryParameter(ge=1, le=100, description="Julep: page size")]
Offset = Annotated[int | None, QueryParameter(ge=0, description="Julep: rows to skip")]
SortBy = Annotated[Literal["created_at", "updated_at"], QueryParameter(description="Sort key")]
Direction = Annotated[Literal["asc", "desc"], QueryParameter(description="Sort direction")]
Page = Annotated[str | None, QueryParameter(description="Storyden: page number, from 1")]
AccountId = Annotated[
    uuid.UUID | None, QueryParameter(description="Only sessions this account started")
]
# Documented here; read with its dotted form by metadata_filters.
MetadataFilter = Annotated[str | None, QueryParameter(
    description='Julep: a JSON object the metadata must contain, e.g. {"team": "core"}')]


class Listing(msgspec.Struct, frozen=True):
    query: ListQuery
    current_page: int


async def listing(
    request: Request[Any, Any, Any],
    page: Page = None,
    limit: Limit = None,
    offset: Offset = None,
    sort_by: SortBy = "created_at",
    direction: Direction = "desc",
    account_id: AccountId = None,
    metadata_filter: MetadataFilter = None,
) -> Listing:
    """The listing parameters both envelopes share, checked once (a Litestar dependency)."""
    if page is not None and offset is not None:
        raise ProblemError(
            400,
            "use either page (Storyden) or offset (Julep), not both",
            slug="invalid-request",
            metadata={"parameter": "page"},
        )
    size = limit or PAGE_SIZE
    current = parse_page(page) if offset is None else offset // size + 1
    start = offset if offset is not None else (current - 1) * size
    filters = metadata_filters(dict(request.query_params.dict()))
    query = ListQuery(
        limit=size,
        offset=start,
        sort_by=sort_by,
        direction=direction,
        account_id=account_id,
        metadata=filters,
    )
    return Listing(query, current)


class SessionsController(Controller):
    path = "/robots/sessions"
    tags = ["sessions"]
    guards = [requires(Permission.USE_ROBOTS)]

    @get("/", description=LISTING_RULES, dependencies={"listing": Provide(listing)},
         summary="List sessions", responses=problems(403))
    async def list(
        self, pool: NamedDependency[Pool], listing: NamedDependency[Listing]
    ) -> RobotSessionsListResult:
        """Sessions, newest first. Every USE_ROBOTS member sees every session."""
        query, current = listing.query, listing.current_page
        rows, total = await session_reads.listed(pool, query)
        total_pages, next_page = page_numbers(current, total, query.limit)
        return RobotSessionsListResult(
            page_size=query.limit,
            results=total,
            total_pages=total_pages,
            current_page=current,
            sessions=[_ref(r) for r in rows],
            next_page=next_page,
        )

    @post("/", status_code=202, summary="Start a turn in the background",
          responses=problems(403, 404, 409, 410, 413, 422))
    async def start_turn(
        self, request: Request[Account, Any, Any], services: NamedDependency[Services],
        data: ChatBody,
    ) -> TurnAccepted:
        """Start a turn nobody watches live (same body as the chat stream); follow it at
        `streamUrl`. 202: the turn is recorded and queued."""
        return await start_in_background(request, services, data)


class JulepSessionsController(Controller):
    path = "/sessions"
    tags = ["sessions"]
    guards = [requires(Permission.USE_ROBOTS)]

    @get("/", description=LISTING_RULES, dependencies={"listing": Provide(listing)},
         summary="List sessions (Julep)", responses=problems(403))
    async def list(
        self, pool: NamedDependency[Pool], listing: NamedDependency[Listing]
    ) -> JulepSessionList:
        """The same listing in Julep's envelope and field names."""
        rows = await session_reads.listed_page(pool, listing.query)
        return JulepSessionList(items=[_julep(r) for r in rows])
