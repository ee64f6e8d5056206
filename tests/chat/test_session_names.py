"""A new session named by its robot, through HTTP on the real stack: the local model names it
beside the first turn (a call of its own), the stream carries the name before `finish`, the
log holds it as the robot's; a person's name is never replaced; a failed name fails nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq.jobs import Job, JobStatus

from app.adapters.llm.local_model import Script, ScriptedToolCall
from app.adapters.streams.keys import arq_queue
from app.config.settings import Settings
from app.domain.events import SessionNamed, TurnCompleted
from tests.chat.helpers import (
    calls,
    chat,
    logged,
    model_requests,
    new_id,
    parts_of,
    scripted_robot,
    wait_until,
)
from tests.chat.sse import Frame, text_of
from tests.chat.stack import Stack, running_stack
from tests.services import FoundServices

QUESTION = "Can you plan a trip to Lisbon in May?"
TITLE = "Plan Trip Lisbon May"  # the local model's name for it: its first content words
UNNAMED = "New conversation"


@pytest.fixture(scope="module")
async def unnamed_stack(services: FoundServices, database: str) -> AsyncIterator[Stack]:
    """A stack whose sessions are not named by their robots (NAME_SESSIONS=false)."""
    base = Settings(database_url=database, redis_url=services.redis_url,
                    redis_prefix=f"{services.redis_prefix}-{uuid.uuid4().hex[:6]}",
                    db_pool_min=1, db_pool_max=4)
    async with running_stack(base, name_sessions=False) as running:
        yield running


def turn_of(got: list[Frame]) -> str:
    assert got[0].id is not None
    return got[0].id.rsplit(":", 1)[0]


def name_parts(got: list[Frame]) -> list[dict[str, Any]]:
    return parts_of(got, "data-session-name")


def naming_requests(stack: Stack, model: str) -> list[dict[str, Any]]:
    return [r.body for r in stack.model.naming_requests()
            if isinstance(r.body, dict) and r.body.get("model") == model]


async def shown(stack: Stack, session: str) -> dict[str, Any]:
    async with stack.client() as client:
        answer = await client.get(f"/robots/sessions/{session}")
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def names(stack: Stack, session: str) -> list[SessionNamed]:
    return [e for e in await logged(stack, session) if isinstance(e, SessionNamed)]


async def worker_done(stack: Stack, turn_id: str) -> None:
    """Wait until the worker has returned from the turn's job: whatever it was to record
    about the session's name, it has (or never will)."""
    assert stack.services is not None
    job = Job(turn_id, stack.services.arq, _queue_name=arq_queue(stack.settings.redis_prefix))

    async def done() -> bool:
        return await job.status() == JobStatus.not_found  # results are not kept

    await wait_until(done, f"the worker is done with {turn_id}")


async def test_a_first_chat_is_named_by_the_robot_in_the_stream_the_log_and_the_api(
    stack: Stack,
) -> None:
    robot, model = await scripted_robot(stack, Script(text="Lisbon in May is lovely."),
                                        Script(text="Take the tram."))
    session = new_id("s")
    got = await chat(stack, session, QUESTION, robot=robot)

    assert text_of(got) == "Lisbon in May is lovely."
    assert name_parts(got) == [{"type": "data-session-name", "data": {"name": TITLE},
                                "transient": True}]
    types = [f.data["type"] for f in got if f.data != "[DONE]"]
    assert types[-3:] == ["finish-step", "data-session-name", "finish"]
    [named] = await names(stack, session)
    assert named == SessionNamed(session_id=session, name=TITLE, robot_id=robot,
                                 turn_id=turn_of(got), model=f"openai/{model}")
    assert (await shown(stack, session))["name"] == TITLE
    async with stack.client() as client:
        listed = (await client.get("/robots/sessions", params={"limit": 100})).json()
    assert [s["name"] for s in listed["sessions"] if s["id"] == session] == [TITLE]
    # The name was asked for in a call of its own, from what the person said; the turn's
    # requests are the conversation's alone, and the scripts answered them in order.
    [asked] = naming_requests(stack, model)
    assert asked["messages"][0]["role"] == "system"
    assert asked["messages"][0]["content"].startswith("Name this conversation")
    assert asked["messages"][1:] == [{"role": "user", "content": QUESTION}]
    assert "stream" not in asked
    assert len(model_requests(stack, model)) == 1

    again = await chat(stack, session, "And in June?", robot=robot)
    assert text_of(again) == "Take the tram." and name_parts(again) == []
    await worker_done(stack, turn_of(again))
    assert len(naming_requests(stack, model)) == 1 and len(await names(stack, session)) == 1


async def test_a_name_that_comes_after_the_turn_is_recorded_then(stack: Stack) -> None:
    robot, model = await scripted_robot(stack, Script(text="Sure."))
    # The naming call answers well after the turn's ending stopped waiting for it (2 s).
    stack.model.set_model_script(model, Script(time_to_first_token_s=4.0))
    session = new_id("s")
    got = await chat(stack, session, QUESTION, robot=robot)

    assert text_of(got) == "Sure." and name_parts(got) == []
    assert (await shown(stack, session))["name"] == UNNAMED

    async def named_now() -> bool:
        return (await shown(stack, session))["name"] == TITLE

    await wait_until(named_now, "the late name shows")
    kinds = [type(e) for e in await logged(stack, session)]
    assert kinds.index(SessionNamed) > kinds.index(TurnCompleted)


async def test_a_name_a_person_gave_by_patch_is_kept(stack: Stack) -> None:
    robot, model = await scripted_robot(stack, Script(text="One."), Script(text="Two."))
    stack.model.set_model_script(model, Script(fail_status=400))  # its first naming fails
    session = new_id("s")
    first = await chat(stack, session, QUESTION, robot=robot)
    await worker_done(stack, turn_of(first))
    assert len(naming_requests(stack, model)) == 1 and await names(stack, session) == []
    async with stack.client() as client:
        patched = await client.patch(f"/robots/sessions/{session}", json={"name": "Our trip"})
    assert patched.status_code == 200, patched.text
    stack.model.set_model_script(model, Script())  # it could name it now: it is not asked

    second = await chat(stack, session, "And in June?", robot=robot)
    await worker_done(stack, turn_of(second))
    assert name_parts(second) == [] and len(naming_requests(stack, model)) == 1
    assert await names(stack, session) == []
    assert (await shown(stack, session))["name"] == "Our trip"


async def test_a_name_the_session_rename_tool_gave_during_the_turn_is_kept(
    stack: Stack,
) -> None:
    rename = ScriptedToolCall(name="session_rename",
                              arguments=json.dumps({"name": "Renamed by request"}))
    robot, model = await scripted_robot(stack, calls(rename), Script(text="Renamed."),
                                        tools=("session_rename",))
    session = new_id("s")
    got = await chat(stack, session, QUESTION, robot=robot)
    await worker_done(stack, turn_of(got))

    assert text_of(got) == "Renamed."
    # The name was asked for before the tool ran; the person's name (through the tool) won.
    assert len(naming_requests(stack, model)) == 1
    assert name_parts(got) == [] and await names(stack, session) == []
    assert (await shown(stack, session))["name"] == "Renamed by request"


async def test_a_fork_keeps_the_name_it_was_created_with(stack: Stack) -> None:
    robot, model = await scripted_robot(stack, Script(text="One."), Script(text="Two."))
    source = new_id("s")
    await chat(stack, source, QUESTION, robot=robot)
    assert (await shown(stack, source))["name"] == TITLE
    first_question = (await shown(stack, source))["message_list"]["messages"][0]["id"]
    async with stack.client() as client:
        forked = await client.post(f"/robots/sessions/{source}/fork",
                                   json={"at_message_id": first_question})
    assert forked.status_code in (200, 201), forked.text
    fork = forked.json()["id"]

    got = await chat(stack, fork, "What about Porto?", robot=robot)
    await worker_done(stack, turn_of(got))
    assert name_parts(got) == [] and len(naming_requests(stack, model)) == 1
    assert (await shown(stack, fork))["name"] == TITLE and await names(stack, fork) == []


async def test_a_model_that_fails_to_name_leaves_the_turn_done_and_the_session_unnamed(
    stack: Stack,
) -> None:
    robot, model = await scripted_robot(stack, Script(text="Fine."), Script(text="Still."))
    stack.model.set_model_script(model, Script(fail_status=500))  # naming calls only
    session = new_id("s")
    got = await chat(stack, session, QUESTION, robot=robot)
    await worker_done(stack, turn_of(got))

    assert text_of(got) == "Fine." and name_parts(got) == []
    assert parts_of(got, "finish")[0]["finishReason"] == "stop"
    # Asked, and retried once (MODEL_MAX_RETRIES=1 here), then given up.
    assert len(naming_requests(stack, model)) == 2
    assert await names(stack, session) == []
    assert (await shown(stack, session))["name"] == UNNAMED

    # The next turn asks again, and this time the model names it.
    stack.model.set_model_script(model, Script())
    again = await chat(stack, session, "What should we see?", robot=robot)
    assert text_of(again) == "Still."
    assert name_parts(again) == [{"type": "data-session-name", "data": {"name": TITLE},
                                  "transient": True}]
    assert (await shown(stack, session))["name"] == TITLE


async def test_with_naming_off_no_call_is_made_and_the_session_stays_unnamed(
    unnamed_stack: Stack,
) -> None:
    stack = unnamed_stack
    robot, model = await scripted_robot(stack, Script(text="Hello."))
    session = new_id("s")
    got = await chat(stack, session, QUESTION, robot=robot)
    await worker_done(stack, turn_of(got))

    assert text_of(got) == "Hello." and name_parts(got) == []
    assert stack.model.naming_requests() == [] and len(model_requests(stack, model)) == 1
    assert await names(stack, session) == []
    assert (await shown(stack, session))["name"] == UNNAMED
