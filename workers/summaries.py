"""Summarising a session in the background (context_overflow "adaptive"): an arq task queued
after each of its turns (app/services/reactions.py), so no turn waits for a summary. What to
summarise, and when, is workers/turns/summary_plan.py; a turn that needs one before it is
ready truncates instead, and its StepCompleted says how many messages it left out."""

from __future__ import annotations

import logging
from typing import Any

from app.adapters.llm import ModelError
from app.domain import decisions
from app.eventstore import EventMetadata
from workers.deps import WorkerDeps
from workers.turns.prompt import PromptError, system_prompt
from workers.turns.summary_plan import plan_summary, summary_request

log = logging.getLogger(__name__)


async def summarise_session(ctx: dict[str, Any], session_id: str) -> str:
    """arq task: summarise the session's oldest messages if its next prompt nears its token
    budget. Safe to run twice, late or side by side: the log keeps a summary only when it
    covers more than the last one."""
    deps: WorkerDeps = ctx["deps"]
    state = await deps.handler.load(session_id)
    if not state.exists or state.deleted:
        return "no such session"
    # The robot that answers next: its model summarises, its playbook is the system prompt
    # the summary must leave room for.
    robot = await deps.services.robots.answering(state.robot_id)
    try:
        plan = plan_summary(state, system_prompt(state, robot))
    except PromptError:  # its turns fail and say why; nothing to summarise for
        return "the system prompt does not render"
    if plan is None:
        return "not needed"
    ref = deps.models.resolve(robot.model)
    try:
        text = await deps.models.provider(ref).complete(summary_request(plan, ref.model))
    except ModelError as exc:  # the next turn's ending asks again
        log.warning("session %s: summarising failed, turns truncate meanwhile: %s",
                    session_id, exc)
        return "the model failed"
    command = decisions.RecordSummary(
        session_id=session_id, summary=text.strip(), first_message_id=plan.first_message_id,
        last_message_id=plan.last_message_id, messages=plan.messages, model=str(ref))
    outcome = await deps.handler.execute(
        session_id, lambda s: decisions.record_summary(s, command),
        metadata=EventMetadata(actor=f"worker:{deps.worker_id}",
                               correlation_id=f"summarise:{session_id}"))
    return "summarised" if outcome.events else "covered already"
