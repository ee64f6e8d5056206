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
# A part the buffer already holds (a try whose reply was lost) is skipped, not written twice.
# A turn whose buffer ends before the parts sent (Redis restarted and lost it) gets nothing
# written: a stream's ids only grow, so the missing parts must go first. Returns, per such
# turn, its place among the turns sent and the buffer's last sequence number.
_PUBLISH = """
local a, holes = 1, {}
for k = 1, #KEYS, 2 do
    local seq, n = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
    local newest = redis.call('XREVRANGE', KEYS[k], '+', '-', 'COUNT', 1)[1]
    local top = newest and tonumber(string.match(newest[1], '%-(%d+)$')) or 0
    if top < seq - 1 then
        holes[#holes + 1] = (k - 1) / 2
        holes[#holes + 1] = top
    else
        for i = a + 4, a + 3 + n do
            if seq > top then
                redis.call('XADD', KEYS[k], 'MAXLEN', '~', ARGV[a + 3], '0-' .. seq,
                           'p', ARGV[i])
                redis.call('PUBLISH', KEYS[k + 1], seq .. ' ' .. ARGV[i])
            end
            seq = seq + 1
        end
        redis.call('EXPIRE', KEYS[k], ARGV[a + 2])
    end
    a = a + 4 + n
end
return holes
"""
# Stands in for a part Redis lost that no one can send again (an earlier attempt's): the
# relay passes over it, so the numbering stays whole.
LOST_PART = b'{"type":"x-robots-lost"}'

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
        # What this publisher sent, from sequence number `kept_from` on: to send again if
        # Redis loses the buffer while the turn runs.
        self.kept: list[bytes] = []
        self.kept_from = 1

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

    def keep(self, first: int, payloads: list[bytes]) -> None:
        if not self.kept:
            self.kept_from = first
        self.kept.extend(payloads)

    def refill(self, top: int, first: int) -> list[bytes]:
        """Parts `top` + 1 up to `first` - 1 again, after Redis lost them: the ones this
        publisher sent, stand-ins for older ones."""
        return [self.kept[i] if 0 <= (i := seq - self.kept_from) < len(self.kept)
                else LOST_PART for seq in range(top + 1, first)]

    def script_args(self, first: int, payloads: list[bytes]) -> list[Any]:
        """This turn's share of the publish script's ARGV (see _PUBLISH)."""
        return [first, len(payloads), self.ttl_s, self.max_parts, *payloads]

    async def publish(self, *parts: dict[str, Any]) -> int:
        """Publish parts in order, now; returns the sequence number of the last one."""
        if not parts:
            return self.last_seq
        first = self.reserve(len(parts))
        payloads = [self.encode(p) for p in parts]
        self.keep(first, payloads)
        while holes := await self._script(keys=self.keys,
                                          args=self.script_args(first, payloads)):
            top = int(holes[1])  # Redis lost the buffer: what it had goes first
            payloads, first = self.refill(top, first) + payloads, top + 1
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
