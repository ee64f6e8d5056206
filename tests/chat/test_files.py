"""Images and PDFs in user messages, through HTTP, the worker and the real SDKs against the
local model server: what is checked when posted, where the bytes live (not in the log), how
a session shows them, and the native form each provider's wire carries."""

from __future__ import annotations

import base64
import hashlib
import struct
import uuid
import zlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.config.settings import Settings
from app.domain.events import MessagePosted, session_stream
from tests.chat.helpers import logged, model_requests, new_id, parts_of, scripted_robot
from tests.chat.sse import Frame, read_all, text_of
from tests.chat.stack import Stack, running_stack
from tests.services import FoundServices

MAX_FILE = 2000
MAX_MESSAGE = 3000


def _png() -> bytes:
    """A real 1x1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00\x00")) + chunk(b"IEND", b""))


PNG = _png()
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
FILES = {"image/png": PNG, "application/pdf": PDF}


def data_url(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def file_part(media_type: str, data: bytes, filename: str | None = None,
              url: str | None = None) -> dict[str, Any]:
    named = {"filename": filename} if filename else {}
    return {"type": "file", "mediaType": media_type, **named,
            "url": url or data_url(media_type, data)}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def body(session: str, *parts: dict[str, Any], message_id: str | None = None,
         **extra: Any) -> dict[str, Any]:
    return {"id": session, "messages": [{"id": message_id or new_id("m"), "role": "user",
                                         "parts": list(parts)}], **extra}


@pytest.fixture(scope="module")
async def stack(services: FoundServices, database: str) -> AsyncIterator[Stack]:
    """Small file limits, and an OpenAI-compatible provider (nothing listens there: a file
    it cannot read must fail the turn before any call)."""
    base = Settings(database_url=database, redis_url=services.redis_url,
                    redis_prefix=f"{services.redis_prefix}-{uuid.uuid4().hex[:6]}",
                    db_pool_min=1, db_pool_max=8, turn_lease_s=1.5, sweep_interval_s=1,
                    sweep_grace_s=1.0)
    async with running_stack(base, max_file_bytes=MAX_FILE, max_message_file_bytes=MAX_MESSAGE,
                             openai_compatible="compat=http://127.0.0.1:9/v1") as running:
        yield running


async def chat(stack: Stack, payload: dict[str, Any]) -> list[Frame]:
    async with stack.client() as client, client.stream(
            "POST", "/robots/chat/sse", json=payload) as response:
        assert response.status_code == 200, await response.aread()
        return await read_all(response)


async def refused(stack: Stack, payload: dict[str, Any], status: int,
                  slug: str) -> dict[str, Any]:
    async with stack.client() as client:
        response = await client.post("/robots/chat/sse", json=payload)
    assert response.status_code == status, response.text
    problem: dict[str, Any] = response.json()
    assert problem["type"] == f"/problems/{slug}", problem
    assert await logged(stack, payload["id"]) == []  # nothing recorded
    return problem


def sent_user_content(stack: Stack, model: str) -> Any:
    """The content of the last user message the model server received for `model`."""
    requests = model_requests(stack, model)
    assert requests, f"the model server received nothing for {model}"
    return [m for m in requests[-1]["messages"] if m["role"] == "user"][-1]["content"]


def native(provider: str, media_type: str, data: bytes, filename: str) -> dict[str, Any]:
    """A file as each provider's wire carries it."""
    encoded = base64.b64encode(data).decode()
    if provider == "openai":
        if media_type == "application/pdf":
            return {"type": "file", "file": {"filename": filename,
                                             "file_data": data_url(media_type, data)}}
        return {"type": "image_url", "image_url": {"url": data_url(media_type, data)}}
    source = {"type": "base64", "media_type": media_type, "data": encoded}
    if media_type == "application/pdf":
        return {"type": "document", "source": source, "title": filename}
    return {"type": "image", "source": source}


def seen(media_type: str, data: bytes) -> str:
    kind = "document" if media_type == "application/pdf" else "image"
    return f"I see 1 {kind} ({media_type}, {len(data)} bytes)."


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("media_type", ["image/png", "application/pdf"])
async def test_a_file_with_text_reaches_the_model_in_its_providers_native_form(
        stack: Stack, provider: str, media_type: str) -> None:
    robot, model = await scripted_robot(stack, provider=provider)
    data = FILES[media_type]
    got = await chat(stack, body(new_id("s"), file_part(media_type, data, "attached.bin"),
                                 text("What is in this file?"), robotId=robot))
    assert text_of(got).startswith(seen(media_type, data) + " Hello! You said: What is in")
    assert sent_user_content(stack, model) == [
        native(provider, media_type, data, "attached.bin"),
        {"type": "text", "text": "What is in this file?"}]


async def test_an_image_alone_is_a_message_kept_out_of_the_log_and_served_by_digest(
        stack: Stack) -> None:
    robot, model = await scripted_robot(stack)
    session = new_id("s")
    got = await chat(stack, body(session, file_part("image/png", PNG), robotId=robot))
    assert text_of(got).startswith(seen("image/png", PNG) + " Hello! You said nothing.")
    assert sent_user_content(stack, model) == [native("openai", "image/png", PNG, "")]

    digest = hashlib.sha256(PNG).hexdigest()
    posted = [e for e in await logged(stack, session) if isinstance(e, MessagePosted)]
    assert posted[0].parts == [{"type": "file", "mediaType": "image/png",
                                "url": f"robots-file:sha256:{digest}"}]
    assert stack.services is not None
    async with stack.services.pool.connection() as conn:
        rows = await (await conn.execute(
            "SELECT data::text FROM events WHERE stream_id = %s",
            [session_stream(session)])).fetchall()
    logged_text = "".join(r[0] for r in rows)
    assert base64.b64encode(PNG).decode() not in logged_text and "base64" not in logged_text

    async with stack.client() as client:
        shown = (await client.get(f"/robots/sessions/{session}")).json()
        question = shown["message_list"]["messages"][0]
        assert question["parts"] == [{"type": "file", "mediaType": "image/png",
                                      "url": f"/robots/files/{digest}"}]
        served = await client.get(question["parts"][0]["url"])
    assert served.status_code == 200
    assert served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert "immutable" in served.headers["cache-control"]


async def test_an_https_image_is_kept_as_its_url_and_sent_by_it(stack: Stack) -> None:
    robot, model = await scripted_robot(stack, provider="anthropic")
    session, url = new_id("s"), "https://images.example.org/cat.png"
    got = await chat(stack, body(session, file_part("image/png", b"", url=url), text("Cat?"),
                                 robotId=robot))
    assert text_of(got).startswith(f"I see 1 image ({url}).")
    assert sent_user_content(stack, model)[0] == {"type": "image",
                                                  "source": {"type": "url", "url": url}}
    posted = [e for e in await logged(stack, session) if isinstance(e, MessagePosted)]
    assert posted[0].parts[0] == {"type": "file", "mediaType": "image/png", "url": url}


async def test_the_same_message_posted_again_attaches_to_its_first_turn(stack: Stack) -> None:
    robot, _ = await scripted_robot(stack)
    payload = body(new_id("s"), file_part("image/png", PNG, "dot.png"), robotId=robot)
    async with stack.client() as client:
        first = (await client.post("/robots/sessions", json=payload)).json()
        again = (await client.post("/robots/sessions", json=payload)).json()
    assert again["turnId"] == first["turnId"]
    events = await logged(stack, payload["id"])
    assert sum(isinstance(e, MessagePosted) for e in events) == 1


async def test_a_file_over_the_file_limit_is_a_413_naming_the_limit(stack: Stack) -> None:
    big = PNG + b"\x00" * MAX_FILE
    problem = await refused(stack, body(new_id("s"), text("look"),
                                        file_part("image/png", big)), 413, "file-too-large")
    assert problem["metadata"] == {"field": "messages[0].parts[1].url",
                                   "size_bytes": len(big), "limit_bytes": MAX_FILE}


async def test_files_over_the_message_limit_together_are_a_413(stack: Stack) -> None:
    each = PNG + b"\x00" * (MAX_MESSAGE // 2 + 10 - len(PNG))
    problem = await refused(stack, body(new_id("s"), file_part("image/png", each),
                                        file_part("image/png", each)), 413, "file-too-large")
    assert problem["metadata"] == {"field": "messages[0].parts",
                                   "size_bytes": 2 * len(each), "limit_bytes": MAX_MESSAGE}


async def test_a_type_no_model_is_sent_is_a_422_naming_it(stack: Stack) -> None:
    svg = b"<svg xmlns='http://www.w3.org/2000/svg'/>"
    problem = await refused(stack, body(new_id("s"), file_part("image/svg+xml", svg)), 422,
                            "unsupported-file-type")
    assert problem["metadata"]["media_type"] == "image/svg+xml"
    assert "image/png" in problem["metadata"]["supported"]
    assert "image/svg+xml" in problem["detail"]


@pytest.mark.parametrize(("part", "says"), [
    (file_part("image/png", PNG, url=data_url("image/jpeg", PNG)),
     "the data URL's type 'image/jpeg' is not the part's mediaType 'image/png'"),
    (file_part("image/png", PDF), "the file's bytes are not image/png"),
    (file_part("image/png", PNG, url="data:image/png;base64,not base64!"), "not valid base64"),
    (file_part("image/png", PNG, url="data:image/png,%89PNG"), "must be base64"),
    (file_part("image/png", PNG, url="http://example.org/cat.png"), "an https: URL"),
])
async def test_a_file_part_that_does_not_say_what_it_is_is_a_400(
        stack: Stack, part: dict[str, Any], says: str) -> None:
    problem = await refused(stack, body(new_id("s"), part), 400, "invalid-request")
    assert says in problem["detail"]
    assert problem["metadata"] == {"field": "messages[0].parts[0].url"}


async def test_a_message_with_neither_text_nor_file_is_a_400(stack: Stack) -> None:
    await refused(stack, body(new_id("s"), text("  ")), 400, "invalid-request")
    await refused(stack, body(new_id("s"), {"type": "data-x", "data": 1}), 400,
                  "invalid-request")


@pytest.mark.parametrize(("provider", "part", "says"), [
    ("compat", file_part("application/pdf", PDF),
     "cannot read application/pdf files: an OpenAI-compatible server takes images only"),
    ("openai", file_part("application/pdf", b"", url="https://example.org/a.pdf"),
     "cannot read application/pdf files sent by URL"),
])
async def test_a_file_the_models_provider_cannot_read_fails_the_turn_before_any_call(
        stack: Stack, provider: str, part: dict[str, Any], says: str) -> None:
    robot, model = await scripted_robot(stack, provider=provider)
    got = await chat(stack, body(new_id("s"), part, text("Read this"), robotId=robot))
    errors = parts_of(got, "error")
    assert len(errors) == 1
    assert says in errors[0]["errorText"] and f"{provider}/{model}" in errors[0]["errorText"]
    assert model_requests(stack, model) == []


async def test_an_unknown_file_is_a_404(stack: Stack) -> None:
    async with stack.client() as client:
        missing = await client.get(f"/robots/files/{'0' * 64}")
        malformed = await client.get("/robots/files/not-a-digest")
    assert missing.status_code == malformed.status_code == 404
    assert missing.json()["type"] == "/problems/not-found"
