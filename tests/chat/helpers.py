"""Small helpers shared by the chat tests."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from app.adapters.llm.local_model import Script, ScriptedToolCall
from app.domain.events import session_stream
from app.eventstore import Event
from tests.chat.sse import Frame, chat_body, read_all
from tests.chat.stack import Stack


async def robot_with_script(stack: Stack, script: Script) -> str:
    """A robot whose model answers every request with `script` (its own model name on the
    fake server)."""
    robot, model = await scripted_robot(stack)
    stack.model.set_model_script(model, script)
    return robot


async def doomed_robot(stack: Stack) -> str:
    """A robot made only to be deleted (by robot_delete, once someone approves)."""
    assert stack.services is not None
    robot = await stack.services.robots.create(
        {"name": f"doomed-{uuid.uuid4().hex[:8]}", "description": "", "playbook": "x",
         "model": None, "tools": []}, await _admin(stack))
    return str(robot.id)


async def _admin(stack: Stack) -> uuid.UUID:
    assert stack.services is not None
    account = await stack.services.accounts.by_token(stack.token)
    assert account is not None
    return account.id


async def event_types(stack: Stack, session_id: str) -> list[str]:
    return [type(e).__name__ for e in await logged(stack, session_id)]


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


# Tool turns: a robot whose model answers a turn's steps one script each, and what the
# model, the stream and the log saw of them.


async def scripted_robot(stack: Stack, *scripts: Script, provider: str = "openai",
                         tools: tuple[str, ...] = (), max_steps: int | None = None
                         ) -> tuple[str, str]:
    """A robot on `provider/<its own model name>` with `tools`, whose model answers its
    next requests with `scripts`, in order (then its standing script): (robot id, model
    name)."""
    model = f"scripted-{uuid.uuid4().hex[:8]}"
    stack.model.enqueue_for_model(model, *scripts)
    assert stack.services is not None
    fields: dict[str, Any] = {"name": model, "description": "", "playbook": "Test robot.",
                              "model": f"{provider}/{model}", "tools": list(tools)}
    if max_steps is not None:
        fields["max_steps"] = max_steps
    robot = await stack.services.robots.create(fields, await _admin(stack))
    return str(robot.id), model


def client_as(stack: Stack, token: str, instance: int = 0) -> httpx.AsyncClient:
    """An API client acting for the account `token` belongs to."""
    return httpx.AsyncClient(base_url=stack.api_urls[instance], timeout=30,
                             headers={"Authorization": f"Bearer {token}"})


async def chat(stack: Stack, session: str, text: str, *, robot: str | None = None,
               token: str | None = None) -> list[Frame]:
    """Post `text` to `POST /robots/chat/sse` and read the whole stream."""
    extra = {"robotId": robot} if robot else {}
    async with client_as(stack, token or stack.token) as client, client.stream(
        "POST", "/robots/chat/sse", json=chat_body(session, new_id("m"), text, **extra)
    ) as response:
        assert response.status_code == 200, await response.aread()
        return await read_all(response)


def part_types(got: list[Frame]) -> list[str]:
    """Each frame's part type ("[DONE]" for the end), but the session's name: a new
    session's first turns carry `data-session-name` before `finish` when their robot named
    it in time (workers/turns/naming.py), which tests of other things need not pin down
    (tests/chat/test_session_names.py does)."""
    return [f.data if f.data == "[DONE]" else f.data["type"] for f in got
            if f.data == "[DONE]" or f.data["type"] != "data-session-name"]


def model_requests(stack: Stack, model: str) -> list[dict[str, Any]]:
    """The bodies of the completion requests (either wire format) that named `model`: a
    conversation's, not the side calls that name sessions (`stack.model.naming_requests()`)."""
    return [r.body for r in stack.model.completions()
            if isinstance(r.body, dict) and r.body.get("model") == model]


async def logged(stack: Stack, session_id: str) -> list[Event]:
    """The session's events, in order."""
    assert stack.services is not None
    return [r.event for r in
            await stack.services.store.read_stream(session_stream(session_id))]


async def assistant_rows(stack: Stack, session_id: str) -> list[dict[str, Any]]:
    """The session's assistant messages in the messages read model, oldest first."""
    assert stack.services is not None
    async with stack.services.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, parts, robot_id, robot_name, turn_id FROM messages"
            " WHERE session_id = %s AND role = 'assistant' ORDER BY position", [session_id])
        names = [c.name for c in cur.description or []]
        return [dict(zip(names, r, strict=True)) for r in await cur.fetchall()]


def calls(*tool_calls: ScriptedToolCall) -> Script:
    """A model step that only calls tools (no text before the calls)."""
    return Script(text="", tool_calls=tool_calls)


def parts_of(got: list[Frame], kind: str) -> list[dict[str, Any]]:
    """The streamed parts of one type, in order."""
    return [f.data for f in got if isinstance(f.data, dict) and f.data["type"] == kind]


def native_calls(body: dict[str, Any], provider: str) -> list[tuple[str, str, Any]]:
    """(id, name, input) of the tool calls of the request's last assistant message, as the
    wire carries them (OpenAI: arguments as JSON text; Anthropic: tool_use input objects)."""
    last = [m for m in body["messages"] if m["role"] == "assistant"][-1]
    if provider == "openai":
        return [(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
                for c in last["tool_calls"]]
    return [(b["id"], b["name"], b["input"]) for b in last["content"]
            if b["type"] == "tool_use"]


def native_results(body: dict[str, Any], provider: str) -> list[tuple[str, str, bool | None]]:
    """(call id, content, is_error) of the tool results that end the request: OpenAI's
    `tool` messages (which have no error flag), or Anthropic's `tool_result` blocks in the
    last user message."""
    messages = body["messages"]
    if provider == "openai":
        tail: list[dict[str, Any]] = []
        for message in reversed(messages):
            if message["role"] != "tool":
                break
            tail.insert(0, message)
        return [(m["tool_call_id"], m["content"], None) for m in tail]
    last = messages[-1]
    assert last["role"] == "user" and isinstance(last["content"], list), last
    return [(b["tool_use_id"], b["content"], b["is_error"]) for b in last["content"]
            if b["type"] == "tool_result"]


async def wait_until(check: Callable[[], Awaitable[bool]], what: str = "the condition",
                     timeout: float = 30.0) -> None:
    """Poll `check` until it holds; fail, naming `what`, if it never does in time."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"never: {what}"
        await asyncio.sleep(0.05)


async def robots_named(stack: Stack, name: str) -> int:
    """How many robots (live or deleted) have this name: a tool's side effects, counted."""
    assert stack.services is not None
    async with stack.services.pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT count(*) FROM robots WHERE name = %s", [name])).fetchone()
    return int(row[0]) if row else 0
