"""Long sessions with context_overflow "adaptive": the oldest messages are summarised in the
background (SessionSummarised) by the robot's model, and later prompts hold the summary and the
recent messages; a turn that needs a summary before one is ready truncates and says so.
Checked against what the model server received, in both wire formats."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.adapters.llm.local_model import summary_of
from app.domain.events import SessionSummarised, StepCompleted
from tests.chat.helpers import client_as, logged, model_requests, new_id, scripted_robot, wait_until
from tests.chat.sse import chat_body, read_all
from tests.chat.stack import Stack
from workers.turns.prompt import SUMMARY_HEADING

# A plain exchange here is about 66 tokens by the prompt's estimate (a 12-token question, the
# local model's 32-word reply), the robot's playbook 6: past 80% of 400 after five of them.
BUDGET = 400


class Said:
    """What one model request held, in either wire format: the system prompt, the texts in
    order, and the ids of the tool calls and of the results."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.system: str = body.get("system") or ""
        self.texts: list[str] = []
        self.calls: list[str] = []
        self.results: list[str] = []
        self.roles: list[str] = []
        for message in body["messages"]:
            role, content = message["role"], message.get("content")
            if role == "system":
                self.system = content
                continue
            self.roles.append(role)
            if role == "tool":  # OpenAI: one message per result
                self.results.append(message["tool_call_id"])
                continue
            self.calls += [c["id"] for c in message.get("tool_calls") or []]
            blocks = content if isinstance(content, list) else [
                {"type": "text", "text": content or ""}]
            for block in blocks:
                if block["type"] == "text" and block["text"]:
                    self.texts.append(block["text"])
                elif block["type"] == "tool_use":
                    self.calls.append(block["id"])
                elif block["type"] == "tool_result":
                    self.results.append(block["tool_use_id"])


def turn_prompts(stack: Stack, model: str) -> list[Said]:
    return [Said(b) for b in model_requests(stack, model) if b.get("stream") is True]


def summary_requests(stack: Stack, model: str) -> list[dict[str, Any]]:
    return [b for b in model_requests(stack, model) if b.get("stream") is not True]


def transcript_of(body: dict[str, Any]) -> str:
    """The one user message of a summary request."""
    [transcript] = Said(body).texts
    return transcript


async def ask(stack: Stack, session: str, text: str, robot: str) -> tuple[str, str]:
    """Post a question and read its whole reply: (question id, reply id)."""
    message_id = new_id("m")
    async with client_as(stack, stack.token) as client, client.stream(
        "POST", "/robots/chat/sse", json=chat_body(session, message_id, text, robotId=robot)
    ) as response:
        assert response.status_code == 200, await response.aread()
        frames = await read_all(response)
    assert frames[-1].data == "[DONE]"
    start = next(f.data for f in frames if isinstance(f.data, dict) and f.data["type"] == "start")
    return message_id, start["messageId"]


async def patch(stack: Stack, session: str, **changes: Any) -> dict[str, Any]:
    async with stack.client() as client:
        answer = await client.patch(f"/robots/sessions/{session}", json=changes)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def shown_summary(stack: Stack, session: str) -> str | None:
    async with stack.client() as client:
        return (await client.get(f"/robots/sessions/{session}")).json().get("summary")  # type: ignore[no-any-return]


async def summaries(stack: Stack, session: str) -> list[SessionSummarised]:
    return [e for e in await logged(stack, session) if isinstance(e, SessionSummarised)]


async def summarised(stack: Stack, session: str, count: int = 1) -> SessionSummarised:
    """Wait for the session's `count`-th summary."""

    async def made() -> bool:
        return len(await summaries(stack, session)) >= count

    await wait_until(made, f"summary {count} of {session}", timeout=20)
    return (await summaries(stack, session))[count - 1]


async def grown(stack: Stack, robot: str, questions: list[str],
                **options: Any) -> tuple[str, list[tuple[str, str]]]:
    """A session whose options are set after its first exchange, then asked the rest."""
    session = new_id("s")
    asked = [await ask(stack, session, questions[0], robot)]
    await patch(stack, session, **options)
    for question in questions[1:]:
        asked.append(await ask(stack, session, question, robot))
    return session, asked


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_past_its_budget_an_adaptive_session_is_summarised_and_prompts_hold_the_summary(
    stack: Stack, provider: str
) -> None:
    robot, model = await scripted_robot(stack, provider=provider)
    questions = [f"question {i} about the garden party" for i in range(5)]
    session, asked = await grown(stack, robot, questions, token_budget=BUDGET,
                                 context_overflow="adaptive")

    made = await summarised(stack, session)

    # The four oldest exchanges, by the robot's model, in one call that was not streamed.
    assert (made.first_message_id, made.last_message_id, made.messages) == (
        asked[0][0], asked[3][1], 8)
    assert made.model == f"{provider}/{model}"
    [request] = summary_requests(stack, model)
    transcript = transcript_of(request)
    assert [line.split(":")[0] for line in transcript.splitlines()] == ["User", "Assistant"] * 4
    assert "question 3" in transcript and "question 4" not in transcript
    assert made.summary == summary_of(transcript)  # the local model's, deterministically
    assert await shown_summary(stack, session) == made.summary

    await ask(stack, session, "question 5 about the garden party", robot)

    prompt = turn_prompts(stack, model)[-1]
    assert prompt.system.endswith(f"{SUMMARY_HEADING}\n{made.summary}")
    assert [t.split(":")[-1].split(" about")[0].strip() for t in prompt.texts
            if "question" in t and not t.startswith("Hello")] == ["question 4", "question 5"]
    assert len(prompt.texts) == 3  # question 4, its reply, question 5


async def test_a_tool_call_and_its_result_are_summarised_together_or_kept_together(
    stack: Stack,
) -> None:
    robot, model = await scripted_robot(stack, tools=("current_time",))
    questions = [f"what time is it now, asks person {i}" for i in range(8)]
    session, _ = await grown(stack, robot, questions, token_budget=300,
                             context_overflow="adaptive")
    await summarised(stack, session)
    await quiet(stack, session)
    last_summary = summary_requests(stack, model)[-1]

    await ask(stack, session, "what time is it now, asks the last person", robot)

    lines = transcript_of(last_summary).splitlines()
    summarised_calls = sum(line.startswith("Assistant called current_time") for line in lines)
    summarised_results = sum(line.startswith("Tool current_time answered") for line in lines)
    assert summarised_calls == summarised_results >= 1
    prompt = turn_prompts(stack, model)[-2]  # the last question's first step
    assert prompt.calls == prompt.results and len(prompt.calls) >= 1
    assert prompt.roles[0] == "user"


async def quiet(stack: Stack, session: str) -> None:
    """Wait until no summary has been added for half a second (a job takes ~50 ms)."""
    count = len(await summaries(stack, session))
    for _ in range(40):
        await asyncio.sleep(0.5)
        if count == (count := len(await summaries(stack, session))):
            return
    raise AssertionError(f"summaries of {session} kept coming")


async def asked_until_summarised(stack: Stack, session: str, robot: str, count: int,
                                 first: int) -> int:
    """Ask `question <n> about the rota` from n = `first` on until the session has `count`
    summaries (each given half a second to come); the next n."""
    n = first
    while len(await summaries(stack, session)) < count:
        assert n < first + 15, f"no summary {count} after {n - first} more questions"
        await ask(stack, session, f"question {n} about the rota", robot)
        n += 1
        for _ in range(10):
            if len(await summaries(stack, session)) >= count:
                break
            await asyncio.sleep(0.05)
    return n


async def test_a_summary_set_by_hand_wins_until_the_next_automatic_one(stack: Stack) -> None:
    robot, model = await scripted_robot(stack)
    session, _ = await grown(stack, robot, ["question 0 about the rota"], token_budget=BUDGET,
                             context_overflow="adaptive")
    n = await asked_until_summarised(stack, session, robot, 1, first=1)
    [first] = await summaries(stack, session)

    await patch(stack, session, summary="Hand notes: the rota is settled.")
    assert await shown_summary(stack, session) == "Hand notes: the rota is settled."
    await ask(stack, session, f"question {n} about the rota", robot)
    prompt = turn_prompts(stack, model)[-1]
    assert prompt.system.endswith(f"{SUMMARY_HEADING}\nHand notes: the rota is settled.")
    assert first.summary not in prompt.system

    await asked_until_summarised(stack, session, robot, 2, first=n + 1)
    second = (await summaries(stack, session))[1]

    assert second.messages > first.messages
    assert transcript_of(summary_requests(stack, model)[1]).startswith(
        "Summary so far: Hand notes: the rota is settled.\n")
    await quiet(stack, session)
    latest = (await summaries(stack, session))[-1]
    assert await shown_summary(stack, session) == latest.summary
    await ask(stack, session, "one more question about the rota", robot)
    assert turn_prompts(stack, model)[-1].system.endswith(f"{SUMMARY_HEADING}\n{latest.summary}")


async def step_of_last_turn(stack: Stack, session: str) -> StepCompleted:
    return [e for e in await logged(stack, session) if isinstance(e, StepCompleted)][-1]


async def test_a_turn_that_needs_a_summary_before_one_is_ready_truncates_and_says_so(
    stack: Stack,
) -> None:
    robot, model = await scripted_robot(stack)
    questions = [f"question {i} about the newsletter" for i in range(4)]
    session, _ = await grown(stack, robot, questions)  # no budget yet: nothing to summarise
    await patch(stack, session, token_budget=150, context_overflow="adaptive")

    await ask(stack, session, "question 4 about the newsletter", robot)

    step = await step_of_last_turn(stack, session)
    prompt = turn_prompts(stack, model)[-1]
    assert step.history_truncated == 9 - len(prompt.texts) > 0
    assert SUMMARY_HEADING not in prompt.system and "question 0" not in " ".join(prompt.texts)
    # Then it is summarised, in the background, for the turns after it.
    await summarised(stack, session)


async def test_truncate_drops_the_oldest_messages_and_never_summarises(stack: Stack) -> None:
    robot, model = await scripted_robot(stack)
    questions = [f"question {i} about the bake sale" for i in range(7)]
    session, _ = await grown(stack, robot, questions, token_budget=250,
                             context_overflow="truncate")

    step = await step_of_last_turn(stack, session)
    prompt = turn_prompts(stack, model)[-1]
    assert step.history_truncated == 13 - len(prompt.texts) > 0
    assert prompt.texts[-1] == "question 6 about the bake sale"
    await asyncio.sleep(1.0)  # a summary would have been made well within this (see above)
    assert await summaries(stack, session) == [] and summary_requests(stack, model) == []
    assert SUMMARY_HEADING not in prompt.system
