"""A worker killed around a tool call: a call that is not safe to repeat runs at most once
(its outcome is reported unknown if it was cut off), a safe one runs again, and the stream a
client resumes agrees with the stored reply.

Each test runs a real `robots worker` process, stops it where it hurts (a fault point, or a
tool blocked on a table lock the test holds), SIGKILLs it, and lets an in-process worker
finish the turn once the dead worker's lease has run out.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import psycopg

from app.adapters.llm.local_model import Script, ScriptedToolCall
from app.domain.events import (
    AssistantMessageCompleted,
    StepCompleted,
    ToolCallCompleted,
    ToolCallStarted,
    TurnCancelled,
    TurnCompleted,
    TurnFailed,
)
from app.domain.steps import UNKNOWN_OUTCOME
from app.eventstore import Event
from app.readmodels.search import search_messages
from tests.chat.helpers import (
    logged,
    messages,
    model_requests,
    new_id,
    robot_with_script,
    robots_named,
    start_unwatched,
    wait_turn,
    wait_until,
)
from tests.chat.sse import Frame, read_all, text_of
from tests.chat.stack import Stack, doomed_worker, survivor

CALL = "c1"
ANSWER = "All done here."
CREATE = "INSERT INTO robot_changes%"  # robot_create's second write, in its transaction
SEARCH = "%ts_headline%"  # session_search's query


class ToolTurn(msgspec.Struct, frozen=True):
    model: str  # the robot's model name on the local model server
    session: str
    turn_id: str


async def start_tool_turn(stack: Stack, tool: str, arguments: dict[str, Any],
                          text: str = "go") -> ToolTurn:
    """A turn, queued with no worker running, whose robot calls `tool` once (call `c1`) in
    step 1 and answers ANSWER in step 2."""
    assert stack.services is not None
    robot = await robot_with_script(stack, Script(text="a step nobody scripted"))
    admin = await stack.services.accounts.by_token(stack.token)
    assert admin is not None
    updated = await stack.services.robots.update(uuid.UUID(robot), {"tools": [tool]}, admin.id)
    assert updated is not None and updated.model is not None
    model = updated.model.removeprefix("openai/")
    call = ScriptedToolCall(name=tool, arguments=json.dumps(arguments), call_id=CALL)
    stack.model.enqueue_for_model(model, Script(text="", tool_calls=(call,)), Script(text=ANSWER))
    session, turn_id = await start_unwatched(stack, robot, text)
    return ToolTurn(model, session, turn_id)


@contextlib.asynccontextmanager
async def table_locked(stack: Stack, table: str) -> AsyncIterator[None]:
    """`table` locked against everyone (reads too) until the block ends."""
    async with await psycopg.AsyncConnection.connect(stack.settings.database_url or "") as conn:
        await conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            await conn.rollback()


async def wait_logged(stack: Stack, session: str, kind: type[Event]) -> None:
    async def seen() -> bool:
        return any(isinstance(e, kind) for e in await logged(stack, session))
    await wait_until(seen, f"{kind.__name__} in the log")


async def backends(stack: Stack, query_like: str, *, waiting: bool) -> int:
    """Other database sessions whose query matches, only those waiting on a lock if asked."""
    assert stack.services is not None
    lock = " AND wait_event_type = 'Lock' AND state = 'active'" if waiting else ""
    async with stack.services.pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            f" AND query LIKE %s{lock}", [query_like])).fetchone()
    return int(row[0]) if row else 0


async def wait_blocked(stack: Stack, query_like: str) -> None:
    async def blocked() -> bool:
        return await backends(stack, query_like, waiting=True) > 0
    await wait_until(blocked, f"a query like {query_like!r} waiting on the lock")


async def wait_gone(stack: Stack, query_like: str) -> None:
    async def gone() -> bool:
        return await backends(stack, query_like, waiting=False) == 0
    await wait_until(gone, f"no session left running a query like {query_like!r}")


def steps_asked(stack: Stack, model: str) -> list[int]:
    """The step each request asked for: one more than the assistant messages it carried."""
    return [1 + sum(m["role"] == "assistant" for m in body["messages"])
            for body in model_requests(stack, model)]


def tool_results_sent(stack: Stack, model: str) -> list[str]:
    """What the model was told the tools gave, in its latest request."""
    latest = model_requests(stack, model)[-1]
    return [m["content"] for m in latest["messages"] if m["role"] == "tool"]


def of_call(events: list[Event], kind: type[Event]) -> list[Any]:
    return [e for e in events if isinstance(e, kind) and getattr(e, "call_id", None) == CALL]


def assert_one_answer(events: list[Event]) -> None:
    assert sum(isinstance(e, AssistantMessageCompleted) for e in events) == 1
    terminal = [e for e in events if isinstance(e, TurnCompleted | TurnFailed | TurnCancelled)]
    assert len(terminal) == 1 and isinstance(terminal[0], TurnCompleted)


async def stored_reply(stack: Stack, turn: ToolTurn) -> list[dict[str, Any]]:
    """The assistant message's parts, once the messages read model has it."""
    reply = f"msg-{turn.turn_id}"

    async def projected() -> bool:
        return any(id_ == reply for id_, _, _ in await messages(stack, turn.session))
    await wait_until(projected, "the reply in the messages read model")
    [parts] = [parts for id_, _, parts in await messages(stack, turn.session) if id_ == reply]
    return list(parts)


_STREAMED = {"tool-input-available": ("input",), "tool-input-error": ("input", "errorText"),
             "tool-output-available": ("output",), "tool-output-error": ("errorText",)}


def streamed_tools(frames: list[Frame]) -> dict[str, dict[str, Any]]:
    """Per tool call, its input and its output or error as the stream carried them."""
    tools: dict[str, dict[str, Any]] = {}
    for frame in frames:
        kind = frame.data.get("type") if isinstance(frame.data, dict) else None
        for key in _STREAMED.get(kind or "", ()):
            seen = tools.setdefault(frame.data["toolCallId"], {})
            assert key not in seen, f"{key} of {frame.data['toolCallId']} streamed twice"
            seen[key] = frame.data[key]
    return tools


def stored_tools(parts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p["toolCallId"]: {k: p[k] for k in ("input", "output", "errorText") if k in p}
            for p in parts if p["type"] == "dynamic-tool"}


async def resumed_stream_matches_the_reply(stack: Stack, turn: ToolTurn) -> list[Any]:
    """Read the turn's stream from the start as a reconnecting client; check it against
    the stored reply, and return the reply's parts."""
    async with stack.client() as client, client.stream(
            "GET", f"/robots/sessions/{turn.session}/stream?turn_id={turn.turn_id}") as response:
        frames = await read_all(response)
    assert frames[-1].data == "[DONE]"
    parts = await stored_reply(stack, turn)
    assert streamed_tools(frames) == stored_tools(parts)
    assert text_of(frames) == "".join(p["text"] for p in parts if p["type"] == "text") == ANSWER
    return parts


async def test_a_step_recorded_before_its_tools_ran_runs_them_once_after_a_crash(
    bare_stack: Stack,
) -> None:
    stack, made = bare_stack, new_id("made")
    turn = await start_tool_turn(stack, "robot_create", {"name": made, "playbook": "Be kind."})
    async with doomed_worker(stack, pause_at="after-step") as pid:
        await wait_logged(stack, turn.session, StepCompleted)
        os.kill(pid, signal.SIGKILL)
    assert of_call(await logged(stack, turn.session), ToolCallStarted) == []
    async with survivor(stack):
        assert (await wait_turn(stack, turn.turn_id, timeout=30))["status"] == "completed"
        events = await logged(stack, turn.session)
        assert await robots_named(stack, made) == 1
        assert [e.attempt for e in of_call(events, ToolCallStarted)] == [2]
        assert [e.outcome for e in of_call(events, ToolCallCompleted)] == ["output"]
        assert_one_answer(events)
        assert steps_asked(stack, turn.model) == [1, 2]
        await resumed_stream_matches_the_reply(stack, turn)


async def test_an_unsafe_tool_cut_off_mid_run_is_not_run_again_and_reported_unknown(
    bare_stack: Stack,
) -> None:
    stack, made = bare_stack, new_id("made")
    turn = await start_tool_turn(stack, "robot_create", {"name": made, "playbook": "Be kind."})
    async with table_locked(stack, "robot_changes"), doomed_worker(stack) as pid:
        await wait_logged(stack, turn.session, ToolCallStarted)
        await wait_blocked(stack, CREATE)  # inside robot_create's transaction
        os.kill(pid, signal.SIGKILL)
    async with survivor(stack):
        assert (await wait_turn(stack, turn.turn_id, timeout=30))["status"] == "completed"
        await wait_gone(stack, CREATE)
        events = await logged(stack, turn.session)
        assert await robots_named(stack, made) == 0  # the cut-off transaction rolled back
        assert len(of_call(events, ToolCallStarted)) == 1  # it ran at most once
        unknown = UNKNOWN_OUTCOME.format(name="robot_create")
        assert [(e.outcome, e.error) for e in of_call(events, ToolCallCompleted)] == [
            ("error", unknown)]
        assert_one_answer(events)
        assert steps_asked(stack, turn.model) == [1, 2]
        assert tool_results_sent(stack, turn.model) == [unknown]
        parts = await resumed_stream_matches_the_reply(stack, turn)
        assert [p["state"] for p in parts if p["type"] == "dynamic-tool"] == ["output-error"]


async def test_a_safe_tool_cut_off_mid_run_runs_again_and_the_model_gets_its_output(
    bare_stack: Stack,
) -> None:
    stack, word = bare_stack, f"quokka{uuid.uuid4().hex[:10]}"
    turn = await start_tool_turn(stack, "session_search", {"query": word}, text=f"find {word}")
    services = stack.services
    assert services is not None

    async def searchable() -> bool:  # the question is in the read models the tool searches
        async with services.pool.connection() as conn:
            hits = await search_messages(conn, word, language="simple", limit=10)
        return bool(hits)
    await wait_until(searchable, "the question projected")
    async with table_locked(stack, "messages"), doomed_worker(stack) as pid:
        await wait_logged(stack, turn.session, ToolCallStarted)
        await wait_blocked(stack, SEARCH)
        os.kill(pid, signal.SIGKILL)
    async with survivor(stack):
        assert (await wait_turn(stack, turn.turn_id, timeout=30))["status"] == "completed"
        events = await logged(stack, turn.session)
        # A call runs again under its first start; the second attempt's result says it ran.
        assert [e.attempt for e in of_call(events, ToolCallStarted)] == [1]
        assert [(e.attempt, e.outcome) for e in of_call(events, ToolCallCompleted)] == [
            (2, "output")]
        assert_one_answer(events)
        assert steps_asked(stack, turn.model) == [1, 2]
        [sent] = tool_results_sent(stack, turn.model)
        hits = json.loads(sent)["results"]
        assert [(h["session_id"], h["role"]) for h in hits] == [(turn.session, "user")]
        await resumed_stream_matches_the_reply(stack, turn)


async def test_a_tool_result_recorded_before_a_crash_is_not_run_again(
    bare_stack: Stack,
) -> None:
    stack, made = bare_stack, new_id("made")
    turn = await start_tool_turn(stack, "robot_create", {"name": made, "playbook": "Be kind."})
    async with doomed_worker(stack, pause_at="after-tool-result") as pid:
        await wait_logged(stack, turn.session, ToolCallCompleted)
        os.kill(pid, signal.SIGKILL)
    assert steps_asked(stack, turn.model) == [1]
    async with survivor(stack):
        assert (await wait_turn(stack, turn.turn_id, timeout=30))["status"] == "completed"
        events = await logged(stack, turn.session)
        assert await robots_named(stack, made) == 1
        assert [e.attempt for e in of_call(events, ToolCallStarted)] == [1]
        assert [e.outcome for e in of_call(events, ToolCallCompleted)] == ["output"]
        assert_one_answer(events)
        assert steps_asked(stack, turn.model) == [1, 2]
        parts = await resumed_stream_matches_the_reply(stack, turn)
        [tool] = [p for p in parts if p["type"] == "dynamic-tool"]
        assert tool["state"] == "output-available" and tool["output"]["name"] == made
