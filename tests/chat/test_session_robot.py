"""Which robot answers a session: the one named, else the session's own; never a deleted
one; a fork keeps its source's robot."""

from __future__ import annotations

from app.adapters.llm.local_model import Script
from tests.chat.helpers import event_types, messages, new_id, robot_with_script, wait_turn
from tests.chat.sse import chat_body, read_all
from tests.chat.stack import Stack


async def test_a_deleted_robot_answers_no_new_message_named_or_not(stack: Stack) -> None:
    robot = await robot_with_script(stack, Script(text="before"))
    session = new_id("s")
    async with stack.client() as client:
        async with client.stream("POST", "/robots/chat/sse", json=chat_body(
                session, new_id("m"), "hi", robotId=robot)) as response:
            assert (await read_all(response))[-1].data == "[DONE]"
        assert (await client.delete(f"/robots/{robot}")).status_code == 200
        unnamed = await client.post("/robots/chat/sse", json=chat_body(
            session, new_id("m"), "again"))
        named = await client.post("/robots/chat/sse", json=chat_body(
            session, new_id("m"), "again", robotId=robot))
    assert unnamed.status_code == named.status_code == 422
    assert "was deleted" in unnamed.json()["detail"]
    assert unnamed.json()["metadata"] == {"field": "robotId"}
    logged = await event_types(stack, session)
    assert logged.count("MessagePosted") == logged.count("TurnRequested") == 1  # nothing new


async def test_a_fork_is_answered_by_its_source_sessions_robot(stack: Stack) -> None:
    robot = await robot_with_script(stack, Script(text="from the chosen robot"))
    session = new_id("s")
    async with stack.client() as client:
        async with client.stream("POST", "/robots/chat/sse", json=chat_body(
                session, "m-1", "hi", robotId=robot)) as response:
            await read_all(response)
        forked = await client.post(f"/robots/sessions/{session}/fork",
                                   json={"at_message_id": "m-1"})
        assert forked.status_code == 201, forked.text
        fork_id = forked.json()["id"]
        accepted = (await client.post("/robots/sessions", json=chat_body(
            fork_id, "m-2", "and in the fork?"))).json()
    assert (await wait_turn(stack, accepted["turnId"]))["status"] == "completed"
    reply = (await messages(stack, fork_id))[-1]
    assert reply[1] == "assistant" and reply[2][-1]["text"] == "from the chosen robot"
