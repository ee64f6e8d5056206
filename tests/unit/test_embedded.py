"""The embedded Redis that `robots dev` starts when no REDIS_URL is given."""

from __future__ import annotations

from pathlib import Path

import redis

from app.cli.embedded import EmbeddedRedis


def test_embedded_redis_stops_cleanly_and_keeps_its_data(tmp_path: Path) -> None:
    first = EmbeddedRedis(tmp_path)
    with redis.Redis.from_url(first.url) as client:
        client.set("kept", "yes")
    first.stop()  # raised on the bundled Redis 6.2 while it was asked to SHUTDOWN NOW
    again = EmbeddedRedis(tmp_path)
    try:
        with redis.Redis.from_url(again.url) as client:
            assert client.get("kept") == b"yes"
    finally:
        again.stop()
