"""`dev.json`: how commands started beside `robots dev` find its servers."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import msgspec

from app.cli.dev_file import DevServers, dev_file, joined, publish, running_dev, withdraw
from app.config.settings import Settings

DEV = DevServers(pid=os.getpid(), database_url="postgresql://dev/db",
                 redis_url="redis://127.0.0.1:7000/0", redis_prefix="devprefix",
                 api_url="http://127.0.0.1:8000")


def a_dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_published_dev_is_found_while_its_process_runs(tmp_path: Path) -> None:
    publish(tmp_path, DEV)
    assert running_dev(tmp_path) == DEV
    # Its URLs reach servers that trust every local connection: the owner's eyes only.
    assert stat.S_IMODE(dev_file(tmp_path).stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["dev.json"]  # no partial file left


def test_a_file_left_by_a_process_that_is_gone_names_no_running_dev(tmp_path: Path) -> None:
    publish(tmp_path, msgspec.structs.replace(DEV, pid=a_dead_pid()))
    assert running_dev(tmp_path) is None


def test_no_file_or_an_unreadable_one_names_no_running_dev(tmp_path: Path) -> None:
    assert running_dev(tmp_path) is None
    dev_file(tmp_path).write_text("{not json")
    assert running_dev(tmp_path) is None


def test_only_the_dev_that_wrote_the_file_removes_it(tmp_path: Path) -> None:
    publish(tmp_path, DEV)
    withdraw(tmp_path, DEV.pid + 1)
    assert running_dev(tmp_path) == DEV
    withdraw(tmp_path, DEV.pid)
    assert not dev_file(tmp_path).exists()
    withdraw(tmp_path, DEV.pid)  # gone already: nothing to do


def test_joining_fills_the_urls_not_given_and_a_given_url_wins() -> None:
    nothing = joined(Settings(), DEV)
    assert (nothing.database_url, nothing.redis_url, nothing.redis_prefix) == (
        DEV.database_url, DEV.redis_url, DEV.redis_prefix)
    own_database = joined(Settings(database_url="postgresql://mine/db"), DEV)
    assert (own_database.database_url, own_database.redis_url) == (
        "postgresql://mine/db", DEV.redis_url)
    # Dev's prefix comes with dev's Redis only: a Redis of one's own keeps one's prefix.
    own_redis = joined(Settings(redis_url="redis://mine:6379/0", redis_prefix="mine"), DEV)
    assert (own_redis.database_url, own_redis.redis_url, own_redis.redis_prefix) == (
        DEV.database_url, "redis://mine:6379/0", "mine")
