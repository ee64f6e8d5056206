"""Publish a turn's UI stream parts: into the replay buffer and onto the live channel."""

from __future__ import annotations

from typing import Any

import msgspec
import redis.asyncio as aioredis

from app.adapters.streams.keys import buffer_key, channel
from app.adapters.streams.sse import DONE_TYPE

# One round trip for any number of parts of any number of turns, and buffer and channel
# never disagree: a part is in the buffer before anyone can hear of it.
# KEYS: each turn's buffer and channel. ARGV, per turn: first sequence number, number of
# parts, buffer TTL, buffer length, then the parts.
_PUBLISH = """
local a = 1
for k = 1, #KEYS, 2 do
    local seq, n = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
    for i = a + 4, a + 3 + n do
        redis.call('XADD', KEYS[k], 'MAXLEN', '~', ARGV[a + 3], '0-' .. seq, 'p', ARGV[i])
        redis.call('PUBLISH', KEYS[k + 1], seq .. ' ' .. ARGV[i])
        seq = seq + 1
    end
    redis.call('EXPIRE', KEYS[k], ARGV[a + 2])
    a = a + 4 + n
end
return a
"""

_encoder = msgspec.json.Encoder()


def publish_script(redis: aioredis.Redis) -> Any:
    return redis.register_script(_PUBLISH)


class TurnPublisher:
    """Numbers a turn's parts 1, 2, 3... across attempts (a retry continues the count).

    Only the attempt holding the turn's lease publishes, so numbering here is safe.
    """

    def __init__(self, redis: aioredis.Redis, prefix: str, turn_id: str, *,
                 ttl_s: int = 3600, max_parts: int = 100_000) -> None:
        self.redis = redis
        self.keys = [buffer_key(prefix, turn_id), channel(prefix, turn_id)]
        self.ttl_s = ttl_s
        self.max_parts = max_parts
        self.last_seq = 0
        self._script: Any = publish_script(redis)

    async def resume_numbering(self) -> int:
        """Continue after the last part an earlier attempt published, if any."""
        last = await self.redis.xrevrange(self.keys[0], count=1)
        self.last_seq = int(last[0][0].split(b"-")[1]) if last else 0
        return self.last_seq

    def reserve(self, count: int) -> int:
        """Number `count` parts; the first one's number."""
        first = self.last_seq + 1
        self.last_seq += count
        return first

    @staticmethod
    def encode(part: dict[str, Any]) -> bytes:
        return _encoder.encode(part)

    def script_args(self, first: int, payloads: list[bytes]) -> list[Any]:
        """This turn's share of the publish script's ARGV (see _PUBLISH)."""
        return [first, len(payloads), self.ttl_s, self.max_parts, *payloads]

    async def publish(self, *parts: dict[str, Any]) -> int:
        """Publish parts in order, now; returns the sequence number of the last one."""
        if not parts:
            return self.last_seq
        first = self.reserve(len(parts))
        await self._script(keys=self.keys,
                           args=self.script_args(first, [self.encode(p) for p in parts]))
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
