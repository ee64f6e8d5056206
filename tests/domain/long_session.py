"""A long session stream holding every kind of event, as turns really write them: plain
answers, tool steps, retried attempts, approvals and client tools that wait and resume,
cancels, failures, queued turns, robot switches, settings changes and summaries.

Deterministic for a seed. What folds it must get all of it right, so the snapshot tests
fold this and not the five events of a plain exchange.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from app.domain.events import (
    AssistantMessageCompleted,
    AwaitedCall,
    MessagePosted,
    Multitask,
    Part,
    RobotSwitched,
    SessionDeleted,
    SessionForked,
    SessionNamed,
    SessionRenamed,
    SessionSettingsChanged,
    SessionStarted,
    SessionSummarised,
    StepCompleted,
    ToolApprovalAnswered,
    ToolCall,
    ToolCallCompleted,
    ToolCallStarted,
    TurnBeganWaiting,
    TurnCancelled,
    TurnCancelRequested,
    TurnCompleted,
    TurnFailed,
    TurnRequested,
    TurnResumed,
    TurnStarted,
    Usage,
)
from app.eventstore import Event

SESSION = "long"
ROBOTS = ("robot-a", "robot-b")


def text(words: str) -> list[Part]:
    return [{"type": "text", "text": words}]


class _Writer:
    """Writes one exchange after another, as the API and workers would."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.events: list[Event] = []
        self.n = 0
        self.robot = ROBOTS[0]
        self.messages = 0
        self.pending: list[str] = []  # turns queued behind a waiting one

    def ask(self, n: int, multitask: Multitask = "reject") -> tuple[str, str]:
        mid, tid = f"u{n}", f"t{n}"
        self.events += [
            MessagePosted(session_id=SESSION, message_id=mid, parts=text(f"question {n}"),
                          author_id="alice"),
            TurnRequested(session_id=SESSION, turn_id=tid, message_id=mid, robot_id=self.robot,
                          requested_by="alice", multitask=multitask),
        ]
        self.messages += 1
        return mid, tid

    def start(self, tid: str, attempt: int = 1) -> None:
        self.events.append(TurnStarted(turn_id=tid, attempt=attempt, worker_id="w",
                                       robot_id=self.robot, robot_name="Robot",
                                       model="local/echo", playbook_digest="d"))

    def step(self, tid: str, step: int, calls: list[ToolCall], attempt: int = 1) -> None:
        parts: list[Part] = [{"type": "step-start"}, *text(f"step {step} of {tid}")]
        parts += [{"type": "dynamic-tool", "toolCallId": c.call_id, "toolName": c.name,
                   "state": "input-available", "input": {"n": step}} for c in calls]
        self.events.append(StepCompleted(
            turn_id=tid, attempt=attempt, step=step, parts=parts, tool_calls=calls,
            usage=Usage(input_tokens=10 * step, output_tokens=step),
            finish_reason="tool-calls" if calls else "stop"))

    def run_tool(self, tid: str, call: ToolCall, attempt: int = 1) -> None:
        self.events += [
            ToolCallStarted(turn_id=tid, attempt=attempt, call_id=call.call_id, name=call.name),
            ToolCallCompleted(turn_id=tid, attempt=attempt, call_id=call.call_id,
                              name=call.name, outcome="output", output={"ok": call.call_id}),
        ]

    def reply(self, tid: str, words: str) -> None:
        self.events.append(AssistantMessageCompleted(
            turn_id=tid, message_id=f"msg-{tid}", parts=text(words), robot_id=self.robot,
            robot_name="Robot", model="local/echo", usage=Usage(output_tokens=3)))
        self.messages += 1

    def complete(self, tid: str, attempt: int = 1) -> None:
        self.events.append(TurnCompleted(turn_id=tid, attempt=attempt, finish_reason="stop",
                                         time_to_first_token_ms=12.5, duration_ms=40.0))

    # One exchange of each kind -----------------------------------------------------------

    def plain(self, n: int) -> None:
        _, tid = self.ask(n)
        self.start(tid)
        self.reply(tid, f"answer {n}")
        self.complete(tid)

    def tools(self, n: int) -> None:
        _, tid = self.ask(n)
        self.start(tid)
        for step in range(1, self.rng.randint(2, 4)):
            calls = [ToolCall(call_id=f"{tid}-s{step}-c{i}", name="current_time",
                              arguments="{}") for i in range(self.rng.randint(1, 3))]
            self.step(tid, step, calls)
            for call in calls:
                self.run_tool(tid, call)
        self.step(tid, 9, [])
        self.reply(tid, f"tools answered {n}")
        self.complete(tid)

    def retried(self, n: int) -> None:
        """The first worker died after a step; the second attempt goes on from it."""
        _, tid = self.ask(n)
        self.start(tid)
        call = ToolCall(call_id=f"{tid}-c", name="robot_get", arguments='{"robot_id": "x"}')
        self.step(tid, 1, [call])
        self.events.append(ToolCallStarted(turn_id=tid, attempt=1, call_id=call.call_id,
                                           name=call.name))
        self.start(tid, attempt=2)
        self.events.append(ToolCallCompleted(turn_id=tid, attempt=2, call_id=call.call_id,
                                             name=call.name, outcome="error", error="unknown"))
        self.reply(tid, f"retried {n}")
        self.complete(tid, attempt=2)

    def waits(self, n: int) -> None:
        """An approval and a client tool: the turn waits, is answered, and goes on in the
        same assistant message (stored again: the last one stands)."""
        _, tid = self.ask(n)
        self.start(tid)
        approve = ToolCall(call_id=f"{tid}-a", name="robot_delete", arguments="{}")
        client = ToolCall(call_id=f"{tid}-k", name="pick_colour", arguments="{}")
        self.step(tid, 1, [approve, client])
        self.events.append(TurnBeganWaiting(turn_id=tid, attempt=1, calls=[
            AwaitedCall(call_id=approve.call_id, name=approve.name, kind="approval",
                        approval_id=f"ap-{tid}"),
            AwaitedCall(call_id=client.call_id, name=client.name, kind="client")]))
        self.reply(tid, f"waiting {n}")
        if self.rng.random() < 0.5:  # someone queues a message while it waits
            _, queued = self.ask(n * 1000, multitask="enqueue")
            self.pending.append(queued)
        approved = self.rng.random() < 0.5
        self.events += [
            ToolApprovalAnswered(turn_id=tid, call_id=approve.call_id, approval_id=f"ap-{tid}",
                                 approved=approved, answered_by="alice"),
            ToolCallCompleted(turn_id=tid, attempt=1, call_id=client.call_id, name=client.name,
                              outcome="output", output={"colour": "red"}),
            TurnResumed(turn_id=tid, resumed_by="alice"),
        ]
        self.start(tid, attempt=2)
        if approved:
            self.run_tool(tid, approve, attempt=2)
        else:
            self.events.append(ToolCallCompleted(turn_id=tid, attempt=2,
                                                 call_id=approve.call_id, name=approve.name,
                                                 outcome="denied"))
        self.step(tid, 2, [], attempt=2)
        self.messages -= 1  # the same message again
        self.reply(tid, f"went on {n}")
        self.complete(tid, attempt=2)

    def cancelled(self, n: int) -> None:
        _, tid = self.ask(n)
        self.start(tid)
        self.events += [TurnCancelRequested(turn_id=tid, requested_by="alice"),
                        TurnCancelled(turn_id=tid, attempt=1)]

    def failed(self, n: int) -> None:
        _, tid = self.ask(n)
        self.start(tid)
        self.events.append(TurnFailed(turn_id=tid, attempt=1, error="the model call failed"))

    def interrupted_before_start(self, n: int) -> None:
        """A queued turn a later message interrupted before any worker had it."""
        _, first = self.ask(n)
        _, second = self.ask(n * 1000 + 1, multitask="interrupt")
        self.events.append(TurnCancelled(turn_id=first, attempt=0, reason="interrupt"))
        self.start(second)
        self.reply(second, f"after the interrupt {n}")
        self.complete(second)

    def switched(self, n: int) -> None:
        """`robot_switch` mid-turn: the next steps and turns are the other robot's."""
        _, tid = self.ask(n)
        self.start(tid)
        self.robot = ROBOTS[1] if self.robot == ROBOTS[0] else ROBOTS[0]
        self.events.append(RobotSwitched(session_id=SESSION, robot_id=self.robot,
                                         turn_id=tid, switched_by="alice"))
        self.reply(tid, f"switched {n}")
        self.complete(tid)

    def settings(self, n: int) -> None:
        self.events += [
            # A robot's name (as if the session had none), then a person's.
            SessionNamed(session_id=SESSION, name=f"named {n}", robot_id=self.robot,
                         turn_id=f"t{n}", model="local/echo"),
            SessionRenamed(session_id=SESSION, name=f"chat {n}"),
            SessionSettingsChanged(session_id=SESSION, situation=f"situation {n}",
                                   token_budget=self.rng.choice([None, 4000]),
                                   context_overflow=self.rng.choice(["adaptive", None]),
                                   metadata={"n": n}),
        ]
        self.plain(n)

    def summarised(self, n: int) -> None:
        self.plain(n)
        self.events.append(SessionSummarised(
            session_id=SESSION, summary=f"up to {n}", first_message_id="u0",
            last_message_id=f"msg-t{n}", messages=self.messages, model="local/echo"))

    def finish_pending(self) -> None:
        """Turns queued behind a waiting one run once it has ended."""
        for tid in self.pending:
            self.start(tid)
            self.reply(tid, f"queued {tid}")
            self.complete(tid)
        self.pending = []


def long_session(exchanges: int, *, seed: int = 14, deleted: bool = False) -> list[Event]:
    """A session stream of `exchanges` exchanges of every kind (the first few in a fixed
    order, so even a short stream holds each kind), forked from another at its start."""
    writer = _Writer(seed)
    writer.events += [
        SessionStarted(session_id=SESSION, created_by="alice", name="long",
                       metadata={"team": "a"}),
        SessionForked(session_id=SESSION, from_session_id="source", at_message_id="src-1",
                      at_version=7, robot_id=ROBOTS[0]),
        MessagePosted(session_id=SESSION, message_id="src-1", parts=text("copied"),
                      author_id="bob"),
    ]
    kinds: list[Callable[[int], None]] = [
        writer.plain, writer.tools, writer.retried, writer.waits, writer.cancelled,
        writer.failed, writer.interrupted_before_start, writer.switched, writer.settings,
        writer.summarised]
    for n in range(exchanges):
        kind = kinds[n] if n < len(kinds) else writer.rng.choices(
            kinds, weights=[40, 20, 5, 8, 4, 3, 3, 4, 5, 3])[0]
        kind(n)
        writer.finish_pending()
    if deleted:
        writer.events.append(SessionDeleted(session_id=SESSION))
    return writer.events
