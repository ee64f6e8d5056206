"""Robots CRUD and the tool catalogue (Storyden's shapes)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter

from app.adapters.accounts import profiles
from app.adapters.robots import RobotNameTaken
from app.api.auth import requires
from app.api.paging import page_numbers, parse_page
from app.api.problems import ProblemError
from app.api.profiles import ProfileReference, profile_reference
from app.bootstrap import Services
from app.domain.accounts import Account, Permission
from app.domain.model_refs import InvalidModelRef, parse_model_ref
from app.domain.robots import Robot
from app.domain.tools import TOOL_IDS, TOOLS, ToolInfo

PAGE_SIZE = 20
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Text = Annotated[str, msgspec.Meta(max_length=100_000)]
# The built-in robot and any robot whose author is gone are shown as authored by this.
_SYSTEM = Account(id=uuid.UUID(int=0), handle="system", name="System", roles=())
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class RobotInitialProps(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    description: Text
    playbook: Text
    model: str | None = None
    tools: list[str] = []
    meta: dict[str, Any] = {}


class RobotMutableProps(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    description: Text | msgspec.UnsetType = msgspec.UNSET
    playbook: Text | msgspec.UnsetType = msgspec.UNSET
    model: str | msgspec.UnsetType | None = msgspec.UNSET  # null: back to the default model
    tools: list[str] | msgspec.UnsetType = msgspec.UNSET
    meta: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET


class RobotOut(
    msgspec.Struct,
    kw_only=True,
    omit_defaults=True,
    rename={"created": "createdAt", "updated": "updatedAt", "deleted": "deletedAt"},
):
    id: str
    created: datetime
    updated: datetime
    name: str
    description: str
    playbook: str
    model: str
    author: ProfileReference
    tools: list[str]
    meta: dict[str, Any]
    deleted: datetime | None = None


class RobotsListResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    page_size: int
    results: int
    total_pages: int
    current_page: int
    robots: list[RobotOut]
    next_page: int | None = None


class RobotToolListResult(msgspec.Struct, kw_only=True):
    tools: list[ToolInfo]


def _checked(fields: dict[str, Any], services: Services) -> dict[str, Any]:
    """Refuse a model or tools we cannot run, naming the field."""
    if fields.get("model") is not None:
        try:
            parse_model_ref(fields["model"], services.settings)
        except InvalidModelRef as exc:
            raise ProblemError(
                422, str(exc), slug="invalid-field", metadata={"field": "model"}
            ) from None
    unknown = sorted(set(fields.get("tools", [])) - TOOL_IDS)
    if unknown:
        raise ProblemError(
            422,
            f"unknown tools: {', '.join(unknown)} (see GET /robots/tools)",
            slug="invalid-field",
            metadata={"field": "tools"},
        )
    return fields


async def _out(services: Services, robots: list[Robot]) -> list[RobotOut]:
    authors = await profiles(services.pool, [r.author_id for r in robots if r.author_id])
    default_model = services.settings.model_for_new_robots
    result = []
    for r in robots:
        author, joined = (
            authors.get(r.author_id, (_SYSTEM, _EPOCH)) if r.author_id else (_SYSTEM, _EPOCH)
        )
        result.append(
            RobotOut(
                id=str(r.id),
                created=r.created_at,
                updated=r.updated_at,
                name=r.name,
                description=r.description,
                playbook=r.playbook,
                model=r.model or default_model,
                author=profile_reference(author, joined),
                tools=r.tools,
                meta=r.meta,
                deleted=r.deleted_at,
            )
        )
    return result


def _name_taken(exc: RobotNameTaken) -> ProblemError:
    return ProblemError(409, str(exc), slug="robot-name-taken", metadata={"field": "name"})


class RobotsController(Controller):
    path = "/robots"
    tags = ["robots"]

    @get("/", guards=[requires(Permission.USE_ROBOTS)])
    async def list_robots(
        self,
        state: State,
        page: Annotated[str | None, QueryParameter(description="Page number, from 1")] = None,
    ) -> RobotsListResult:
        """Live robots, oldest first, 20 a page."""
        services: Services = state.services
        current = parse_page(page)
        robots, total = await services.robots.page(
            limit=PAGE_SIZE, offset=(current - 1) * PAGE_SIZE
        )
        total_pages, next_page = page_numbers(current, total, PAGE_SIZE)
        return RobotsListResult(
            page_size=PAGE_SIZE,
            results=total,
            total_pages=total_pages,
            current_page=current,
            robots=await _out(services, robots),
            next_page=next_page,
        )

    @get("/tools", guards=[requires(Permission.USE_ROBOTS)])
    async def list_tools(self) -> RobotToolListResult:
        """The tools a robot can be given, by id."""
        return RobotToolListResult(tools=list(TOOLS))

    @post("/", guards=[requires(Permission.MANAGE_ROBOTS)])
    async def create_robot(
        self, request: Request[Account, Any, Any], state: State, data: JSONBody[RobotInitialProps]
    ) -> RobotOut:
        """Create a robot. Without a model it uses the configured default model."""
        services: Services = state.services
        fields = _checked(msgspec.structs.asdict(data), services)
        try:
            robot = await services.robots.create(fields, request.user.id)
        except RobotNameTaken as exc:
            raise _name_taken(exc) from None
        return (await _out(services, [robot]))[0]

    @get("/{robot_id:uuid}", guards=[requires(Permission.USE_ROBOTS)])
    async def get_robot(self, state: State, robot_id: FromPath[uuid.UUID]) -> RobotOut:
        services: Services = state.services
        robot = await services.robots.get(robot_id)
        if robot is None:
            raise ProblemError(404, f"no robot with id {robot_id}", slug="not-found")
        return (await _out(services, [robot]))[0]

    @patch("/{robot_id:uuid}", guards=[requires(Permission.MANAGE_ROBOTS)])
    async def update_robot(
        self,
        request: Request[Account, Any, Any],
        state: State,
        robot_id: FromPath[uuid.UUID],
        data: JSONBody[RobotMutableProps],
    ) -> RobotOut:
        """Change the fields sent; fields left out keep their value."""
        services: Services = state.services
        fields = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        try:
            robot = await services.robots.update(
                robot_id, _checked(fields, services), request.user.id
            )
        except RobotNameTaken as exc:
            raise _name_taken(exc) from None
        if robot is None:
            raise ProblemError(404, f"no robot with id {robot_id}", slug="not-found")
        return (await _out(services, [robot]))[0]

    @delete("/{robot_id:uuid}", guards=[requires(Permission.MANAGE_ROBOTS)], status_code=200)
    async def delete_robot(
        self, request: Request[Account, Any, Any], state: State, robot_id: FromPath[uuid.UUID]
    ) -> RobotOut:
        """Soft delete: sessions that used the robot still show its name."""
        services: Services = state.services
        if not await services.robots.delete(robot_id, request.user.id):
            raise ProblemError(404, f"no robot with id {robot_id}", slug="not-found")
        robot = await services.robots.get(robot_id, include_deleted=True)
        assert robot is not None
        return (await _out(services, [robot]))[0]
