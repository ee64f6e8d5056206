"""What the model is asked: the system prompt (the robot's playbook, or the session's system
template rendered) and the conversation so far, fitted to the session's token budget."""

from __future__ import annotations

from app.adapters.llm import ModelRequest, PromptMessage
from app.domain.events import Part
from app.domain.robots import Robot
from app.domain.session import SessionState, Turn
from app.domain.templates import ENVIRONMENT

# A rough count is enough to fit a budget: about four characters a token, plus framing.
CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4


class PromptError(Exception):
    """The session's settings make a prompt impossible; the message says which and why."""


def text_of(parts: list[Part]) -> str:
    return "".join(p.get("text", "") for p in parts if p.get("type") == "text")


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + TOKENS_PER_MESSAGE


def system_prompt(state: SessionState, robot: Robot) -> str:
    """The session's system template if it has one (rendered unless render_templates is
    off), else the robot's playbook followed by the session's situation."""
    settings = state.settings
    if settings.system_template:
        if not settings.render_templates:
            return settings.system_template
        context = {
            "robot": {"name": robot.name, "description": robot.description,
                      "playbook": robot.playbook},
            "session": {"name": state.name, "situation": settings.situation,
                        "metadata": settings.metadata, "summary": settings.summary},
        }
        try:
            return ENVIRONMENT.from_string(settings.system_template).render(context)
        except Exception as exc:  # a user's template can fail in any way; say so, don't crash
            raise PromptError(f"the session's system_template failed to render: {exc}") from None
    if settings.situation:
        return f"{robot.playbook}\n\nSituation: {settings.situation}"
    return robot.playbook


def history(state: SessionState, turn: Turn) -> list[PromptMessage]:
    """Messages up to and including the one this turn answers (not later queued ones),
    dropping the oldest when the session's token budget asks for it."""
    messages: list[PromptMessage] = []
    for message in state.messages:
        text = text_of(message.parts)
        if text:
            messages.append(PromptMessage(role=message.role, text=text))
        if message.id == turn.message_id:
            break
    budget = state.settings.token_budget
    if budget is None:
        return messages
    kept: list[PromptMessage] = []
    used = 0
    for prompt in reversed(messages):
        cost = estimate_tokens(prompt.text)
        if used + cost > budget and kept:
            if state.settings.context_overflow is None:
                raise PromptError(
                    f"the conversation needs more than its token_budget of {budget} tokens;"
                    " raise the budget or set context_overflow to 'truncate'")
            break
        kept.append(prompt)
        used += cost
    kept.reverse()
    # A conversation starts with the user: drop a leading reply left over by the cut.
    while len(kept) > 1 and kept[0].role == "assistant":
        kept.pop(0)
    return kept


def build_request(state: SessionState, turn: Turn, robot: Robot, model: str,
                  max_tokens: int = 4096) -> ModelRequest:
    return ModelRequest(model=model, system=system_prompt(state, robot),
                        messages=history(state, turn), max_tokens=max_tokens)
