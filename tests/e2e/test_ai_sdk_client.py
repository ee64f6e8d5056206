"""The real client, the `ai` npm package, reads our chat stream: what it parses is what counts.

tests/e2e/ai_sdk/chat-client.mjs posts a chat the way useChat does (DefaultChatTransport, the
SDK's own chunk schema) or reconnects to one (`reconnectToStream`, GET {api}/{chatId}/stream)
and folds the chunks with `readUIMessageStream`. The node project is installed once per
package.json/lock into ~/.cache/robots-test-ai-sdk/, outside the repository.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.adapters.llm.local_model import Script
from app.config.settings import Settings
from tests.chat.helpers import messages, new_id, robot_with_script
from tests.chat.stack import Stack, running_stack
from tests.services import FoundServices

PROJECT = Path(__file__).parent / "ai_sdk"
SCRIPT = PROJECT / "chat-client.mjs"
MANIFESTS = ("package.json", "package-lock.json")
INSTALL_TIMEOUT_S = 300
CLIENT_TIMEOUT_S = 30

REPLY = 'Grüße! A "quoted" reply — with <markup> & an emoji 🚀,\nover two lines.'
REASONING = "The user greets me. I answer in kind, briefly."


class AiSdkClient:
    """Runs chat-client.mjs from its installed node project."""

    def __init__(self, node: str, script: Path) -> None:
        self.node = node
        self.script = script

    async def run(self, stack: Stack, session: str, *args: str) -> dict[str, Any]:
        process = await asyncio.create_subprocess_exec(
            self.node, str(self.script), "--base", stack.api_urls[0], "--token", stack.token,
            "--session", session, "--timeout-ms", str(CLIENT_TIMEOUT_S * 1000), *args,
            cwd=self.script.parent, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(process.communicate(), CLIENT_TIMEOUT_S + 5)
        except TimeoutError:
            process.kill()
            await process.wait()
            pytest.fail(f"the AI SDK client did not finish within {CLIENT_TIMEOUT_S + 5} s")
        try:
            result: dict[str, Any] = json.loads(out)
        except ValueError:
            pytest.fail(f"the AI SDK client printed no result (exit {process.returncode}):\n"
                        f"{out.decode(errors='replace')}\n{err.decode(errors='replace')}")
        return result


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "robots-test-ai-sdk"


def _registry_reachable(npm: str) -> bool:
    try:
        return subprocess.run([npm, "ping"], capture_output=True, timeout=30).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _install(npm: str, target: Path) -> None:
    """npm-install the project into `target`, atomically (concurrent runs may race)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
    try:
        for name in MANIFESTS:
            if (PROJECT / name).exists():
                shutil.copyfile(PROJECT / name, staging / name)
        has_lock = (staging / "package-lock.json").exists()
        # `ai` declares node >= 22; it runs on the node 20 these machines have.
        command = [npm, "ci" if has_lock else "install", "--no-audit", "--no-fund",
                   "--engine-strict=false"]
        try:
            done = subprocess.run(command, cwd=staging, capture_output=True, text=True,
                                  timeout=INSTALL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            done = None
        if done is None or done.returncode != 0:
            if not _registry_reachable(npm):
                pytest.skip("the npm registry is unreachable: cannot install the AI SDK client")
            output = "timed out" if done is None else (done.stdout + done.stderr)[-4000:]
            pytest.fail(f"`{' '.join(command)}` failed in {staging}:\n{output}")
        with contextlib.suppress(OSError):  # another run finished first: keep theirs
            staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@pytest.fixture(scope="module")
def ai_sdk() -> AiSdkClient:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run the AI SDK client (the `ai` npm package)")
    digest = hashlib.sha256()
    for name in MANIFESTS:
        if (PROJECT / name).exists():
            digest.update(name.encode() + b"\0" + (PROJECT / name).read_bytes() + b"\0")
    target = _cache_root() / digest.hexdigest()[:16]
    if not (target / "node_modules" / "ai" / "package.json").exists():
        _install(npm, target)
    # Node resolves `ai` from the script's own directory: run a copy that sits in the project.
    source = SCRIPT.read_bytes()
    script = target / f"chat-client-{hashlib.sha256(source).hexdigest()[:12]}.mjs"
    if not script.exists():
        partial = target / f".{script.name}.{uuid.uuid4().hex[:8]}"
        partial.write_bytes(source)
        partial.replace(script)
    return AiSdkClient(node, script)


@pytest.fixture(scope="module")
async def stack(ai_sdk: AiSdkClient, services: FoundServices,
                database: str) -> AsyncIterator[Stack]:
    # Depends on `ai_sdk` so a first-run npm install happens before the stack starts. Default
    # lease and sweep timings: nothing here tests recovery, and a slow machine must not retry.
    base = Settings(database_url=database, redis_url=services.redis_url,
                    redis_prefix=f"{services.redis_prefix}-{uuid.uuid4().hex[:6]}",
                    db_pool_min=1, db_pool_max=8)
    async with running_stack(base) as running:
        yield running


def _no_rejections(result: dict[str, Any]) -> None:
    """Fail with the SDK's own words for everything it rejected."""
    if not result["failures"]:
        return
    lines = [f"the AI SDK (ai {result['sdkVersion']}, node {result['nodeVersion']}) rejected"
             f" our stream ({result['mode']}); chunks accepted before: {result['chunkTypes']}"]
    for failure in result["failures"]:
        message: str = failure["message"]
        # A schema rejection's message lists every member of the chunk union: `issues` has
        # the ones that matter.
        lines.append(f"- {failure['name']}: "
                     + (message.split("\n")[0] if "issues" in failure else message[:600]))
        for key in ("issues", "value", "statusCode", "responseBody", "cause"):
            if key in failure and not (key == "cause" and "issues" in failure):
                lines.append(f"    {key}: {json.dumps(failure[key])[:600]}")
    pytest.fail("\n".join(lines))


def _text_parts(message: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(p["type"], p["text"], p.get("state")) for p in message["parts"]
            if p["type"] in ("text", "reasoning")]


async def test_the_ai_sdk_folds_our_stream_into_the_scripted_message_and_replays_it(
    stack: Stack, ai_sdk: AiSdkClient,
) -> None:
    robot = await robot_with_script(stack, Script(text=REPLY, reasoning=REASONING))
    session = new_id("s")
    sent = await ai_sdk.run(stack, session, "--send", "Hello from useChat", "--robot", robot)
    _no_rejections(sent)
    assert sent["streamed"] and sent["errorChunks"] == [] and sent["surfacedErrors"] == []
    response = sent["responses"][0]
    assert response["status"] == 200
    assert response["headers"]["x-vercel-ai-ui-message-stream"] == "v1"
    assert response["headers"]["content-type"].startswith("text/event-stream")
    types = sent["chunkTypes"]
    assert types[:3] == ["start", "start-step", "reasoning-start"]
    assert {"reasoning-delta", "reasoning-end", "text-start", "text-delta", "text-end"} <= set(
        types)
    assert types[-2:] == ["finish-step", "finish"]
    message = sent["message"]
    assert message["role"] == "assistant"
    assert message["id"] == sent["startMessageId"]
    assert _text_parts(message) == [("reasoning", REASONING, "done"), ("text", REPLY, "done")]
    stored = await messages(stack, session)
    assert stored[-1][:2] == (message["id"], "assistant")

    # The AI SDK's resume call on the finished (still buffered) turn replays the same message.
    again = await ai_sdk.run(stack, session, "--resume")
    _no_rejections(again)
    assert again["responses"][0]["url"].endswith(f"/robots/chat/sse/{session}/stream")
    assert again["streamed"] and again["message"]["id"] == message["id"]
    assert _text_parts(again["message"]) == _text_parts(message)


async def test_reconnect_to_stream_follows_a_turn_started_in_the_background(
    stack: Stack, ai_sdk: AiSdkClient,
) -> None:
    # About two seconds of streaming: the client reconnects right after the 202, mid-turn.
    reply = " ".join(f"word{i}" for i in range(40)) + "."
    robot = await robot_with_script(stack, Script(text=reply, reasoning=REASONING,
                                                  tokens_per_second=25))
    session = new_id("s")
    resumed = await ai_sdk.run(stack, session, "--resume", "--background", "go", "--robot", robot)
    _no_rejections(resumed)
    assert resumed["background"]["status"] == 202
    assert resumed["responses"][0]["url"].endswith(f"/robots/chat/sse/{session}/stream")
    assert resumed["streamed"], "reconnectToStream found nothing to resume (204)"
    assert resumed["chunkTypes"][:2] == ["start", "start-step"]
    assert resumed["chunkTypes"][-2:] == ["finish-step", "finish"]
    # The assistant message is named after the turn (the 202's messageId is the user's).
    turn_id = resumed["background"]["body"]["turnId"]
    assert resumed["message"]["id"] == resumed["startMessageId"] == f"msg-{turn_id}"
    assert _text_parts(resumed["message"]) == [("reasoning", REASONING, "done"),
                                               ("text", reply, "done")]
    stored = await messages(stack, session)
    assert stored[-1] == (f"msg-{turn_id}", "assistant", [
        {"type": "reasoning", "text": REASONING}, {"type": "text", "text": reply}])


async def test_a_model_failure_reaches_the_sdk_as_our_error_chunks_text(
    stack: Stack, ai_sdk: AiSdkClient,
) -> None:
    robot = await robot_with_script(stack, Script(text="never sent", fail_status=500))
    result = await ai_sdk.run(stack, new_id("s"), "--send", "hi", "--robot", robot)
    _no_rejections(result)
    assert result["chunkTypes"][-1] == "error"
    [error_text] = result["errorChunks"]
    # readUIMessageStream reports an `error` chunk through onError as Error(errorText).
    assert [e["message"] for e in result["surfacedErrors"]] == [error_text]
    assert "HTTP 500" in error_text and "scripted to fail" in error_text, error_text
    assert _text_parts(result["message"]) == []
