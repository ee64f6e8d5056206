"""The real AI SDK client, majors 6 and 7, as a pytest fixture: what it assembles is what counts.

tests/e2e/ai_sdk/chat-client.mjs posts a chat the way useChat does (DefaultChatTransport, the
SDK's own chunk schema) or reconnects to one (`reconnectToStream`, GET {api}/{chatId}/stream)
and folds the chunks with `readUIMessageStream`, with `ai` 6 or 7 (`--ai`; both are installed
side by side under the npm aliases `ai6` and `ai7`). The node project is installed once per
package.json/lock into ~/.cache/robots-test-ai-sdk/, outside the repository.
tests/e2e/ai_sdk/waiting-client.mjs (`answer_waiting`) drives the SDK's Chat through a turn
that waits on it: addToolApprovalResponse / addToolOutput, posted by sendAutomaticallyWhen.
tests/e2e/ai_sdk/conversation-client.mjs (`converse`) sends a message through the Chat and
regenerates its answer, keeping the data parts onData received.

    async def test_x(stack: Stack, ai_sdk: AiSdkClient) -> None:   # runs once per major
        result = await ai_sdk.send(stack, session, "Hi", robot=robot)
        assert_no_rejections(result)
        result["parts"]  # every part of the assembled message; tool parts with toolName, ...

The `ai_sdk` fixture (parametrized over AI_SDK_MAJORS, ids "ai6" and "ai7") and
`ai_sdk_project` are registered for tests/e2e by its conftest.py, with the module-scoped
`stack` they run against.
"""

from __future__ import annotations

import asyncio
import functools
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.chat.stack import Stack
from tests.npm_projects import cache_root, content_digest, copied_into, install
from tests.services import cannot_check

AI_SDK_MAJORS = ("6", "7")
"""The `ai` majors the client runs with; package.json installs `ai<major>` for each."""

PROJECT = Path(__file__).parent / "ai_sdk"
SCRIPT = PROJECT / "chat-client.mjs"
WAITING_SCRIPT = PROJECT / "waiting-client.mjs"
CONVERSATION_SCRIPT = PROJECT / "conversation-client.mjs"
MANIFESTS = ("package.json", "package-lock.json")
CLIENT_TIMEOUT_S = 30


@dataclass(frozen=True)
class AiSdkProject:
    """The installed node project: node, and copies of chat-client.mjs,
    waiting-client.mjs and conversation-client.mjs inside the project."""

    node: str
    script: Path
    waiting_script: Path
    conversation_script: Path


class AiSdkClient:
    """Runs chat-client.mjs with one major of the `ai` package."""

    def __init__(self, project: AiSdkProject, major: str) -> None:
        self.project = project
        self.major = major

    def __repr__(self) -> str:
        return f"AiSdkClient(ai{self.major})"

    async def send(self, stack: Stack, session: str, text: str, *,
                   robot: str | None = None, **flags: str) -> dict[str, Any]:
        """Post `text` as useChat does (sendMessages) and fold the streamed reply."""
        return await self.run(stack, session, "--send", text, *_options(robot, flags))

    async def resume(self, stack: Stack, session: str, *, background: str | None = None,
                     robot: str | None = None, **flags: str) -> dict[str, Any]:
        """reconnectToStream on the session; with `background`, first start a turn unwatched."""
        started = ("--background", background) if background is not None else ()
        return await self.run(stack, session, "--resume", *started, *_options(robot, flags))

    async def answer_waiting(self, stack: Stack, session: str, text: str, *, robot: str,
                             answer: tuple[str, ...]) -> dict[str, Any]:
        """Send `text` through the SDK's Chat, answer the call its turn waits on with
        `answer` (("--approve",), ("--deny", "--reason", why) or ("--output", json)) and let
        sendAutomaticallyWhen post it (see waiting-client.mjs)."""
        return await self.run(stack, session, "--send", text, "--robot", robot, *answer,
                              script=self.project.waiting_script)

    async def converse(self, stack: Stack, session: str, text: str, *, robot: str,
                       regenerate_by_id: bool = False) -> dict[str, Any]:
        """Send `text` through the SDK's Chat, then `regenerate()` its answer (by the
        answer's id with `regenerate_by_id`): see conversation-client.mjs."""
        flags = ("--regenerate-id",) if regenerate_by_id else ()
        return await self.run(stack, session, "--send", text, "--robot", robot, *flags,
                              script=self.project.conversation_script)

    async def run(self, stack: Stack, session: str, *args: str,
                  script: Path | None = None) -> dict[str, Any]:
        """Run the client (chat-client.mjs unless `script`) with raw arguments; its JSON
        result."""
        script = script or self.project.script
        process = await asyncio.create_subprocess_exec(
            self.project.node, str(script), "--ai", self.major,
            "--base", stack.api_urls[0], "--token", stack.token, "--session", session,
            "--timeout-ms", str(CLIENT_TIMEOUT_S * 1000), *args,
            cwd=script.parent, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(process.communicate(), CLIENT_TIMEOUT_S + 5)
        except TimeoutError:
            process.kill()
            await process.wait()
            pytest.fail(f"the AI SDK client (ai{self.major}) did not finish within"
                        f" {CLIENT_TIMEOUT_S + 5} s")
        try:
            result: dict[str, Any] = json.loads(out)
        except ValueError:
            pytest.fail(f"the AI SDK client (ai{self.major}) printed no result"
                        f" (exit {process.returncode}):\n"
                        f"{out.decode(errors='replace')}\n{err.decode(errors='replace')}")
        return result


def _options(robot: str | None, flags: dict[str, str]) -> list[str]:
    # message_id="m1" -> --message-id m1
    named = {"robot": robot, **flags}
    return [arg for key, value in named.items() if value is not None
            for arg in (f"--{key.replace('_', '-')}", value)]


def chunk_types(parsed: dict[str, Any]) -> list[str]:
    """The chunk types the client parsed (`parsed`: a result or one of its requests), but
    the session's name: a first turn's stream carries it before `finish` once the naming
    call (timed by itself) is done, which no test of the turn's own chunks is about."""
    return [t for t in parsed["chunkTypes"] if t != "data-session-name"]


def assert_no_rejections(result: dict[str, Any]) -> None:
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


def text_parts(result: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(type, text, state) of the assembled message's text and reasoning parts."""
    return [(p["type"], p["text"], p.get("state")) for p in result["parts"]
            if p["type"] in ("text", "reasoning")]


def tool_parts(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The assembled message's tool parts (`tool-<name>` and `dynamic-tool`), as the SDK has
    them, with toolName, input, output and errorText always present (None when unset)."""
    return [p for p in result["parts"]
            if p["type"] == "dynamic-tool" or p["type"].startswith("tool-")]


TOOL_FIELDS = ("type", "toolCallId", "toolName", "state", "input", "output", "errorText")


def comparable(part: dict[str, Any]) -> dict[str, Any]:
    """What the client and the store must agree on for one part. The client marks text
    `state: done` and gives tool parts every field (null when unset); a static tool's
    refused input would be in v6's `rawInput`."""
    kind = part["type"]
    if kind in ("text", "reasoning"):
        return {"type": kind, "text": part["text"]}
    if kind == "dynamic-tool" or kind.startswith("tool-"):
        out = {field: part.get(field) for field in TOOL_FIELDS}
        if out["input"] is None:
            out["input"] = part.get("rawInput")
        return out
    return {"type": kind}


def _installed(target: Path) -> bool:
    return all((target / "node_modules" / f"ai{major}" / "package.json").exists()
               for major in AI_SDK_MAJORS)


@functools.cache
def install_ai_sdk_project() -> AiSdkProject:
    """The node project, installed on first use (without node and npm the test skips, or
    under CI fails)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        cannot_check("node and npm are needed to run the AI SDK client (the `ai` npm package)")
    manifests = [PROJECT / name for name in MANIFESTS if (PROJECT / name).exists()]
    target = cache_root("robots-test-ai-sdk") / content_digest(manifests)
    if not _installed(target):
        # `ai` 7 declares node >= 22; it runs on the node 20 these machines have.
        install(npm, PROJECT, MANIFESTS, target, flags=["--engine-strict=false"],
                what="the AI SDK client")
    # The scripts import each other by name: they are copied together.
    scripts = copied_into(target, sorted(PROJECT.glob("*.mjs")), "scripts")
    return AiSdkProject(node, scripts / SCRIPT.name, scripts / WAITING_SCRIPT.name,
                        scripts / CONVERSATION_SCRIPT.name)


@pytest.fixture(scope="session")
def ai_sdk_project() -> AiSdkProject:
    """Request it from a stack fixture so a first-run npm install happens before the stack."""
    return install_ai_sdk_project()


@pytest.fixture(params=AI_SDK_MAJORS, ids=[f"ai{major}" for major in AI_SDK_MAJORS])
def ai_sdk(request: pytest.FixtureRequest, ai_sdk_project: AiSdkProject) -> AiSdkClient:
    """The AI SDK client; a test that uses it runs once with `ai` 6 and once with `ai` 7."""
    return AiSdkClient(ai_sdk_project, request.param)
