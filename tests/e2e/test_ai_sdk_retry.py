"""A turn whose worker died mid-turn is retried by another worker, and what the real client
(`ai` 6 and 7) assembles still equals the stored message.

The dead attempt may have streamed part of a step the log never recorded; the retry asks
for that step again. A client that takes `reset-step` (AI SDK 7, with the
`x-robots-stream-features: reset-step` header) drops the dead attempt's output in place; any
other client is told to start over (an `error` part that ends its stream), and a resume from
the start assembles exactly the stored message, the dead attempt's output left out.

Each test runs a real `robots worker` process that is SIGKILLed while the client streams,
and an in-process worker that retries the turn once the dead one's lease has run out.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from app.adapters.llm.local_model import Script, ScriptedToolCall
from app.adapters.streams.keys import buffer_key
from app.adapters.streams.retries import RETRY_ERROR
from app.config.settings import Settings
from app.domain.events import ToolCallCompleted, TurnRequested
from tests.chat.helpers import (
    assistant_rows,
    calls,
    logged,
    new_id,
    scripted_robot,
    wait_turn,
    wait_until,
)
from tests.chat.stack import Stack, doomed_worker, running_stack, survivor
from tests.e2e.ai_sdk_support import (
    AiSdkClient,
    AiSdkProject,
    assert_no_rejections,
    comparable,
    text_parts,
)
from tests.services import FoundServices

RESETS = "x-robots-stream-features: reset-step"
DOOMED = " ".join(f"doomed{i}" for i in range(60))  # 3 s: the worker dies a few words in
RETRIED = "The retried attempt's answer, said once."


@pytest.fixture(scope="module")
async def bare_stack(ai_sdk_project: AiSdkProject, services: FoundServices,
                     database: str) -> AsyncIterator[Stack]:
    """API and projector, no worker: each test brings its own. A dead worker's turn is
    retried about 1.5 s after it died."""
    base = Settings(database_url=database, redis_url=services.redis_url,
                    redis_prefix=f"{services.redis_prefix}-{uuid.uuid4().hex[:6]}",
                    db_pool_min=1, db_pool_max=8, turn_lease_s=1.5, sweep_interval_s=1,
                    sweep_grace_s=1.0)
    async with running_stack(base, workers=0) as running:
        yield running


async def tool_then_text_robot(stack: Stack, second_step: Script) -> str:
    """A robot whose step 1 calls `current_time` and whose step 2 says `second_step`, then
    RETRIED when asked for step 2 again."""
    robot, _ = await scripted_robot(
        stack, calls(ScriptedToolCall(name="current_time", call_id=new_id("call"))),
        second_step, Script(text=RETRIED), tools=("current_time",))
    return robot


async def turn_of(stack: Stack, session: str) -> str:
    async def requested() -> bool:
        return any(isinstance(e, TurnRequested) for e in await logged(stack, session))
    await wait_until(requested, "the client's turn in the log")
    return next(e.turn_id for e in await logged(stack, session) if isinstance(e, TurnRequested))


async def streamed(stack: Stack, turn_id: str) -> list[dict[str, Any]]:
    """The parts in the turn's buffer so far."""
    assert stack.services is not None
    entries = await stack.services.redis.xrange(
        buffer_key(stack.settings.redis_prefix, turn_id))
    return [msgspec.json.decode(fields[b"p"]) for _, fields in entries]


async def stored_reply(stack: Stack, session: str, turn_id: str) -> list[dict[str, Any]]:
    """The reply's parts in the messages read model, once projected; `GET
    /robots/sessions/{id}` answers the same (without the step-starts, as Storyden has it)."""
    await wait_turn(stack, turn_id, timeout=30)
    rows: list[dict[str, Any]] = []

    async def projected() -> bool:
        rows[:] = [r for r in await assistant_rows(stack, session) if r["turn_id"] == turn_id]
        return bool(rows)
    await wait_until(projected, "the reply in the messages read model")
    parts = [comparable(p) for p in rows[0]["parts"]]
    async with stack.client() as client:
        body = (await client.get(f"/robots/sessions/{session}")).json()
    [shown] = [m for m in body["message_list"]["messages"] if m["id"] == f"msg-{turn_id}"]
    assert [comparable(p) for p in shown["parts"]] == [
        p for p in parts if p["type"] != "step-start"]
    return parts


async def killed_in_step_two(stack: Stack, ai_sdk: AiSdkClient, *client_args: str
                             ) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """A turn whose worker dies a few words into step 2 (step 1, a tool call, recorded)
    while the client (run with `client_args`) streams it live: the session, what the
    client assembled, and the stored reply."""
    robot = await tool_then_text_robot(stack, Script(text=DOOMED, tokens_per_second=20))
    session = new_id("s")
    async with doomed_worker(stack) as pid:
        live = asyncio.create_task(
            ai_sdk.run(stack, session, "--send", "go", "--robot", robot, *client_args))
        turn_id = await turn_of(stack, session)

        async def midway() -> bool:
            return sum(p["type"] == "text-delta" for p in await streamed(stack, turn_id)) >= 5
        await wait_until(midway, "step 2 half streamed")
        os.kill(pid, signal.SIGKILL)
    async with survivor(stack):
        sent = await live
        assert (await wait_turn(stack, turn_id, timeout=30))["status"] == "completed"
    return session, sent, await stored_reply(stack, session, turn_id)


STORED = [{"type": "step-start"}, {"type": "dynamic-tool"}, {"type": "step-start"},
          {"type": "text", "text": RETRIED}]


def shape(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tool parts reduced to their type (their ids and times differ per run)."""
    return [{"type": p["type"]} if p["type"] == "dynamic-tool" else p for p in parts]


async def test_a_client_without_reset_step_is_told_to_start_over_and_resumes_the_stored_reply(
    bare_stack: Stack, ai_sdk: AiSdkClient,
) -> None:
    session, sent, stored = await killed_in_step_two(bare_stack, ai_sdk)
    assert shape(stored) == STORED
    assert_no_rejections(sent)
    # Live: the dead attempt's words, then our error; the stream ends there.
    assert sent["chunkTypes"][-1] == "error" and sent["errorChunks"] == [RETRY_ERROR]
    [(_, partial, _)] = text_parts(sent)
    assert partial and DOOMED.startswith(partial) and partial != DOOMED
    # A resume from the start: the stored reply, the dead attempt's words left out.
    resumed = await ai_sdk.resume(bare_stack, session)
    assert_no_rejections(resumed)
    assert resumed["errorChunks"] == [] and resumed["finishReason"] == "stop"
    assert "reset-step" not in resumed["chunkTypes"]
    assert [comparable(p) for p in resumed["parts"]] == stored


async def test_a_client_that_takes_reset_step_drops_the_dead_attempts_words_in_place(
    bare_stack: Stack, ai_sdk: AiSdkClient,
) -> None:
    session, sent, stored = await killed_in_step_two(bare_stack, ai_sdk, "--header", RESETS)
    assert shape(stored) == STORED
    if ai_sdk.major == "6":
        # Why it is the client's to ask for: `ai` 6 fails its stream on a chunk it does not
        # know. Its resume from the start needs no reset and assembles the stored reply.
        [failure] = sent["failures"]
        assert failure["name"] == "AI_TypeValidationError"
        assert failure["value"] == {"type": "reset-step"}
    else:
        assert_no_rejections(sent)
        types = sent["chunkTypes"]
        assert "reset-step" in types and sent["errorChunks"] == []
        assert types.index("data-turn-retry") > types.index("reset-step")
        assert sent["finishReason"] == "stop"
        assert [comparable(p) for p in sent["parts"]] == stored
    resumed = await ai_sdk.resume(bare_stack, session, header=RESETS)
    assert_no_rejections(resumed)
    assert "reset-step" not in resumed["chunkTypes"]
    assert [comparable(p) for p in resumed["parts"]] == stored


async def test_use_chat_shows_the_error_then_resume_stream_replaces_the_partial_reply(
    bare_stack: Stack, ai_sdk: AiSdkClient,
) -> None:
    # The SDK's Chat class (what useChat wraps), without the header: the app resumes the
    # stream after the error, as a retry button would.
    _, sent, stored = await killed_in_step_two(bare_stack, ai_sdk, "--chat")
    assert_no_rejections(sent)
    assert sent["errorChunks"] == [RETRY_ERROR]
    assert [e["message"] for e in sent["surfacedErrors"]] == [RETRY_ERROR]
    assert sent["chat"]["resumed"] and sent["chat"]["status"] == "ready"
    # One assistant message, the stored one: the resume replaced the partial one in place.
    assert [m["role"] for m in sent["chat"]["messages"]] == ["user", "assistant"]
    assert sent["message"]["id"] == sent["startMessageId"]
    assert [comparable(p) for p in sent["parts"]] == stored


async def test_a_worker_that_died_after_recording_its_step_leaves_the_stream_whole(
    bare_stack: Stack, ai_sdk: AiSdkClient,
) -> None:
    # No header: a retry that wrongly dropped step 1 would end this client's stream.
    stack = bare_stack
    robot = await tool_then_text_robot(stack, Script(text=RETRIED))
    session = new_id("s")
    async with doomed_worker(stack, pause_at="after-tool-result") as pid:
        live = asyncio.create_task(ai_sdk.send(stack, session, "go", robot=robot))
        turn_id = await turn_of(stack, session)

        async def recorded() -> bool:
            return any(isinstance(e, ToolCallCompleted) for e in await logged(stack, session))
        await wait_until(recorded, "the tool's result in the log")
        os.kill(pid, signal.SIGKILL)
    async with survivor(stack):
        sent = await live
        assert (await wait_turn(stack, turn_id, timeout=30))["status"] == "completed"
    stored = await stored_reply(stack, session, turn_id)
    assert_no_rejections(sent)
    assert sent["errorChunks"] == [] and sent["finishReason"] == "stop"
    assert "data-turn-retry" in sent["chunkTypes"] and "reset-step" not in sent["chunkTypes"]
    assert sent["chunkTypes"].count("start-step") == 2
    assert shape(stored) == [{"type": "step-start"}, {"type": "dynamic-tool"},
                             {"type": "step-start"}, {"type": "text", "text": RETRIED}]
    assert [comparable(p) for p in sent["parts"]] == stored

