"""Turn model events into AI SDK UI message stream parts, and remember the final message.

Pure bookkeeping, no I/O: the turn runner publishes what this returns.
"""

from __future__ import annotations

import json
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

Part = dict[str, Any]


class UIStreamEncoder:
    def __init__(self, message_id: str, part_prefix: str) -> None:
        self.message_id = message_id
        self.prefix = part_prefix  # unique per attempt, so a retry's parts never collide
        self.parts: list[Part] = []  # the message as UI message parts
        self.finish_reason = "stop"
        self.usage = (0, 0)
        self.saw_output = False
        self._open: tuple[str, str] | None = None  # (kind, part id) of the open text/reasoning
        self._count = 0

    def start(self) -> list[Part]:
        return [{"type": "start", "messageId": self.message_id}, {"type": "start-step"}]

    def on_event(self, event: ModelEvent) -> list[Part]:
        match event:
            case TextDelta(text=text):
                return self._delta("text", text)
            case ReasoningDelta(text=text):
                return self._delta("reasoning", text)
            case ToolInputStarted(call_id=cid, name=name):
                return [*self._close(), {"type": "tool-input-start", "toolCallId": cid,
                                         "toolName": name}]
            case ToolInputDelta(call_id=cid, arguments_delta=delta):
                return [{"type": "tool-input-delta", "toolCallId": cid,
                         "inputTextDelta": delta}]
            case ToolInputEnded(call_id=cid, name=name, arguments=arguments):
                tool_input = _json_or_text(arguments)
                self.parts.append({"type": f"tool-{name}", "toolCallId": cid,
                                   "state": "input-available", "input": tool_input})
                return [{"type": "tool-input-available", "toolCallId": cid, "toolName": name,
                         "input": tool_input}]
            case UsageReported(input_tokens=i, output_tokens=o):
                self.usage = (i, o)
            case Finished(reason=reason):
                self.finish_reason = reason
        return []

    def close(self, outcome: str) -> list[Part]:
        """What closes an attempt's stream before its ending part (sent after the commit by
        the reactions): the open text or reasoning, and for a completed turn its step."""
        step = [{"type": "finish-step"}] if outcome == "completed" else []
        return [*self._close(), *step]

    def _delta(self, kind: str, text: str) -> list[Part]:
        if not text:
            return []
        self.saw_output = True
        out: list[Part] = []
        if self._open is None or self._open[0] != kind:
            out += self._close()
            self._count += 1
            self._open = (kind, f"{self.prefix}-{self._count}")
            self.parts.append({"type": kind, "text": ""})
            out.append({"type": f"{kind}-start", "id": self._open[1]})
        self.parts[-1]["text"] += text
        out.append({"type": f"{kind}-delta", "id": self._open[1], "delta": text})
        return out

    def _close(self) -> list[Part]:
        if self._open is None:
            return []
        kind, pid = self._open
        self._open = None
        return [{"type": f"{kind}-end", "id": pid}]


def _json_or_text(arguments: str) -> Any:
    try:
        return json.loads(arguments) if arguments else {}
    except json.JSONDecodeError:
        return arguments
