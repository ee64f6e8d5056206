"""Robots from the API's side: a model and tools are checked before a robot is written, and
every robot comes back with its author and the model it runs on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from psycopg_pool import AsyncConnectionPool

from app.adapters.accounts import profiles
from app.adapters.mcp_servers import known_tool_ids
from app.adapters.robots import RobotStore
from app.config.settings import Settings
from app.domain.accounts import Account
from app.domain.model_refs import InvalidModelRef, parse_model_ref
from app.domain.robots import InvalidModelOptions, Robot, model_options
from app.domain.tools import TOOL_IDS, client_tools_problem

# The built-in robot and any robot whose author is gone are shown as authored by this.
SYSTEM_AUTHOR = Account(id=uuid.UUID(int=0), handle="system", name="System", roles=())
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class RobotNotFound(Exception):
    def __init__(self, robot_id: uuid.UUID) -> None:
        self.robot_id = robot_id
        super().__init__(f"no robot with id {robot_id}")


class InvalidRobotField(Exception):
    """A field names a model or tools this server cannot run, or model options it does not
    know; `unknown` lists every unknown name when there are several to name."""

    def __init__(self, field: str, detail: str, *, unknown: tuple[str, ...] = ()) -> None:
        self.field = field
        self.unknown = unknown
        super().__init__(detail)


class AuthoredRobot(msgspec.Struct, frozen=True, kw_only=True):
    robot: Robot
    model: str  # the robot's own, else the configured default
    author: Account
    author_joined: datetime


class RobotService:
    """Built per request from the process's parts (app/api/deps.py)."""

    def __init__(self, store: RobotStore, pool: AsyncConnectionPool[Any],
                 settings: Settings) -> None:
        self.store = store
        self.pool = pool
        self.settings = settings

    async def page(self, *, limit: int, offset: int) -> tuple[list[AuthoredRobot], int]:
        """Live robots, oldest first, and how many there are."""
        robots, total = await self.store.page(limit=limit, offset=offset)
        return await self._authored(robots), total

    async def get(self, robot_id: uuid.UUID) -> AuthoredRobot:
        """Raises RobotNotFound (unknown or deleted)."""
        robot = await self.store.get(robot_id)
        if robot is None:
            raise RobotNotFound(robot_id)
        return (await self._authored([robot]))[0]

    async def create(self, fields: dict[str, Any], author_id: uuid.UUID) -> AuthoredRobot:
        """Raises InvalidRobotField, RobotNameTaken."""
        checked = await checked_fields(fields, self.settings, self.pool)
        robot = await self.store.create(checked, author_id)
        return (await self._authored([robot]))[0]

    async def update(self, robot_id: uuid.UUID, fields: dict[str, Any],
                     changed_by: uuid.UUID) -> AuthoredRobot:
        """Change only `fields`. Raises InvalidRobotField, RobotNameTaken, RobotNotFound."""
        checked = await checked_fields(fields, self.settings, self.pool)
        robot = await self.store.update(robot_id, checked, changed_by)
        if robot is None:
            raise RobotNotFound(robot_id)
        return (await self._authored([robot]))[0]

    async def delete(self, robot_id: uuid.UUID, changed_by: uuid.UUID) -> AuthoredRobot:
        """Soft delete; the robot as deleted. Raises RobotNotFound."""
        if not await self.store.delete(robot_id, changed_by):
            raise RobotNotFound(robot_id)
        robot = await self.store.get(robot_id, include_deleted=True)
        assert robot is not None
        return (await self._authored([robot]))[0]

    async def _authored(self, robots: list[Robot]) -> list[AuthoredRobot]:
        authors = await profiles(self.pool, [r.author_id for r in robots if r.author_id])
        default_model = self.settings.model_for_new_robots
        result = []
        for r in robots:
            author, joined = (authors.get(r.author_id, (SYSTEM_AUTHOR, _EPOCH))
                              if r.author_id else (SYSTEM_AUTHOR, _EPOCH))
            result.append(AuthoredRobot(robot=r, model=r.model or default_model,
                                        author=author, author_joined=joined))
        return result


async def checked_fields(fields: dict[str, Any], settings: Settings,
                         pool: AsyncConnectionPool[Any]) -> dict[str, Any]:
    """The fields, unless they name a model or tools this server cannot run: then
    InvalidRobotField naming the field (for the API and the robot tools alike). A tool is
    a native one or an MCP server's tool in the cache (its server may be disabled)."""
    if fields.get("model") is not None:
        try:
            parse_model_ref(fields["model"], settings)
        except InvalidModelRef as exc:
            raise InvalidRobotField("model", str(exc)) from None
    for field in ("tools", "tools_requiring_approval"):
        not_native = set(fields.get(field, [])) - TOOL_IDS
        unknown = sorted(not_native - await known_tool_ids(pool, not_native))
        if unknown:
            raise InvalidRobotField(
                field, f"unknown tools: {', '.join(unknown)} (see GET /robots/tools)")
    if "client_tools" in fields:
        fields = {**fields, "client_tools": [
            msgspec.to_builtins(t) for t in fields["client_tools"]]}
        problem = client_tools_problem(fields["client_tools"])
        if problem:
            raise InvalidRobotField("client_tools", problem)
    if "model_options" in fields:
        fields = {**fields, "model_options": _checked_options(fields["model_options"])}
    return fields


def _checked_options(raw: object) -> dict[str, Any]:
    """The options as stored (those left out or null are not kept)."""
    try:
        options = model_options(raw)
    except InvalidModelOptions as exc:
        field = f"model_options.{exc.option}" if exc.option else "model_options"
        raise InvalidRobotField(field, str(exc), unknown=exc.unknown) from None
    stored: dict[str, Any] = msgspec.to_builtins(options)
    return stored
