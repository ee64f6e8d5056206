"""A worker killed while MCP tools run: the next attempt runs a read-only tool again (its
server annotates it `readOnlyHint`) and reports the other's outcome unknown, never running
it twice. A real `robots worker` process is SIGKILLed mid-call; an in-process worker
finishes the turn once the dead worker's lease has run out."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator

import pytest

from app.adapters.llm.local_model import Script
from app.domain.events import ToolCallCompleted, ToolCallStarted, TurnCompleted
from app.domain.steps import UNKNOWN_OUTCOME
from tests.chat.helpers import (
    calls,
    logged,
    scripted_robot,
    start_unwatched,
    wait_turn,
    wait_until,
)
from tests.chat.mcp_stack import call, register, stack_of_its_own
from tests.chat.stack import Stack, doomed_worker, survivor
from tests.mcp_support import mcp_test_server
from tests.services import FoundServices


@pytest.fixture(scope="module")
async def bare(services: FoundServices, template_database: str) -> AsyncIterator[Stack]:
    async with stack_of_its_own(services, template_database, workers=0) as running:
        yield running


async def test_a_cut_off_mcp_call_runs_again_only_if_its_tool_only_reads(bare: Stack) -> None:
    stack = bare
    async with mcp_test_server() as mcp:
        s = await register(stack, mcp)
        robot, model = await scripted_robot(stack, tools=(f"mcp:{s}:lookup", f"mcp:{s}:record"))
        read, lookup = call(f"{s}_lookup", {"key": "k"})
        write, record = call(f"{s}_record", {"key": "k"})
        stack.model.enqueue_for_model(model, calls(lookup, record), Script(text="Done."))
        mcp.gate.clear()  # both calls reach the server and wait there
        session, turn_id = await start_unwatched(stack, robot)

        async def both_running() -> bool:
            return sorted(name for name, _ in mcp.calls) == ["lookup", "record"]

        async with doomed_worker(stack) as pid:
            await wait_until(both_running, "both calls running on the MCP server")
            os.kill(pid, signal.SIGKILL)
        mcp.gate.set()
        async with survivor(stack):
            assert (await wait_turn(stack, turn_id, timeout=30))["status"] == "completed"

    events = await logged(stack, session)
    assert [(e.call_id, e.attempt) for e in events if isinstance(e, ToolCallStarted)] == [
        (read, 1), (write, 1)]
    completed = {e.call_id: (e.attempt, e.outcome, e.output, e.error) for e in events
                 if isinstance(e, ToolCallCompleted)}
    assert completed == {
        read: (2, "output", {"result": "value of k"}, None),
        write: (2, "error", None, UNKNOWN_OUTCOME.format(name=f"{s}_record"))}
    assert sorted(name for name, _ in mcp.calls) == ["lookup", "lookup", "record"]
    assert sum(isinstance(e, TurnCompleted) for e in events) == 1
