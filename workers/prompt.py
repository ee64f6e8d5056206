"""What the model is asked: the robot's playbook and the conversation so far."""

from __future__ import annotations

from app.domain.events import Part
from app.domain.session import SessionState, Turn
from app.robots import Robot
from workers.providers import ModelRequest, PromptMessage


def text_of(parts: list[Part]) -> str:
    return "".join(p.get("text", "") for p in parts if p.get("type") == "text")


def build_request(state: SessionState, turn: Turn, robot: Robot, model: str,
                  max_tokens: int = 4096) -> ModelRequest:
    """History up to and including the message this turn answers (not later queued ones)."""
    messages: list[PromptMessage] = []
    for message in state.messages:
        text = text_of(message.parts)
        if text:
            messages.append(PromptMessage(role=message.role, text=text))
        if message.id == turn.message_id:
            break
    return ModelRequest(model=model, system=robot.playbook, messages=messages,
                        max_tokens=max_tokens)
