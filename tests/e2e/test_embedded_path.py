"""The test run on a machine with no PostgreSQL and no Redis (and no XDG_RUNTIME_DIR, as in a
container): tests/services.py starts the embedded servers, and a chat runs on them."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from app.cli.embedded import free_port
from app.config.settings import environment_variables

ROOT = Path(__file__).resolve().parents[2]
# One small chat test: API, worker, projector and the local model over the real SDK.
CHAT_TEST = ("tests/chat/test_chat_turn.py::"
             "test_a_full_turn_streams_the_models_text_and_lands_in_the_log_and_read_models")
# The chat test needs none of these; loading them is half of the run's start-up (~4 s).
UNUSED_PLUGINS = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:schemathesis",
                  "-p", "no:faker", "-p", "no:anyio")
# Whatever points a run at servers, or forces the embedded ones, is left out: the run
# must find, by itself, that nothing answers.
DISCOVERY = ("TEST_DATABASE_URL", "TEST_REDIS_URL", "ROBOTS_TEST_EMBEDDED", "XDG_RUNTIME_DIR",
             *environment_variables().values())


async def test_a_chat_runs_on_embedded_servers_when_no_postgres_or_redis_answers(
    tmp_path: Path,
) -> None:
    closed = free_port()  # nothing listens there
    env = {k: v for k, v in os.environ.items() if k not in DISCOVERY}
    env.update({
        "ROBOTS_TEST_LOCAL_POSTGRES": f"postgresql://postgres@127.0.0.1:{closed}/postgres",
        "ROBOTS_TEST_LOCAL_REDIS": f"redis://127.0.0.1:{closed}/0",
        # The embedded servers' folders (and pgserver's runtime folder) stay in tmp_path.
        "TMPDIR": str(tmp_path),
    })
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pytest", CHAT_TEST, "-q", *UNUSED_PLUGINS, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(process.communicate(), 180)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = out.decode(errors="replace")
    assert process.returncode == 0 and "1 passed" in text, text[-5000:]
    # It ran on servers of its own: the embedded PostgreSQL's data folder is there.
    assert _embedded_postgres_in(tmp_path), text[-5000:]


def _embedded_postgres_in(folder: Path) -> list[Path]:
    return list(folder.glob("robots-test-*/pg/PG_VERSION"))
