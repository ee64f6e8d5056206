"""A retried attempt on a turn's stream: what the new attempt publishes, and what each
client is shown of the output the dead attempt left behind.

A retried attempt asks the model again for the step the dead one had not recorded, and the
stream may already carry that step's partial output (text, reasoning, tool calls). The new
attempt first publishes a `data-turn-retry` part naming those parts (`dropped`: every part
after that step's `start-step`, which stays); the relay makes of it what the client can
take (`RetryView`):

- a client that holds none of them gets `data-turn-retry` (transient: not a message part).
  A client that resumes from before them once the marker is out never gets them at all:
  a resume from the start assembles exactly the stored message;
- a client that holds some and takes the AI SDK 7's `reset-step` (it says so with the
  `x-robots-stream-features: reset-step` request header) gets `reset-step`, which drops
  the step's parts but its step-start, then `data-turn-retry`;
- any other client gets an `error` part and its stream ends. The AI SDK 6 has nothing that
  drops a part (it fails the whole stream on a chunk type it does not know, `reset-step`
  included), so it must start over: a resume from the start gives it the whole message, and
  the error's event id points there (`<turn>:0`).

The marker is a transient data part, so a relay that does not know it (an older one,
mid-upgrade) passes on something every client accepts.

The step a stream's `start-step` opens rides along in it (`step`, a field the AI SDK
ignores), so a retry knows whether the stream's last step is one the log recorded.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec
import redis.asyncio as aioredis

from app.adapters.streams.keys import dropped_key
from app.adapters.streams.sse import frame

RETRY_TYPE = "data-turn-retry"
FEATURES_HEADER = "x-robots-stream-features"
RESET_STEP = "reset-step"
RETRY_ERROR = ("The reply was interrupted and is being retried from its last finished step."
               " Resume the stream from its start to see it whole.")

_RETRY_PREFIX = b'{"type":"' + RETRY_TYPE.encode() + b'"'
_START_STEP_PREFIX = b'{"type":"start-step"'
_encoder = msgspec.json.Encoder()


class StepMark(NamedTuple):
    """A `start-step` in a turn's buffer: its sequence number and the step it opened."""

    seq: int
    step: int


class Dropped(NamedTuple):
    """The parts `after` < seq <= `through`: a dead attempt's output of a step no attempt
    recorded. `after` is the step's `start-step`, which stays."""

    after: int
    through: int


class RetryPlan(NamedTuple):
    open_step: int | None  # the step whose start-step the stream already carries
    dropped: Dropped | None  # what the dead attempts said of it


def plan_retry(last_start: StepMark | None, recorded_steps: int, last_seq: int) -> RetryPlan:
    """What a retried attempt does about the stream so far, given its last `start-step`,
    the number of steps the log recorded, and its last part: a stream whose last step was
    recorded stands as it is (the retry only adds to it; a tool output sent again replaces
    the first by its call id); one whose last step was not recorded drops what came after
    that step's `start-step`, and the retry goes on under that `start-step`."""
    if last_start is None or last_start.step <= recorded_steps:
        return RetryPlan(None, None)
    dropped = Dropped(last_start.seq, last_seq) if last_seq > last_start.seq else None
    return RetryPlan(last_start.step, dropped)


def start_step(step: int) -> dict[str, Any]:
    return {"type": "start-step", "step": step}


def retry_marker(attempt: int, dropped: Dropped | None) -> dict[str, Any]:
    data: dict[str, Any] = {"attempt": attempt}
    if dropped is not None:
        data["dropped"] = list(dropped)
    return {"type": RETRY_TYPE, "transient": True, "data": data}


def takes_reset_step(features: str | None) -> bool:
    """Whether the client's `x-robots-stream-features` header (comma-separated) names
    `reset-step`."""
    return features is not None and RESET_STEP in {
        token.strip().lower() for token in features.split(",")}


class RetryView:
    """What one client is shown of a turn's parts. Pure: the relay passes it every part
    (but the end marker) in order and sends the frames it returns; `ended` says the stream
    must end there."""

    def __init__(self, turn_id: str, *, resets: bool, held: int = 0,
                 dropped: list[Dropped] | None = None) -> None:
        self.turn_id = turn_id
        self.resets = resets
        self.held = held  # the client's last part: where it resumed, then each one sent
        self.dropped = dropped or []  # known before the marker: never sent
        self.ended = False

    def show(self, seq: int, payload: bytes) -> list[bytes]:
        if self.dropped and any(d.after < seq <= d.through for d in self.dropped):
            return []
        if payload.startswith(_RETRY_PREFIX):
            return self._retry(seq, msgspec.json.decode(payload).get("data") or {})
        self.held = seq
        return [frame(self.turn_id, seq, payload)]

    def _retry(self, seq: int, marker: dict[str, Any]) -> list[bytes]:
        notice = frame(self.turn_id, seq, {"type": RETRY_TYPE, "transient": True,
                                            "data": {"attempt": marker.get("attempt")}})
        dropped = Dropped(*marker["dropped"]) if marker.get("dropped") else None
        if dropped is None or self.held <= dropped.after:
            return [notice]
        if self.resets:
            # Without an id: a client cut off right after it resumes before the marker,
            # and is told to reset again (which then drops nothing).
            self.held = dropped.after
            return [b"data: " + _encoder.encode({"type": RESET_STEP}) + b"\n\n", notice]
        self.ended = True
        return [frame(self.turn_id, 0, {"type": "error", "errorText": RETRY_ERROR})]


async def last_step_started(redis: aioredis.Redis, buffer: str, *,
                            batch: int = 500) -> StepMark | None:
    """The buffer's last `start-step`, read from the end; None if there is none, or if it
    does not say its step."""
    top = "+"
    while True:
        entries = await redis.xrevrange(buffer, max=top, count=batch)
        for entry_id, fields in entries:
            payload = fields[b"p"]
            if payload.startswith(_START_STEP_PREFIX):
                step = msgspec.json.decode(payload).get("step")
                seq = int(entry_id.split(b"-")[1])
                return StepMark(seq, step) if isinstance(step, int) else None
        if len(entries) < batch:
            return None
        oldest = int(entries[-1][0].split(b"-")[1])
        if oldest <= 1:
            return None
        top = f"0-{oldest - 1}"


async def record_dropped(redis: aioredis.Redis, prefix: str, turn_id: str,
                         dropped: Dropped, ttl_s: int) -> None:
    """Remember the range before the marker goes out, so a relay that starts reading the
    buffer later leaves it out (a relay that read it first sees the marker and resets)."""
    key = dropped_key(prefix, turn_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.rpush(key, f"{dropped.after} {dropped.through}")
        pipe.expire(key, ttl_s)
        await pipe.execute()


async def dropped_parts(redis: aioredis.Redis, prefix: str, turn_id: str) -> list[Dropped]:
    ranges = await redis.lrange(dropped_key(prefix, turn_id), 0, -1)  # type: ignore[misc]
    return [Dropped(*map(int, r.split())) for r in ranges]
