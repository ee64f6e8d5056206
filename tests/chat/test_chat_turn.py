"""A chat turn through HTTP, the log, arq, the model and Redis, back as SSE."""

from __future__ import annotations

import asyncio
import time
import uuid

from app.adapters.llm.local_model import Script
from tests.chat.helpers import (
    chat,
    event_types,
    messages,
    new_id,
    part_types,
    robot_with_script,
    wait_turn,
)
from tests.chat.sse import chat_body, frames, read_all, text_of
from tests.chat.stack import Stack

SLOW = Script(text=" ".join(f"word{i}" for i in range(60)), tokens_per_second=40)


async def test_a_full_turn_streams_the_models_text_and_lands_in_the_log_and_read_models(
    stack: Stack,
) -> None:
    reply = "The quick brown fox jumps over the lazy dog, twice."
    robot = await robot_with_script(stack, Script(text=reply))
    session, message = new_id("s"), new_id("m")
    async with stack.client() as client, client.stream(
        "POST", "/robots/chat/sse", json=chat_body(session, message, "Hello?", robotId=robot)
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        got = await read_all(response)
    types = part_types(got)
    assert types[:3] == ["start", "start-step", "text-start"]
    assert types[-4:] == ["text-end", "finish-step", "finish", "[DONE]"]
    assert text_of(got) == reply
    seqs = [f.seq for f in got]
    assert seqs == list(range(1, len(got) + 1))
    turn_id = got[0].id.rsplit(":", 1)[0]  # type: ignore[union-attr]
    # SessionNamed (the robot names the session) comes before or after the ending: the
    # name's own tests pin it (test_session_names.py).
    assert [t for t in await event_types(stack, session) if t != "SessionNamed"] == [
        "SessionStarted", "MessagePosted", "TurnRequested", "TurnStarted",
        "StepCompleted", "AssistantMessageCompleted", "TurnCompleted"]
    # Read your own writes: once [DONE] arrived, the read models hold the reply.
    rows = await messages(stack, session)
    assert [(r[0], r[1]) for r in rows] == [(message, "user"), (f"msg-{turn_id}", "assistant")]
    assert rows[1][2] == [{"type": "step-start"}, {"type": "text", "text": reply}]
    turn = await wait_turn(stack, turn_id)
    assert turn["status"] == "completed" and turn["attempts"] == 1


async def test_resume_on_another_instance_mid_stream_misses_and_repeats_nothing(
    stack: Stack,
) -> None:
    robot = await robot_with_script(stack, SLOW)
    session = new_id("s")
    first: list = []
    async with stack.client(0) as one, one.stream(
        "POST", "/robots/chat/sse", json=chat_body(session, new_id("m"), "go", robotId=robot)
    ) as response:
        async for frame in frames(response):
            first.append(frame)
            if sum(1 for f in first if f.data != "[DONE]"
                   and f.data["type"] == "text-delta") == 10:
                break
    last_id = first[-1].id
    async with stack.client(1) as two, two.stream(
        "GET", f"/robots/chat/sse/{session}/stream", headers={"Last-Event-ID": last_id}
    ) as resumed:
        rest = await read_all(resumed)
    assert rest[-1].data == "[DONE]"
    assert rest[0].seq == first[-1].seq + 1
    assert text_of(first) + text_of(rest) == SLOW.text


async def test_a_client_that_disconnects_does_not_stop_the_turn(stack: Stack) -> None:
    robot = await robot_with_script(stack, SLOW)
    session = new_id("s")
    async with stack.client() as client:
        async with client.stream("POST", "/robots/chat/sse",
                                 json=chat_body(session, new_id("m"), "go", robotId=robot)
                                 ) as response:
            async for frame in frames(response):
                if frame.data != "[DONE]" and frame.data["type"] == "text-delta":
                    turn_id = frame.id.rsplit(":", 1)[0]  # type: ignore[union-attr]
                    break
        row = await wait_turn(stack, turn_id)
        assert row["status"] == "completed"
        async with client.stream("GET", f"/robots/sessions/{session}/stream") as again:
            whole = await read_all(again)
    assert text_of(whole) == SLOW.text and whole[-1].data == "[DONE]"


async def test_cancel_from_the_other_instance_stops_the_turn_within_a_second(
    stack: Stack,
) -> None:
    robot = await robot_with_script(stack, SLOW)
    session = new_id("s")
    seen: list = []
    async with stack.client(0) as one, stack.client(1) as two, one.stream(
        "POST", "/robots/chat/sse", json=chat_body(session, new_id("m"), "go", robotId=robot)
    ) as response:
        cancelled_at = stopped_at = None
        async for frame in frames(response):
            seen.append(frame)
            if frame.data != "[DONE]" and frame.data["type"] == "abort":
                stopped_at = time.monotonic()  # the turn has stopped; [DONE] still follows
            deltas = [f for f in seen if f.data != "[DONE]" and f.data["type"] == "text-delta"]
            if len(deltas) == 5 and cancelled_at is None:
                turn_id = frame.id.rsplit(":", 1)[0]  # type: ignore[union-attr]
                cancelled_at = time.monotonic()
                answer = await two.post(f"/robots/sessions/{session}/turns/{turn_id}/cancel")
                assert answer.status_code == 200, answer.text
    assert cancelled_at is not None and stopped_at is not None
    assert stopped_at - cancelled_at < 1.0
    assert [f.data if f.data == "[DONE]" else f.data["type"] for f in seen][-2:] == [
        "abort", "[DONE]"]
    types = await event_types(stack, session)
    assert types[-3:] == ["TurnCancelRequested", "AssistantMessageCompleted", "TurnCancelled"]
    kept = (await messages(stack, session))[-1]
    assert kept[1] == "assistant" and kept[2][-1]["text"] == text_of(seen)
    assert SLOW.text.startswith(kept[2][-1]["text"])  # type: ignore[union-attr]
    async with stack.client(1) as two:
        again = await two.post(f"/robots/sessions/{session}/turns/{turn_id}/cancel")
    assert again.json()["status"] == "cancelled"


async def test_posting_the_same_message_twice_makes_one_message_and_one_turn(
    stack: Stack,
) -> None:
    robot = await robot_with_script(stack, Script(text="once only"))
    session, message = new_id("s"), new_id("m")
    body = chat_body(session, message, "hi", robotId=robot)
    async with stack.client() as client:
        async with client.stream("POST", "/robots/chat/sse", json=body) as first:
            a = await read_all(first)
        async with client.stream("POST", "/robots/chat/sse", json=body) as second:
            b = await read_all(second)
    assert text_of(a) == text_of(b) == "once only"
    assert a[0].id == b[0].id
    types = await event_types(stack, session)
    assert types.count("MessagePosted") == 1 and types.count("TurnRequested") == 1


async def test_a_second_message_while_a_turn_runs_is_a_409_naming_the_turn(
    stack: Stack,
) -> None:
    robot = await robot_with_script(stack, SLOW)
    session = new_id("s")
    async with stack.client() as client, client.stream(
        "POST", "/robots/chat/sse", json=chat_body(session, new_id("m"), "one", robotId=robot)
    ) as response:
        async for frame in frames(response):
            turn_id = frame.id.rsplit(":", 1)[0]  # type: ignore[union-attr]
            break
        clash = await client.post("/robots/chat/sse",
                                  json=chat_body(session, new_id("m"), "two", robotId=robot))
        assert clash.status_code == 409
        assert clash.headers["content-type"].startswith("application/problem+json")
        assert clash.json()["metadata"] == {"active_turn_id": turn_id}
        await client.post(f"/robots/sessions/{session}/turns/{turn_id}/cancel")


async def test_enqueued_turns_run_in_order_each_after_the_replies_before_it(
    stack: Stack,
) -> None:
    model = f"queued-{new_id('m')}"
    robot = await robot_with_script(stack, Script(tokens=30, tokens_per_second=200))
    assert stack.services is not None
    await stack.services.robots.update(uuid.UUID(robot), {"model": f"openai/{model}"},
                                       uuid.uuid4())
    session = new_id("s")
    async with stack.client() as client:
        posted = [await client.post("/robots/sessions", json=chat_body(
            session, f"m-{n}", f"question {n}", robotId=robot,
            multitask="enqueue")) for n in (1, 2, 3)]
        assert [p.status_code for p in posted] == [202, 202, 202]
        turns = [p.json()["turnId"] for p in posted]
        async with client.stream("GET", posted[2].json()["streamUrl"]) as response:
            assert (await read_all(response))[-1].data == "[DONE]"
    rows = [await wait_turn(stack, t) for t in turns]
    assert [r["status"] for r in rows] == ["completed"] * 3
    assert rows[0]["finished_at"] <= rows[1]["started_at"]
    assert rows[1]["finished_at"] <= rows[2]["started_at"]
    # Each reply is listed right after its question, though the questions came first.
    roles = [(r[0], r[1]) for r in await messages(stack, session)]
    assert roles == [(x, role) for n, t in zip((1, 2, 3), turns, strict=True)
                     for x, role in ((f"m-{n}", "user"), (f"msg-{t}", "assistant"))]
    # And each turn's model saw the replies that came before its question.
    asked = [r.body["messages"] for r in stack.model.app.requests
             if isinstance(r.body, dict) and r.body.get("model") == model]
    assert [[m["role"] for m in a if m["role"] != "system"] for a in asked] == [
        ["user"], ["user", "assistant", "user"],
        ["user", "assistant", "user", "assistant", "user"]]


async def test_interrupt_cancels_the_running_turn_then_runs_the_new_one(stack: Stack) -> None:
    robot = await robot_with_script(stack, SLOW)
    quick = await robot_with_script(stack, Script(text="quick answer"))
    session = new_id("s")
    async with stack.client() as client:
        first = (await client.post("/robots/sessions", json=chat_body(
            session, "m-1", "long one", robotId=robot))).json()
        await asyncio.sleep(0.3)
        async with client.stream("POST", "/robots/chat/sse", json=chat_body(
            session, "m-2", "never mind", robotId=quick, multitask="interrupt")) as response:
            got = await read_all(response)
    assert text_of(got) == "quick answer"
    assert (await wait_turn(stack, first["turnId"]))["status"] == "cancelled"


async def test_a_model_error_fails_the_turn_with_an_error_part_then_done(stack: Stack) -> None:
    for script in (Script(text="x", fail_status=500), Script(text="a b c d e f", cut_after=3)):
        robot = await robot_with_script(stack, script)
        session = new_id("s")
        async with stack.client() as client, client.stream(
            "POST", "/robots/chat/sse", json=chat_body(session, new_id("m"), "hi", robotId=robot)
        ) as response:
            got = await read_all(response)
        assert got[-1].data == "[DONE]"
        assert got[-2].data["type"] == "error" and got[-2].data["errorText"]
        assert (await event_types(stack, session))[-1] == "TurnFailed"


async def test_a_nul_in_the_models_answer_is_dropped_and_the_turn_completes(
        stack: Stack) -> None:
    robot = await robot_with_script(stack, Script(text="before\x00after"))
    session = new_id("s")
    got = await chat(stack, session, "say something odd", robot=robot)
    assert text_of(got) == "beforeafter"
    replies = [parts for _, role, parts in await messages(stack, session)
               if role == "assistant"]
    assert [p["text"] for p in replies[0] if p["type"] == "text"] == ["beforeafter"]
