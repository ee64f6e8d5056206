"""Small helpers shared by the chat tests."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from app.adapters.llm.local_model import Script
from app.domain.events import session_stream
from tests.chat.sse import chat_body
from tests.chat.stack import Stack


async def robot_with_script(stack: Stack, script: Script) -> str:
    """A robot whose model answers with `script` (its own model name on the fake server)."""
    model = f"scripted-{uuid.uuid4().hex[:8]}"
    stack.model.set_model_script(model, script)
    assert stack.services is not None
    robot = await stack.services.robots.create(
        {"name": model, "description": "", "playbook": "Test robot.",
         "model": f"openai/{model}"}, await _admin(stack))
    return str(robot.id)


async def _admin(stack: Stack) -> uuid.UUID:
    assert stack.services is not None
    account = await stack.services.accounts.by_token(stack.token)
    assert account is not None
    return account.id


async def event_types(stack: Stack, session_id: str) -> list[str]:
    assert stack.services is not None
    records = await stack.services.store.read_stream(session_stream(session_id))
    return [r.type for r in records]


async def turn_row(stack: Stack, turn_id: str) -> dict[str, Any] | None:
    from app.readmodels.turns import turn_status

    assert stack.services is not None
    async with stack.services.pool.connection() as conn:
        return await turn_status(conn, turn_id)


async def wait_turn(stack: Stack, turn_id: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        row = await turn_row(stack, turn_id)
        if row and row["status"] in ("completed", "failed", "cancelled"):
            return row
        assert asyncio.get_running_loop().time() < deadline, f"turn {turn_id} never ended"
        await asyncio.sleep(0.05)


async def messages(stack: Stack, session_id: str) -> list[tuple[str, str, Any]]:
    assert stack.services is not None
    async with stack.services.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, role, parts FROM messages WHERE session_id = %s ORDER BY position",
            [session_id])
        return [(r[0], r[1], r[2]) for r in await cur.fetchall()]


async def start_unwatched(stack: Stack, robot: str, text: str = "go") -> tuple[str, str]:
    """A new session's turn started through `POST /robots/sessions`: (session, turn id)."""
    session = new_id("s")
    async with stack.client() as client:
        accepted = (await client.post("/robots/sessions", json=chat_body(
            session, new_id("m"), text, robotId=robot))).json()
    return session, accepted["turnId"]


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
