"""`robots dev` on a fresh machine: embedded PostgreSQL and Redis, one command."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import httpx

from app.adapters.llm.local_model import default_reply
from app.adapters.logs import EMBEDDED_LOG
from app.cli.embedded import free_port
from bench.harness.processes import env_without_robots_settings
from tests.chat.sse import chat_body, read_all, text_of


async def test_dev_starts_on_embedded_servers_chats_offline_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    port = free_port()
    # No XDG_RUNTIME_DIR, as in a container or CI: the embedded PostgreSQL starts quietly.
    env = env_without_robots_settings()
    env.pop("XDG_RUNTIME_DIR", None)
    env.update({"ROBOTS_DATA_DIR": str(tmp_path / "data"), "PORT": str(port),
                "PYTHONUNBUFFERED": "1"})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli.main", "dev", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output: list[str] = []
    try:
        token = await _token_from_banner(process, output)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=30,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            ready = await client.get("/ready")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {"postgres": "ok", "redis": "ok"}
            # No key anywhere: the built-in robot answers with the local model, offline.
            async with client.stream("POST", "/robots/chat/sse",
                                     json=chat_body("dev-session", "m1", "ping")) as response:
                frames = await read_all(response)
            # The chat started the local model server in this process: the API still logs.
            assert (await client.get("/robots/sessions")).status_code == 200
        assert frames[-1].data == "[DONE]"
        assert text_of(frames) == default_reply("ping")
        assert (tmp_path / "data" / "postgres").is_dir()
        assert (tmp_path / "data" / "dev-admin-token").read_text().strip() == token
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
        rest = await process.stdout.read() if process.stdout else b""  # type: ignore[union-attr]
        output.append(rest.decode(errors="replace"))
    assert process.returncode == 0, "".join(output)[-3000:]
    # Ctrl-C is the normal way out: it must not look like a crash.
    assert "Traceback" not in "".join(output), "".join(output)[-3000:]
    assert '"GET /robots/sessions HTTP/1.1" 200' in "".join(output), "".join(output)[-3000:]
    _assert_quiet_start(output, tmp_path / "data")


def _assert_quiet_start(output: list[str], data: Path) -> None:
    """A short banner: the embedded servers' setup (initdb, pg_ctl) is in their log file."""
    start = "".join(output).split("dev admin token:")[0]
    assert len(start.splitlines()) < 20, start
    # "Shutting down": the local model server that lists its models at start, stopping.
    for chatter in ("initdb", "pg_ctl", "pgserver", "Warning", "Shutting down"):
        assert chatter not in start, start
    assert "initdb" in (data / EMBEDDED_LOG).read_text()


async def _token_from_banner(process: asyncio.subprocess.Process, output: list[str]) -> str:
    assert process.stdout is not None
    deadline = asyncio.get_running_loop().time() + 120
    while asyncio.get_running_loop().time() < deadline:
        line = (await asyncio.wait_for(process.stdout.readline(), 120)).decode()
        output.append(line)
        if match := re.search(r"dev admin token: (\S+)", line):
            return match.group(1)
        if not line and process.returncode is not None:
            break
    raise AssertionError("robots dev printed no token:\n" + "".join(output)[-3000:])
