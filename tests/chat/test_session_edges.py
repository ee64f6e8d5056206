"""Edges of a session's streams and changes on a running stack: a resume of something that
does not exist is a 404 at once, and a robot renames a session only for those who may."""

from __future__ import annotations

import asyncio
import json

from app.adapters.llm.local_model import Script, ScriptedToolCall
from app.domain.accounts import Role
from app.domain.events import SessionSettingsChanged
from tests.chat.helpers import (
    calls,
    chat,
    logged,
    new_id,
    parts_of,
    robot_with_script,
    scripted_robot,
    start_unwatched,
    wait_turn,
)
from tests.chat.sse import read_all, text_of
from tests.chat.stack import Stack


async def test_resuming_an_unknown_session_or_turn_or_another_sessions_turn_is_a_404(
    stack: Stack,
) -> None:
    robot = await robot_with_script(stack, Script(text="only mine"))
    session, turn = await start_unwatched(stack, robot)
    await wait_turn(stack, turn)
    other, _ = await start_unwatched(stack, robot)
    missing = new_id("never")
    cases = [(f"/robots/sessions/{missing}/stream", {"session_id": missing}),
             (f"/robots/chat/sse/{missing}/stream", {"session_id": missing}),
             (f"/robots/sessions/{missing}/stream?turn_id={turn}",
              {"session_id": missing, "turn_id": turn}),
             (f"/robots/sessions/{session}/stream?turn_id=turn-nope",
              {"session_id": session, "turn_id": "turn-nope"}),
             (f"/robots/sessions/{other}/stream?turn_id={turn}",
              {"session_id": other, "turn_id": turn}),
             (f"/robots/chat/sse/{other}/stream?turn_id={turn}",
              {"session_id": other, "turn_id": turn})]
    async with stack.client() as client:
        for url, metadata in cases:
            async with client.stream("GET", url) as response:
                # Today's failure was a 200 and keep-alives forever: ask for the status only.
                assert response.status_code == 404, url
                body = json.loads(await asyncio.wait_for(response.aread(), 5))
            assert body["type"] == "/problems/not-found" and body["metadata"] == metadata
        async with client.stream("GET", f"/robots/sessions/{session}/stream",
                                 params={"turn_id": turn}) as own:
            assert own.status_code == 200
            got = await asyncio.wait_for(read_all(own), 10)
    assert text_of(got) == "only mine" and got[-1].data == "[DONE]"


async def rename_turn(stack: Stack, session: str, token: str, name: str) -> list[dict[str, str]]:
    """A turn in `session`, posted with `token`, whose model calls session_rename(name):
    the tool's outcome parts (output or error)."""
    robot, model = await scripted_robot(stack, tools=("session_rename",))
    stack.model.enqueue_for_model(
        model, calls(ScriptedToolCall(name="session_rename",
                                      arguments=json.dumps({"name": name}))),
        Script(text="Done."))
    got = await chat(stack, session, "Rename this", robot=robot, token=token)
    return parts_of(got, "tool-output-available") + parts_of(got, "tool-output-error")


async def test_a_robot_renames_a_session_only_for_its_creator_or_a_manager(
    stack: Stack,
) -> None:
    assert stack.services is not None
    _, creator = await stack.services.accounts.create(new_id("cleo"), None, Role.MEMBER)
    _, member = await stack.services.accounts.create(new_id("mo"), None, Role.MEMBER)
    session = new_id("s")
    [renamed] = await rename_turn(stack, session, creator, "Creator's name")
    assert renamed["type"] == "tool-output-available", renamed
    [refused] = await rename_turn(stack, session, member, "Someone else's name")
    assert refused["type"] == "tool-output-error" and "creator" in refused["errorText"]
    [by_manager] = await rename_turn(stack, session, stack.token, "A manager's name")
    assert by_manager["type"] == "tool-output-available", by_manager
    names = [e.name for e in await logged(stack, session)
             if isinstance(e, SessionSettingsChanged) and e.name]
    assert names == ["Creator's name", "A manager's name"]
