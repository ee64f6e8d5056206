"""A waiting turn lives in the log, not in a process: stop everything, start it again, and
answer through another API instance."""

from __future__ import annotations

import asyncio
import json
import uuid

from app.adapters.llm.local_model import Script, ScriptedToolCall
from tests.chat.sse import chat_body, read_all, text_of
from tests.faults.stack import ProcessStack


async def test_a_waiting_turn_is_answered_through_another_instance_after_a_restart(
        faulty: ProcessStack) -> None:
    async with faulty.client() as client:
        victim = (await client.post("/robots", json={
            "name": f"victim-{uuid.uuid4().hex[:8]}", "description": "",
            "playbook": "x"})).json()["id"]
    robot = await faulty.robot(
        Script(text="", tool_calls=(ScriptedToolCall(
            name="robot_delete", call_id="call-del",
            arguments=json.dumps({"robot_id": victim})),)),
        Script(text="It is gone."), tools=("robot_delete",))
    session = f"s-{uuid.uuid4().hex[:12]}"
    async with faulty.client() as client, client.stream("POST", "/robots/chat/sse", json=chat_body(
            session, f"m-{uuid.uuid4().hex[:12]}", "delete it", robotId=robot)) as response:
        first = await read_all(response)
    request = next(f.data for f in first
                   if f.data != "[DONE]" and f.data["type"] == "tool-approval-request")
    message_id = first[0].data["messageId"]

    await asyncio.to_thread(faulty.stop)  # every process: web, worker, projector
    await faulty.start_processes()
    other = await faulty.another_api()
    answer = {"id": session, "trigger": "submit-message", "messageId": message_id,
              "messages": [{"id": message_id, "role": "assistant", "parts": [
                  {"type": "dynamic-tool", "toolName": "robot_delete",
                   "toolCallId": "call-del", "state": "approval-responded", "input": {},
                   "approval": {"id": request["approvalId"], "approved": True}}]}]}
    async with faulty.client(url=other) as client, client.stream(
            "POST", "/robots/chat/sse", json=answer) as response:
        assert response.status_code == 200
        second = await read_all(response)
    assert second[0].data == {"type": "start", "messageId": message_id}
    assert text_of(second) == "It is gone."
    async with faulty.client(url=other) as client:
        gone = await client.get(f"/robots/{victim}")
    assert gone.status_code == 404
    assert {status for status, _ in faulty.turns().values()} == {"completed"}
    assert faulty.exited() == {}
