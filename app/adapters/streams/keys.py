"""Redis names for a turn's stream, all under the deployment's prefix."""

from __future__ import annotations


def buffer_key(prefix: str, turn_id: str) -> str:
    """A Redis stream holding the turn's parts, entry id `0-<seq>`: the replay buffer."""
    return f"{prefix}:turn:{turn_id}:parts"


def dropped_key(prefix: str, turn_id: str) -> str:
    """A list of "<after> <through>" ranges of the buffer a retry abandoned (streams.retries)."""
    return f"{prefix}:turn:{turn_id}:dropped"


def channel(prefix: str, turn_id: str) -> str:
    """Pub/sub channel for the live tail; messages are `<seq> <part json>`."""
    return f"{prefix}:turn:{turn_id}:live"


def cancels_channel(prefix: str) -> str:
    """Every worker listens here for turn ids to stop (cancels are rare: one channel)."""
    return f"{prefix}:cancels"


def arq_queue(prefix: str) -> str:
    return f"{prefix}:arq:queue"
