"""Turn one model step's events into AI SDK UI message stream parts, and remember what the
step said (its message parts and tool calls); and the parts of a turn that waits on
answers. Pure bookkeeping, no I/O: the turn's run publishes what this returns.

Tool chunks carry `dynamic: true`: a client that does not know our tools assembles them as
`dynamic-tool` parts, the shape the session's stored message has too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.adapters.llm.events import (
    Finished,
    ModelEvent,
    ReasoningDelta,
    TextDelta,
    ToolInputDelta,
    ToolInputEnded,
    ToolInputStarted,
    UsageReported,
)
from app.domain.events import AwaitedCall, ToolCall, Usage
from app.domain.nul import without_nul
from app.domain.session import Turn
from app.domain.steps import tool_part

Part = dict[str, Any]
# A call's input as an object and why it cannot run (app.domain.tool_input.parse_input).
CheckInput = Callable[[str, str], tuple[dict[str, Any], str | None]]


class StepEncoder:
    def __init__(self, part_prefix: str, check_input: CheckInput) -> None:
        self.prefix = part_prefix  # unique per attempt and step, so ids never collide
        self.check_input = check_input
        self.parts: list[Part] = [{"type": "step-start"}]  # the step as message parts
        self.tool_calls: list[ToolCall] = []
        self.inputs: dict[str, dict[str, Any]] = {}
        self.finish_reason = "stop"
        self.usage = Usage()
        self.saw_output = False
        self._open: tuple[str, str] | None = None  # (kind, part id) of the open text/reasoning
        self._count = 0

    def on_event(self, event: ModelEvent) -> list[Part]:
        match event:
            case TextDelta(text=text):
                return self._delta("text", text)
            case ReasoningDelta(text=text):
                return self._delta("reasoning", text)
            case ToolInputStarted(call_id=cid, name=name):
                self.saw_output = True
                return [*self.close(), {"type": "tool-input-start", "toolCallId": cid,
                                        "toolName": name, "dynamic": True}]
            case ToolInputDelta(call_id=cid, arguments_delta=delta):
                return [{"type": "tool-input-delta", "toolCallId": cid,
                         "inputTextDelta": without_nul(delta)}]
            case ToolInputEnded(call_id=cid, name=name, arguments=arguments):
                return self._tool_call(ToolCall(call_id=cid, name=name,
                                                arguments=without_nul(arguments)))
            case UsageReported(input_tokens=i, output_tokens=o):
                self.usage = Usage(input_tokens=i, output_tokens=o)
            case Finished(reason=reason):
                self.finish_reason = reason
        return []

    def _tool_call(self, call: ToolCall) -> list[Part]:
        tool_input, error = self.check_input(call.name, call.arguments)
        tool_input = without_nul(tool_input)  # from a `\u0000` escape in the arguments
        if error is not None:
            call = ToolCall(call_id=call.call_id, name=call.name, arguments=call.arguments,
                            input_error=error)
        self.tool_calls.append(call)
        self.inputs[call.call_id] = tool_input
        self.parts.append(tool_part(call, tool_input))
        head = {"toolCallId": call.call_id, "toolName": call.name, "input": tool_input,
                "dynamic": True}
        if error is not None:
            return [*self.close(), {"type": "tool-input-error", **head, "errorText": error}]
        return [*self.close(), {"type": "tool-input-available", **head}]

    def close(self) -> list[Part]:
        """End the open text or reasoning part, if any."""
        if self._open is None:
            return []
        kind, pid = self._open
        self._open = None
        return [{"type": f"{kind}-end", "id": pid}]

    def _delta(self, kind: str, text: str) -> list[Part]:
        text = without_nul(text)
        if not text:
            return []
        self.saw_output = True
        out: list[Part] = []
        if self._open is None or self._open[0] != kind:
            out += self.close()
            self._count += 1
            self._open = (kind, f"{self.prefix}-{self._count}")
            self.parts.append({"type": kind, "text": ""})
            out.append({"type": f"{kind}-start", "id": self._open[1]})
        self.parts[-1]["text"] += text
        out.append({"type": f"{kind}-delta", "id": self._open[1], "delta": text})
        return out


def tool_output_part(call_id: str, outcome: str, output: dict[str, Any] | None,
                     error: str | None) -> Part:
    if outcome == "output":
        return {"type": "tool-output-available", "toolCallId": call_id, "output": output or {},
                "dynamic": True}
    return {"type": "tool-output-error", "toolCallId": call_id,
            "errorText": error or "failed", "dynamic": True}


# A waiting turn's parts: the calls it waits on, and after the wait the calls denied.
def approval_requests(awaited: list[AwaitedCall]) -> list[dict[str, Any]]:
    """What the AI SDK shows as a call waiting on a person's yes or no."""
    return [{"type": "tool-approval-request", "approvalId": call.approval_id,
             "toolCallId": call.call_id} for call in awaited if call.kind == "approval"]


def denials(turn: Turn | None) -> list[dict[str, Any]]:
    """A turn going on after its wait first shows the calls it was denied."""
    if turn is None or not turn.segment or not turn.steps:
        return []
    return [{"type": "tool-output-denied", "toolCallId": call.call_id}
            for call in turn.steps[-1].tool_calls
            if (result := turn.result(call.call_id)) is not None and result.outcome == "denied"]
