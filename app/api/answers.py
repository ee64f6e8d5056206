"""An assistant message posted back to the chat endpoint: the client's answers to the
calls its turn waits on, as the AI SDK sends them (`addToolApprovalResponse` sets a tool
part to `approval-responded`, `addToolOutput` to `output-available` / `output-error`, and
`sendAutomaticallyWhen` posts the whole message)."""

from __future__ import annotations

from typing import Any

from app.api.problems import ProblemError
from app.domain.decisions import CallAnswer

_ANSWERING = {"approval-responded", "output-available", "output-error"}


def _is_tool_part(part: dict[str, Any]) -> bool:
    kind = part.get("type")
    return isinstance(kind, str) and (kind == "dynamic-tool" or kind.startswith("tool-"))


def answers_in(parts: list[dict[str, Any]]) -> list[CallAnswer]:
    """The answers a message's tool parts carry. Raises ProblemError (400) for a part that
    names no call or an approval without its id."""
    answers: list[CallAnswer] = []
    for index, part in enumerate(parts):
        state = part.get("state")
        if not _is_tool_part(part) or state not in _ANSWERING:
            continue
        call_id = part.get("toolCallId")
        if not isinstance(call_id, str) or not call_id:
            raise _invalid(index, "toolCallId", "a tool part needs its toolCallId")
        if state == "approval-responded":
            approval = part.get("approval")
            if not isinstance(approval, dict) or not isinstance(approval.get("id"), str):
                raise _invalid(index, "approval", "an approval-responded part needs"
                               " approval: {id, approved, reason?}")
            reason = approval.get("reason")
            answers.append(CallAnswer(call_id=call_id, kind="approval",
                                      approval_id=approval["id"],
                                      approved=approval.get("approved") is True,
                                      reason=reason if isinstance(reason, str) else None))
        elif state == "output-available":
            answers.append(CallAnswer(call_id=call_id, kind="output",
                                      output=part.get("output")))
        else:
            text = part.get("errorText")
            answers.append(CallAnswer(call_id=call_id, kind="error",
                                      error=text if isinstance(text, str) else None))
    return answers


def _invalid(index: int, field: str, detail: str) -> ProblemError:
    return ProblemError(400, detail, slug="invalid-request",
                        metadata={"field": f"messages[-1].parts[{index}].{field}"})
