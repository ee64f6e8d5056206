"""The real client, the `ai` npm package, reads our chat stream: what it parses is what counts.

Every test runs once with `ai` 6 and once with `ai` 7 (the `ai_sdk` fixture, ids "ai6" and
"ai7"): both majors must assemble our stream. tests/e2e/ai_sdk_support.py runs the client.
"""

from __future__ import annotations

from app.adapters.llm.local_model import Script
from tests.chat.helpers import messages, new_id, robot_with_script
from tests.chat.stack import Stack
from tests.e2e.ai_sdk_support import (
    AiSdkClient,
    assert_no_rejections,
    chunk_types,
    text_parts,
)

REPLY = 'Grüße! A "quoted" reply — with <markup> & an emoji 🚀,\nover two lines.'
REASONING = "The user greets me. I answer in kind, briefly."


async def test_the_ai_sdk_folds_our_stream_into_the_scripted_message_and_replays_it(
    stack: Stack, ai_sdk: AiSdkClient,
) -> None:
    robot = await robot_with_script(stack, Script(text=REPLY, reasoning=REASONING))
    session = new_id("s")
    sent = await ai_sdk.send(stack, session, "Hello from useChat", robot=robot)
    assert_no_rejections(sent)
    assert sent["sdkVersion"].split(".")[0] == ai_sdk.major
    assert sent["streamed"] and sent["errorChunks"] == [] and sent["surfacedErrors"] == []
    response = sent["responses"][0]
    assert response["status"] == 200
    assert response["headers"]["x-vercel-ai-ui-message-stream"] == "v1"
    assert response["headers"]["content-type"].startswith("text/event-stream")
    types = chunk_types(sent)
    assert types[:3] == ["start", "start-step", "reasoning-start"]
    assert {"reasoning-delta", "reasoning-end", "text-start", "text-delta", "text-end"} <= set(
        types)
    assert types[-2:] == ["finish-step", "finish"]
    message = sent["message"]
    assert message["role"] == "assistant"
    assert message["id"] == sent["startMessageId"]
    assert [p["type"] for p in sent["parts"]] == ["step-start", "reasoning", "text"]
    assert text_parts(sent) == [("reasoning", REASONING, "done"), ("text", REPLY, "done")]
    assert sent["finishReason"] == "stop"
    stored = await messages(stack, session)
    assert stored[-1][:2] == (message["id"], "assistant")

    # The AI SDK's resume call on the finished (still buffered) turn replays the same message.
    again = await ai_sdk.resume(stack, session)
    assert_no_rejections(again)
    assert again["responses"][0]["url"].endswith(f"/robots/chat/sse/{session}/stream")
    assert again["streamed"] and again["message"]["id"] == message["id"]
    assert again["parts"] == sent["parts"]


async def test_reconnect_to_stream_follows_a_turn_started_in_the_background(
    stack: Stack, ai_sdk: AiSdkClient,
) -> None:
    # About two seconds of streaming: the client reconnects right after the 202, mid-turn.
    reply = " ".join(f"word{i}" for i in range(40)) + "."
    robot = await robot_with_script(stack, Script(text=reply, reasoning=REASONING,
                                                  tokens_per_second=25))
    session = new_id("s")
    resumed = await ai_sdk.resume(stack, session, background="go", robot=robot)
    assert_no_rejections(resumed)
    assert resumed["background"]["status"] == 202
    assert resumed["responses"][0]["url"].endswith(f"/robots/chat/sse/{session}/stream")
    assert resumed["streamed"], "reconnectToStream found nothing to resume (204)"
    assert chunk_types(resumed)[:2] == ["start", "start-step"]
    assert chunk_types(resumed)[-2:] == ["finish-step", "finish"]
    # The assistant message is named after the turn (the 202's messageId is the user's).
    turn_id = resumed["background"]["body"]["turnId"]
    assert resumed["message"]["id"] == resumed["startMessageId"] == f"msg-{turn_id}"
    assert text_parts(resumed) == [("reasoning", REASONING, "done"), ("text", reply, "done")]
    stored = await messages(stack, session)
    assert stored[-1] == (f"msg-{turn_id}", "assistant", [
        {"type": "step-start"}, {"type": "reasoning", "text": REASONING},
        {"type": "text", "text": reply}])
    # What the client assembled is what the log holds, part for part.
    assert [p["type"] for p in resumed["parts"]] == [p["type"] for p in stored[-1][2]]


async def test_a_model_failure_reaches_the_sdk_as_our_error_chunks_text(
    stack: Stack, ai_sdk: AiSdkClient,
) -> None:
    robot = await robot_with_script(stack, Script(text="never sent", fail_status=500))
    result = await ai_sdk.send(stack, new_id("s"), "hi", robot=robot)
    assert_no_rejections(result)
    assert result["chunkTypes"][-1] == "error"
    [error_text] = result["errorChunks"]
    # readUIMessageStream reports an `error` chunk through onError as Error(errorText).
    assert [e["message"] for e in result["surfacedErrors"]] == [error_text]
    assert "HTTP 500" in error_text and "scripted to fail" in error_text, error_text
    assert text_parts(result) == []
