"""The web playground in a real browser (headless Chromium, tests/web/browser.py) against the
real stack: a person signs in with a token, picks a robot, chats and sees the reply stream,
reloads mid-stream and sees the reply resume and complete, stops a turn, approves a call,
opens the session's timeline, forks it, and manages robots; the API docs page lists every
operation. No request leaves the API's origin, and no script fails."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
import pytest

from app.adapters.llm.local_model import Script, ScriptedToolCall
from app.domain.accounts import Role
from app.domain.decisions.naming import clean_name
from tests.chat.helpers import (
    doomed_robot,
    model_requests,
    robot_with_script,
    scripted_robot,
    wait_turn,
)
from tests.chat.stack import Stack
from tests.web.browser import Visit, visiting

# Slow enough that a reload lands mid-reply (48 words at 12 a second: 4 s), checked below.
REPLY = " ".join(f"word{n}" for n in range(1, 49))
SLOW_REPLY = Script(text=REPLY, tokens_per_second=12)


@pytest.fixture
async def visit(browser: Any, stack: Stack) -> Any:
    async with visiting(browser, stack.api_urls[0]) as opened:
        yield opened


async def sign_in(visit: Visit, token: str) -> None:
    from playwright.async_api import expect

    page = visit.page
    await page.goto("/")
    await page.get_by_label("API token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def chat_with(visit: Visit, robot: str, text: str) -> None:
    page = visit.page
    await page.get_by_label("Robot").select_option(robot)
    await page.get_by_label("Message").fill(text)
    await page.get_by_role("button", name="Send").click()


async def signed_in_chat(visit: Visit, token: str, robot: str, text: str) -> Any:
    """Signed in, `text` sent to `robot`: the page, with its reply on the way."""
    await sign_in(visit, token)
    await chat_with(visit, robot, text)
    return visit.page


async def test_a_reply_streams_and_a_reload_mid_stream_resumes_it(
        stack: Stack, visit: Visit) -> None:
    from playwright.async_api import expect

    robot = await robot_with_script(stack, SLOW_REPLY)
    page = await signed_in_chat(visit, stack.token, robot, "Tell me a long story")

    reply = page.locator("li.message.assistant .text")
    await expect(reply).to_contain_text("word1 word2")  # streaming: the first words are in
    before_reload = await reply.inner_text()
    assert before_reload != REPLY, "the reply ended before the reload: nothing to resume"
    session_url = page.url  # the first message gave the new session its address
    session = session_url.partition("#/chat/")[2]
    assert session
    resume = f"/robots/chat/sse/{session}/stream"  # the chat's own resumeStream()
    async with page.expect_response(lambda r: r.url.endswith(resume)) as resumed:
        await page.reload()
    assert (await resumed.value).status == 200

    await expect(reply).to_have_text(REPLY)  # resumed and completed, once
    assert page.url == session_url
    await expect(page.get_by_role("button", name="Stop")).to_be_disabled()
    await expect(page.get_by_role("heading", level=2)).to_have_text(clean_name(REPLY))
    visit.assert_stayed_home()


async def test_the_timeline_shows_a_turn_with_its_usage_and_timings(
        stack: Stack, visit: Visit) -> None:
    from playwright.async_api import expect

    robot = await robot_with_script(stack, Script(text="A short answer."))
    page = await signed_in_chat(visit, stack.token, robot, "Hello there")
    await expect(page.locator("li.message.assistant .text")).to_have_text("A short answer.")

    await page.get_by_role("link", name="Timeline").click()
    await expect(page.get_by_role("heading", level=2)).to_contain_text("Timeline")
    turn = page.get_by_role("region", name="Turn 1", exact=False)
    await expect(turn.locator(".badge")).to_have_text("completed")
    await expect(turn.locator(".event .type")).to_contain_text(
        ["TurnRequested", "TurnStarted", "AssistantMessageCompleted", "TurnCompleted"])
    # The turn's report: its timings measured, its tokens counted.
    await expect(turn.locator(".report")).to_contain_text(re.compile(r"First token\s*\d"))
    await expect(turn.locator(".report")).to_contain_text(re.compile(r"Tokens\s*[1-9]\d* in"))
    visit.assert_stayed_home()


async def test_stop_cancels_the_turn_on_the_server(stack: Stack, visit: Visit) -> None:
    from playwright.async_api import expect

    robot = await robot_with_script(stack, SLOW_REPLY)
    page = await signed_in_chat(visit, stack.token, robot, "Go on and on")
    answer = page.locator("li.message.assistant")
    await expect(answer.locator(".text")).to_contain_text("word1")
    message_id = await answer.get_attribute("data-message-id")
    assert message_id and message_id.startswith("msg-")  # the stream's `start`: its turn

    await page.get_by_role("button", name="Stop").click()
    assert (await wait_turn(stack, message_id.removeprefix("msg-")))["status"] == "cancelled"
    await expect(page.get_by_role("button", name="Send")).to_be_enabled()
    await expect(page.get_by_role("alert")).to_have_count(0)  # no error shown
    visit.assert_stayed_home()


async def test_a_call_that_waits_for_approval_is_approved_on_the_page(
        stack: Stack, visit: Visit) -> None:
    from playwright.async_api import expect

    doomed = await doomed_robot(stack)
    call = ScriptedToolCall(name="robot_delete", arguments=json.dumps({"robot_id": doomed}))
    robot, _ = await scripted_robot(stack, Script(text="Deleting it.", tool_calls=(call,)),
                                    Script(text="It is gone."), tools=("robot_delete",))
    page = await signed_in_chat(visit, stack.token, robot, "Delete the doomed robot")
    tool = page.locator("details.tool")
    await expect(tool).to_contain_text("robot_delete waits for your approval")
    await expect(tool.locator("pre")).to_contain_text(doomed)  # its input, shown

    await page.get_by_label("Reason (optional)").fill("it was doomed")
    await page.get_by_role("button", name="Approve").click()
    await expect(page.locator("li.message.assistant .text").last).to_have_text("It is gone.")
    await expect(tool).to_contain_text("robot_delete done")
    async with stack.client() as client:
        assert (await client.get(f"/robots/{doomed}")).status_code == 404
    visit.assert_stayed_home()


async def test_a_client_tools_output_given_on_the_page_continues_the_reply(
        stack: Stack, visit: Visit) -> None:
    from playwright.async_api import expect

    model = f"painter-{uuid.uuid4().hex[:8]}"
    async with stack.client() as client:
        made = await client.post("/robots", json={
            "name": model, "description": "", "playbook": "You paint rooms.",
            "model": f"openai/{model}", "client_tools": [{
                "name": "pick_colour", "description": "Ask the user for a colour"}]})
    assert made.status_code == 201, made.text
    stack.model.enqueue_for_model(
        model, Script(text="Which colour?", tool_calls=(ScriptedToolCall(name="pick_colour"),)),
        Script(text="Painted it teal."))
    page = await signed_in_chat(visit, stack.token, made.json()["id"], "Paint the kitchen")
    await page.get_by_label("Output of pick_colour").fill('{"colour": "teal"}')
    await page.get_by_role("button", name="Send output").click()
    await expect(page.locator("li.message.assistant .text").last).to_have_text(
        "Painted it teal.")
    await expect(page.locator("details.tool")).to_contain_text("pick_colour done")
    await expect(page.locator("li.message.assistant")).to_have_count(1)  # the same message
    assert "teal" in json.dumps(model_requests(stack, model)[-1])  # the model heard it
    visit.assert_stayed_home()


async def test_forking_at_a_question_opens_a_session_with_the_history_up_to_it(
        stack: Stack, visit: Visit) -> None:
    from playwright.async_api import expect

    robot = await robot_with_script(stack, Script(text="An answer to fork from."))
    page = await signed_in_chat(visit, stack.token, robot, "A question worth asking twice")
    await expect(page.locator("li.message.assistant .text")).to_have_text(
        "An answer to fork from.")
    source = page.url
    await page.locator("li.message.user").get_by_role("button", name="Fork from here").click()
    await expect(page).not_to_have_url(source)
    await expect(page.locator("li.message.user .text")).to_have_text(
        "A question worth asking twice")
    await expect(page.locator("li.message.assistant")).to_have_count(0)

    fork = page.url
    await page.get_by_role("link", name="Sessions").click()  # both listed, the fork first
    links = page.locator("tbody th a")
    await expect(links.nth(0)).to_have_attribute("href", "#" + fork.partition("#")[2])
    await expect(links.nth(1)).to_have_attribute("href", "#" + source.partition("#")[2])
    visit.assert_stayed_home()


async def test_an_admin_creates_a_robot_and_a_member_is_told_they_may_not(
        stack: Stack, visit: Visit, browser: Any) -> None:
    from playwright.async_api import expect

    name = f"helper-{uuid.uuid4().hex[:8]}"
    page = visit.page
    await sign_in(visit, stack.token)
    await page.get_by_role("link", name="Robots", exact=True).click()
    await page.get_by_role("link", name="New robot").click()
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_role("textbox", name="Playbook").fill("Tell the time when asked.")
    await page.get_by_role("checkbox", name=re.compile("^Current time")).check()
    await page.get_by_role("button", name="Create").click()
    await expect(page.get_by_role("status")).to_have_text(f"Saved {name}.")
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name))
    await expect(row).to_contain_text("current_time")
    async with stack.client() as client:
        robots = (await client.get("/robots")).json()["robots"]
    assert [r["tools"] for r in robots if r["name"] == name] == [["current_time"]]
    visit.assert_stayed_home()

    assert stack.services is not None
    _, member_token = await stack.services.accounts.create(
        f"member-{uuid.uuid4().hex[:8]}", None, Role.MEMBER)
    async with visiting(browser, stack.api_urls[0]) as member:
        await sign_in(member, member_token)
        await member.page.get_by_role("link", name="Robots", exact=True).click()
        await expect(member.page.get_by_text("needs the MANAGE_ROBOTS permission")).to_be_visible()
        await expect(member.page.get_by_role("link", name="New robot")).to_have_count(0)
        await expect(member.page.get_by_role("rowheader", name=name)).to_be_visible()
        member.assert_stayed_home()


async def test_the_api_docs_page_lists_every_operation(stack: Stack, visit: Visit) -> None:
    from playwright.async_api import expect

    async with httpx.AsyncClient(base_url=stack.api_urls[0]) as client:
        document = (await client.get("/schema/openapi.json")).json()
    operations = sorted((method.upper(), path) for path, item in document["paths"].items()
                        for method in item if method in ("get", "post", "patch", "delete", "put"))
    page = visit.page
    await page.goto("/schema")
    shown = page.locator(".opblock")
    await expect(shown).to_have_count(len(operations))
    listed = await shown.evaluate_all(
        "blocks => blocks.map(b => [b.querySelector('.opblock-summary-method').textContent,"
        " b.querySelector('.opblock-summary-path').dataset.path])")
    assert sorted((method.upper(), path) for method, path in listed) == operations
    visit.assert_stayed_home()
