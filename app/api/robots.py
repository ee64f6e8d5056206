"""Robots CRUD and the tool catalogue (Storyden's shapes)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from app.adapters.robots import RobotNameTaken
from app.api.auth import requires
from app.api.openapi import problems
from app.api.paging import page_numbers, parse_page
from app.api.problems import ProblemError
from app.api.profiles import ProfileReference, profile_reference
from app.domain.accounts import Account, Permission
from app.domain.robots import ClientTool, ModelOptions
from app.domain.tools import TOOLS, ToolInfo
from app.services.mcp_servers import McpServerService
from app.services.robots import AuthoredRobot, InvalidRobotField, RobotNotFound, RobotService

PAGE_SIZE = 20
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Text = Annotated[str, msgspec.Meta(max_length=100_000)]
MaxSteps = Annotated[int, msgspec.Meta(ge=1, le=100)]
# What both OpenAI and Anthropic accept as a tool's name.
ToolName = Annotated[str, msgspec.Meta(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
# Taken as a plain object and checked by the service, so that a 422 names every unknown
# option (msgspec's forbid_unknown_fields stops at the first); the document still shows
# ModelOptions' shape, closed.
ModelOptionsIn = Annotated[dict[str, Any], msgspec.Meta(
    description="How the robot's model is called; an option left out or null is not sent."
                " Unknown options and values out of range are a 422 (invalid-field).",
    extra_json_schema={"extra": {
        "properties": msgspec.json.schema_components([ModelOptions])[1]["ModelOptions"][
            "properties"],
        "additional_properties": False}})]


class ClientToolIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A tool only the client runs: a call waits for the client's output."""

    name: ToolName
    description: Annotated[str, msgspec.Meta(max_length=10_000)] = ""
    input_schema: dict[str, Any] = msgspec.field(
        default_factory=lambda: {"type": "object", "properties": {}})


class RobotInitialProps(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    description: Text
    playbook: Text
    model: str | None = None
    tools: list[str] = []
    meta: dict[str, Any] = {}
    max_steps: MaxSteps = 20
    client_tools: list[ClientToolIn] = []
    tools_requiring_approval: list[str] = []
    model_options: ModelOptionsIn = {}


class RobotMutableProps(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    description: Text | msgspec.UnsetType = msgspec.UNSET
    playbook: Text | msgspec.UnsetType = msgspec.UNSET
    model: str | msgspec.UnsetType | None = msgspec.UNSET  # null: back to the default model
    tools: list[str] | msgspec.UnsetType = msgspec.UNSET
    meta: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    max_steps: MaxSteps | msgspec.UnsetType = msgspec.UNSET
    client_tools: list[ClientToolIn] | msgspec.UnsetType = msgspec.UNSET
    tools_requiring_approval: list[str] | msgspec.UnsetType = msgspec.UNSET
    model_options: ModelOptionsIn | msgspec.UnsetType = msgspec.UNSET  # replaced whole


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
    max_steps: int  # model steps a turn may take (ours; Storyden has none)
    # Ours: tools only the client runs, and tool ids whose calls wait for approval.
    client_tools: list[ClientTool]
    tools_requiring_approval: list[str]
    model_options: ModelOptions  # ours: the options set ({} when none)
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


def _out(authored: AuthoredRobot) -> RobotOut:
    r = authored.robot
    return RobotOut(
        id=str(r.id),
        created=r.created_at,
        updated=r.updated_at,
        name=r.name,
        description=r.description,
        playbook=r.playbook,
        model=authored.model,
        author=profile_reference(authored.author, authored.author_joined),
        tools=r.tools,
        meta=r.meta,
        max_steps=r.max_steps,
        client_tools=r.client_tools,
        tools_requiring_approval=r.tools_requiring_approval,
        model_options=r.model_options,
        deleted=r.deleted_at,
    )


def _not_found(exc: RobotNotFound) -> ProblemError:
    return ProblemError(404, str(exc), slug="not-found",
                        metadata={"robot_id": str(exc.robot_id)})


def _invalid(exc: InvalidRobotField) -> ProblemError:
    unknown = {"unknown": list(exc.unknown)} if exc.unknown else {}
    return ProblemError(422, str(exc), slug="invalid-field",
                        metadata={"field": exc.field, **unknown})


def _name_taken(exc: RobotNameTaken) -> ProblemError:
    return ProblemError(409, str(exc), slug="robot-name-taken", metadata={"field": "name"})


class RobotsController(Controller):
    path = "/robots"
    tags = ["robots"]

    @get("/", guards=[requires(Permission.USE_ROBOTS)], summary="List robots",
         responses=problems(403))
    async def list_robots(
        self,
        robot_service: NamedDependency[RobotService],
        page: Annotated[str | None, QueryParameter(description="Page number, from 1")] = None,
    ) -> RobotsListResult:
        """Live robots, oldest first, 20 a page."""
        current = parse_page(page)
        robots, total = await robot_service.page(limit=PAGE_SIZE,
                                                 offset=(current - 1) * PAGE_SIZE)
        total_pages, next_page = page_numbers(current, total, PAGE_SIZE)
        return RobotsListResult(
            page_size=PAGE_SIZE,
            results=total,
            total_pages=total_pages,
            current_page=current,
            robots=[_out(r) for r in robots],
            next_page=next_page,
        )

    @get("/tools", guards=[requires(Permission.USE_ROBOTS)], summary="List tools",
         responses=problems(403))
    async def list_tools(
        self, mcp_server_service: NamedDependency[McpServerService],
    ) -> RobotToolListResult:
        """The tools a robot can be given, by id: the native ones, then each MCP server's
        tools as its last refresh listed them (`available: false` while it is disabled)."""
        mcp = await mcp_server_service.tool_infos()
        return RobotToolListResult(tools=[*TOOLS.values(), *mcp])

    @post("/", guards=[requires(Permission.MANAGE_ROBOTS)], summary="Create a robot",
          responses=problems(403, 409, 413, 422))
    async def create_robot(
        self, request: Request[Account, Any, Any], robot_service: NamedDependency[RobotService],
        data: JSONBody[RobotInitialProps],
    ) -> RobotOut:
        """Create a robot. Without a model it uses the configured default model."""
        try:
            return _out(await robot_service.create(msgspec.structs.asdict(data),
                                                   request.user.id))
        except InvalidRobotField as exc:
            raise _invalid(exc) from None
        except RobotNameTaken as exc:
            raise _name_taken(exc) from None

    @get("/{robot_id:uuid}", guards=[requires(Permission.USE_ROBOTS)], summary="Get a robot",
         responses=problems(403, 404))
    async def get_robot(self, robot_service: NamedDependency[RobotService],
                        robot_id: FromPath[uuid.UUID]) -> RobotOut:
        """One live robot by id; a deleted one is a 404."""
        try:
            return _out(await robot_service.get(robot_id))
        except RobotNotFound as exc:
            raise _not_found(exc) from None

    @patch("/{robot_id:uuid}", guards=[requires(Permission.MANAGE_ROBOTS)],
           summary="Change a robot", responses=problems(403, 404, 409, 413, 422))
    async def update_robot(
        self,
        request: Request[Account, Any, Any],
        robot_service: NamedDependency[RobotService],
        robot_id: FromPath[uuid.UUID],
        data: JSONBody[RobotMutableProps],
    ) -> RobotOut:
        """Change the fields sent; fields left out keep their value."""
        fields = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        try:
            return _out(await robot_service.update(robot_id, fields, request.user.id))
        except InvalidRobotField as exc:
            raise _invalid(exc) from None
        except RobotNameTaken as exc:
            raise _name_taken(exc) from None
        except RobotNotFound as exc:
            raise _not_found(exc) from None

    @delete("/{robot_id:uuid}", guards=[requires(Permission.MANAGE_ROBOTS)], status_code=200,
            summary="Delete a robot", responses=problems(403, 404))
    async def delete_robot(
        self, request: Request[Account, Any, Any], robot_service: NamedDependency[RobotService],
        robot_id: FromPath[uuid.UUID],
    ) -> RobotOut:
        """Soft delete: sessions that used the robot still show its name."""
        try:
            return _out(await robot_service.delete(robot_id, request.user.id))
        except RobotNotFound as exc:
            raise _not_found(exc) from None
