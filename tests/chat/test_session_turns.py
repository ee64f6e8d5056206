"""Sessions and turns together: options reach the model, forks take turns, robots keep
their names on what they said."""

from __future__ import annotations

from app.adapters.llm.local_model import Script
from tests.chat.helpers import new_id, robot_with_script
from tests.chat.sse import chat_body, read_all, text_of
from tests.chat.stack import Stack


async def chat(stack: Stack, session: str, text: str, robot: str | None = None) -> str:
    body = chat_body(session, new_id("m"), text, **({"robotId": robot} if robot else {}))
    async with stack.client() as client, client.stream(
            "POST", "/robots/chat/sse", json=body) as response:
        assert response.status_code == 200, await response.aread()
        frames = await read_all(response)
    assert frames[-1].data == "[DONE]"
    return text_of(frames)


def last_request_body(stack: Stack) -> dict:  # type: ignore[type-arg]
    return stack.model.completions()[-1].body  # type: ignore[no-any-return]


async def test_session_options_reach_the_model(stack: Stack) -> None:
    robot = await robot_with_script(stack, Script(text="ok"))
    session = new_id("s")
    await chat(stack, session, "first question", robot)
    async with stack.client() as client:
        patched = await client.patch(f"/robots/sessions/{session}", json={
            "situation": "a calm evening", "token_budget": 12, "context_overflow": "truncate",
            "system_template": "You are {{ robot.name }}; {{ session.situation }}."})
        assert patched.status_code == 200, patched.text
    await chat(stack, session, "second question", robot)
    body = last_request_body(stack)
    system = body["messages"][0]
    assert system["role"] == "system" and "a calm evening" in system["content"]
    contents = [m["content"] for m in body["messages"][1:]]
    assert contents[-1] == "second question" and "first question" not in contents


async def test_a_turn_on_a_fork_sees_the_forked_history_only(stack: Stack) -> None:
    robot = await robot_with_script(stack, Script(text="noted"))
    session = new_id("s")
    await chat(stack, session, "alpha", robot)
    await chat(stack, session, "beta", robot)
    async with stack.client() as client:
        original = (await client.get(f"/robots/sessions/{session}")).json()
        first_reply = original["message_list"]["messages"][1]["id"]
        fork = (await client.post(f"/robots/sessions/{session}/fork",
                                  json={"at_message_id": first_reply})).json()
    assert await chat(stack, fork["id"], "gamma", robot) == "noted"
    contents = [m["content"] for m in last_request_body(stack)["messages"][1:]]
    assert contents == ["alpha", "noted", "gamma"]
    async with stack.client() as client:
        forked = (await client.get(f"/robots/sessions/{fork['id']}")).json()
    assert [m["role"] for m in forked["message_list"]["messages"]] == [
        "user", "assistant", "user", "assistant"]


async def test_a_renamed_then_deleted_robot_keeps_its_name_on_old_messages(
    stack: Stack,
) -> None:
    robot = await robot_with_script(stack, Script(text="hello from the past"))
    session = new_id("s")
    await chat(stack, session, "hi", robot)
    async with stack.client() as client:
        original_name = (await client.get(f"/robots/{robot}")).json()["name"]
        assert (await client.patch(f"/robots/{robot}",
                                   json={"name": f"renamed-{robot[:8]}"})).status_code == 200
        assert (await client.delete(f"/robots/{robot}")).status_code == 200
        reply = (await client.get(f"/robots/sessions/{session}")).json()[
            "message_list"]["messages"][-1]
    assert reply["robot"] == {"id": robot, "name": original_name}


async def test_metrics_count_turns_and_label_routes_by_template(stack: Stack) -> None:
    robot = await robot_with_script(stack, Script(text="counted"))

    async def scrape() -> str:
        async with stack.client() as client:
            response = await client.get("/metrics", headers={"Authorization": ""})
        assert response.status_code == 200
        return response.text

    def value(text: str, name: str) -> float:
        lines = [ln for ln in text.splitlines() if ln.startswith(name + " ")]
        return float(lines[0].split()[-1]) if lines else 0.0

    before = await scrape()
    await chat(stack, new_id("s"), "count me", robot)
    after = await scrape()
    assert value(after, "robots_turns_posted_total") == value(
        before, "robots_turns_posted_total") + 1
    finished = 'robots_turns_finished_total{outcome="completed"}'
    assert value(after, finished) == value(before, finished) + 1
    assert 'path="/robots/chat/sse"' in after
    assert "s-" not in "".join(ln for ln in after.splitlines() if "path=" in ln)
