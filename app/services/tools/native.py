"""The native tools: what robots can do with what this service owns (robots, sessions,
time). Each takes its checked input and returns a JSON object for the model."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from app.adapters.robots import RobotNameTaken
from app.domain import decisions
from app.domain.accounts import Permission
from app.domain.robots import Robot
from app.domain.session import SessionState
from app.domain.session_access import may_change_session
from app.eventstore import Event, EventMetadata
from app.readmodels.search import search_messages
from app.services.robots import InvalidRobotField, checked_fields
from app.services.tools.context import ToolContext, ToolFailed

Run = Callable[[ToolContext, dict[str, Any]], Awaitable[dict[str, Any]]]


class NativeTool(msgspec.Struct, frozen=True):
    run: Run
    permission: Permission


def _robot_out(robot: Robot, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"id": str(robot.id), "name": robot.name,
                           "description": robot.description, "model": robot.model}
    if full:
        out |= {"playbook": robot.playbook, "tools": robot.tools}
    return out


def _robot_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ToolFailed(f"{value!r} is not a robot id (a UUID)") from None


async def _live_robot(ctx: ToolContext, value: str) -> Robot:
    robot = await ctx.services.robots.get(_robot_id(value))
    if robot is None:
        raise ToolFailed(f"there is no robot with id {value}")
    return robot


async def current_time(ctx: ToolContext, _: dict[str, Any]) -> dict[str, Any]:
    return {"now": ctx.now.isoformat(), "timezone": "UTC"}


async def robot_list(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    page = args.get("page", 1)
    robots, total = await ctx.services.robots.page(limit=20, offset=(page - 1) * 20)
    return {"robots": [_robot_out(r) for r in robots], "total": total, "page": page}


async def robot_get(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return _robot_out(await _live_robot(ctx, args["robot_id"]), full=True)


async def _fields(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    """The robot fields a call sets, checked as the API checks them."""
    fields = {k: v for k, v in args.items() if k != "robot_id"}
    try:
        return await checked_fields(fields, ctx.services.settings, ctx.services.pool)
    except InvalidRobotField as exc:
        raise ToolFailed(str(exc)) from None


def _author(ctx: ToolContext) -> uuid.UUID:
    if ctx.account is None:
        raise ToolFailed("this turn has no account to act for")
    return ctx.account.id


async def robot_create(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    fields = {"description": "", **await _fields(ctx, args)}
    try:
        robot = await ctx.services.robots.create(fields, _author(ctx))
    except RobotNameTaken as exc:
        raise ToolFailed(str(exc)) from None
    return _robot_out(robot, full=True)


async def robot_update(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    try:
        robot = await ctx.services.robots.update(_robot_id(args["robot_id"]),
                                                 await _fields(ctx, args), _author(ctx))
    except RobotNameTaken as exc:
        raise ToolFailed(str(exc)) from None
    if robot is None:
        raise ToolFailed(f"there is no robot with id {args['robot_id']}")
    return _robot_out(robot, full=True)


async def robot_delete(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    # It requires confirmation: a turn runs it only once a person approved the call
    # (app/domain/waits.py).
    robot = await _live_robot(ctx, args["robot_id"])
    if not await ctx.services.robots.delete(robot.id, _author(ctx)):
        raise ToolFailed(f"there is no robot with id {args['robot_id']}")
    return {"deleted": True, "id": str(robot.id), "name": robot.name}


async def robot_switch(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    robot = await _live_robot(ctx, args["robot_id"])
    command = decisions.SwitchRobot(
        session_id=ctx.session_id, robot_id=str(robot.id), turn_id=ctx.turn_id,
        switched_by=str(ctx.account.id) if ctx.account else None)
    await ctx.services.handler.execute(
        ctx.session_id, lambda state: decisions.switch_robot(state, command),
        metadata=EventMetadata(actor=f"robot-tool:{ctx.turn_id}", correlation_id=ctx.turn_id))
    return {"switched_to": _robot_out(robot)}


async def session_search(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    async with ctx.services.pool.connection() as conn:
        try:
            hits = await search_messages(conn, args["query"],
                                         language=args.get("language", "simple"),
                                         limit=args.get("limit", 10))
        except ValueError as exc:
            raise ToolFailed(str(exc)) from None
    return {"results": hits}


async def session_get(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    session_id = args.get("session_id") or ctx.session_id
    state = await ctx.services.handler.load(session_id)
    if not state.exists or state.deleted:
        raise ToolFailed(f"there is no session with id {session_id}")
    limit = args.get("limit", 10)
    messages = [{"id": m.id, "role": m.role,
                 "text": "".join(p.get("text", "") for p in m.parts if p.get("type") == "text")}
                for m in state.messages[-limit:]]
    return {"id": session_id, "name": state.name, "message_count": len(state.messages),
            "messages": messages}


async def session_rename(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    command = decisions.ChangeSettings(session_id=ctx.session_id,
                                       changes={"name": args["name"]})
    account = ctx.account

    def decide(state: SessionState) -> list[Event]:
        # The same rule as PATCH: the tool acts for the turn's poster, who may not own it.
        if account is None or not may_change_session(account, state):
            raise ToolFailed("only the session's creator or an account with MANAGE_ROBOTS"
                             " may rename this session")
        return decisions.change_settings(state, command)

    await ctx.services.handler.execute(
        ctx.session_id, decide,
        metadata=EventMetadata(actor=f"robot-tool:{ctx.turn_id}", correlation_id=ctx.turn_id))
    return {"name": args["name"]}


USE, MANAGE = Permission.USE_ROBOTS, Permission.MANAGE_ROBOTS
NATIVE: dict[str, NativeTool] = {
    "current_time": NativeTool(current_time, USE),
    "robot_list": NativeTool(robot_list, USE),
    "robot_get": NativeTool(robot_get, USE),
    "robot_create": NativeTool(robot_create, MANAGE),
    "robot_update": NativeTool(robot_update, MANAGE),
    "robot_delete": NativeTool(robot_delete, MANAGE),
    "robot_switch": NativeTool(robot_switch, USE),
    "session_search": NativeTool(session_search, USE),
    "session_get": NativeTool(session_get, USE),
    "session_rename": NativeTool(session_rename, USE),
}
