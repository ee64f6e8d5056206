"""Publish a turn's UI stream parts: into the replay buffer and onto the live channel."""

from __future__ import annotations

from typing import Any

import msgspec
import redis.asyncio as aioredis

from app.streams.keys import buffer_key, channel
from app.streams.sse import DONE_TYPE

# One round trip per batch of parts, and buffer and channel can never disagree: a part is
# in the buffer before anyone can hear of it.
_PUBLISH = """
local seq = tonumber(ARGV[1])
for i = 4, #ARGV do
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '0-' .. seq, 'p', ARGV[i])
    redis.call('PUBLISH', KEYS[2], seq .. ' ' .. ARGV[i])
    seq = seq + 1
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return seq - 1
"""

_encoder = msgspec.json.Encoder()


class TurnPublisher:
    """Numbers a turn's parts 1, 2, 3... across attempts (a retry continues the count)."""

    def __init__(self, redis: aioredis.Redis, prefix: str, turn_id: str, *,
                 ttl_s: int = 3600, max_parts: int = 100_000) -> None:
        self.redis = redis
        self.keys = [buffer_key(prefix, turn_id), channel(prefix, turn_id)]
        self.ttl_s = ttl_s
        self.max_parts = max_parts
        self.last_seq = 0
        self._script: Any = redis.register_script(_PUBLISH)

    async def resume_numbering(self) -> int:
        """Continue after the last part an earlier attempt published, if any."""
        last = await self.redis.xrevrange(self.keys[0], count=1)
        self.last_seq = int(last[0][0].split(b"-")[1]) if last else 0
        return self.last_seq

    async def publish(self, *parts: dict[str, Any]) -> int:
        """Publish parts in order; returns the sequence number of the last one."""
        if not parts:
            return self.last_seq
        payloads = [_encoder.encode(p) for p in parts]
        self.last_seq = int(await self._script(
            keys=self.keys,
            args=[self.last_seq + 1, self.ttl_s, self.max_parts, *payloads],
        ))
        return self.last_seq


async def publish_terminal(publisher: TurnPublisher, parts: list[dict[str, Any]],
                           checkpoint: tuple[int, int] | None) -> None:
    """The turn's last parts and the end marker. Call only after the terminal event has
    committed: the relay waits for projections to pass `checkpoint` before `[DONE]`, so a
    client that saw the end can read the new message back."""
    if not publisher.last_seq:
        await publisher.resume_numbering()
    done = {"type": DONE_TYPE, "checkpoint": list(checkpoint) if checkpoint else None}
    await publisher.publish(*parts, done)
